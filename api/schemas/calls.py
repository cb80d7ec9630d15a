"""Schemas of call records and their steps."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel


class CallOutcome(StrEnum):
    """Outcome filter: how a call ended (`open` = still in progress)."""

    COMPLETED = "completed"
    ABANDONED = "abandoned"
    TRANSFERRED = "transferred"
    ERROR = "error"
    OPEN = "open"


class CallStepPublic(BaseModel):
    seq: int
    kind: str
    at: datetime
    node: str
    prompt: str
    digits: str
    transcript: str
    confidence: float | None
    intent: str
    detail: dict[str, Any]


class CallPublic(BaseModel):
    uniqueid: str
    linkedid: str
    caller: str  # masked unless the reader may see it (and it was audited)
    caller_masked: bool
    dialed: str
    started_at: datetime
    answered_at: datetime | None
    ended_at: datetime | None
    outcome: str | None
    cause: str
    last_node: str
    intent: str
    step_count: int


class CallsPublic(BaseModel):
    data: list[CallPublic]
    count: int


class CallDetail(CallPublic):
    steps: list[CallStepPublic]
    recordings: list[str]
