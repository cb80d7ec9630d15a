"""Shared schema pieces: the strict input base, paging, and error bodies."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query
from pydantic import BaseModel, ConfigDict

MAX_LIMIT = 500
MAX_OFFSET = 1_000_000


class StrictInput(BaseModel):
    """Base of every request body: unknown fields are an error."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Problem(BaseModel):
    """Error body of every 4xx/5xx under /api/v1."""

    detail: str
    error: str


Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="page size (1..500)")]
Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET, description="rows to skip (0..1,000,000)")]
RevealCaller = Annotated[
    bool,
    Query(
        description="supervisors only: return full caller numbers (each read is audited); "
        "otherwise numbers are masked like 0912***678"
    ),
]

ERROR_RESPONSES: dict[int | str, dict[str, object]] = {
    401: {"model": Problem, "description": "missing, invalid or expired token"},
    403: {"model": Problem, "description": "the user's role may not do this"},
    422: {"model": Problem, "description": "invalid request (says what and where)"},
}
