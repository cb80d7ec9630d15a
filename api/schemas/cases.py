"""Schemas of cases: create, status change, assignment, notes, and what is shown."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field, model_validator

from api.schemas.common import StrictInput
from cases.domain import CaseStatus, Category, Channel


class CaseCreate(StrictInput):
    """A new case. Give the place as `ward_code` (vietnam-provinces code) or `place_text`."""

    category: Category
    description: str = Field(default="", max_length=20_000)
    channel: Channel = Channel.AGENT
    caller: str = Field(default="", max_length=32, pattern=r"^\+?[0-9]*$")
    ward_code: int | None = Field(default=None, ge=1, le=10**7)
    place_text: str = Field(default="", max_length=200)
    address: str = Field(default="", max_length=300)
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)
    transcript: str = Field(default="", max_length=20_000)
    call_uniqueid: str | None = Field(default=None, max_length=64)
    handled_by: str | None = Field(
        default=None, max_length=64, description="supervisors only; agents handle what they open"
    )


class CaseUpdate(StrictInput):
    """Edit a case's details; only the fields given change (at least one). The place is a
    `ward_code` or a `place_text`, not both."""

    description: str | None = Field(default=None, max_length=20_000)
    address: str | None = Field(default=None, max_length=300)
    ward_code: int | None = Field(default=None, ge=1, le=10**7)
    place_text: str | None = Field(default=None, min_length=1, max_length=200)
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)

    @model_validator(mode="after")
    def _something_to_change(self) -> CaseUpdate:
        if not self.model_fields_set:
            raise ValueError("nothing to change: give at least one field")
        if self.ward_code is not None and self.place_text is not None:
            raise ValueError("give ward_code or place_text, not both")
        return self


class CaseStatusChange(StrictInput):
    """Move a case along its workflow. `classified` may carry a new `category`;
    `duplicate` needs `duplicate_of` (the original's reference); rejected/duplicate need a
    `reason`. Use the assign endpoint to move to `assigned`."""

    status: CaseStatus
    reason: str = Field(default="", max_length=2000)
    category: Category | None = None
    duplicate_of: str | None = Field(default=None, max_length=20)

    @model_validator(mode="after")
    def _category_only_when_classifying(self) -> CaseStatusChange:
        if self.category is not None and self.status is not CaseStatus.CLASSIFIED:
            raise ValueError("category can only be given when moving to classified")
        return self


class CaseAssign(StrictInput):
    unit: str = Field(min_length=1, max_length=120)
    reason: str = Field(default="", max_length=2000)
    handled_by: str | None = Field(
        default=None, max_length=64, description="supervisors only: the agent who handles it"
    )


class NoteCreate(StrictInput):
    text: str = Field(min_length=1, max_length=20_000)


class NotePublic(BaseModel):
    id: int
    at: datetime
    author: str
    text: str


class CaseEventPublic(BaseModel):
    at: datetime
    actor: str
    from_status: CaseStatus | None
    to_status: CaseStatus
    reason: str
    assigned_unit: str | None


class CasePublic(BaseModel):
    reference: str
    category: Category
    status: CaseStatus
    channel: Channel
    province_code: int
    ward_code: int | None
    place: str
    address: str
    latitude: float | None
    longitude: float | None
    description: str
    caller: str
    caller_masked: bool
    call_uniqueid: str | None
    has_recording: bool
    created_at: datetime
    updated_at: datetime
    due_at: datetime
    overdue: bool
    created_by: str
    handled_by: str | None
    assigned_unit: str | None
    version: int


class CasesPublic(BaseModel):
    data: list[CasePublic]
    count: int


class CaseDetail(CasePublic):
    transcript: str
    duplicate_of: str | None
    history: list[CaseEventPublic]
    notes: list[NotePublic]
