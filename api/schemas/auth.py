"""Schemas of authentication and users."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from api.schemas.common import StrictInput
from cases.domain import Role


class TokenRequest(StrictInput):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=1024)


class TokenPublic(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_at: datetime
    role: Role


class UserCreate(StrictInput):
    username: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.@-]+$")
    password: str = Field(min_length=10, max_length=1024)
    role: Role
    display_name: str = Field(default="", max_length=120)
    unit: str | None = Field(default=None, max_length=120)


class UserPublic(BaseModel):
    id: int
    username: str
    display_name: str
    role: Role
    unit: str | None
    active: bool
