"""Ports: what the call path needs from the outside world, as Protocols.

The controller depends on these, never on `cases/` or `speech/` directly; `hotline.wiring`
plugs the real implementations in (cases.calls.SqlCallRecorder, speech services...).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Protocol


class Outcome(StrEnum):
    """How a call ended, as stored on its record."""

    COMPLETED = "completed"
    ABANDONED = "abandoned"
    TRANSFERRED = "transferred"
    ERROR = "error"


class StepKind(StrEnum):
    """What happened in one step of a call."""

    NODE = "node"  # entered a menu node
    PROMPT = "prompt"  # played a prompt
    DIGITS = "digits"  # the caller pressed keys
    SPEECH = "speech"  # the caller spoke (transcript, confidence, intent)
    NO_INPUT = "no_input"
    NO_MATCH = "no_match"
    TRANSFER = "transfer"
    RECORDING = "recording"
    CASE = "case"  # a case was created / looked up
    LOOKUP = "lookup"  # a dossier was looked up
    ERROR = "error"
    NOTE = "note"


@dataclass(frozen=True, slots=True)
class CallStarted:
    uniqueid: str
    linkedid: str
    channel: str
    caller: str  # full number: personal data, masked in logs
    dialed: str
    started_at: datetime
    answered_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class CallStep:
    kind: StepKind
    at: datetime
    node: str = ""
    prompt: str = ""
    digits: str = ""
    transcript: str = ""
    confidence: float | None = None
    intent: str = ""
    detail: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class CallEnded:
    outcome: Outcome
    ended_at: datetime
    cause: str = ""  # Asterisk hang-up cause (code and text), or why we ended it


class CallRecorder(Protocol):
    """Writes call records. Implementations are synchronous; the controller calls them off the
    event loop (one writer thread), never from a coroutine directly."""

    def call_started(self, call: CallStarted) -> None: ...

    def step(self, uniqueid: str, step: CallStep) -> None: ...

    def call_ended(self, uniqueid: str, ended: CallEnded) -> None: ...

    def close_orphans(self, now: datetime, keep: frozenset[str] = frozenset()) -> int:
        """Close every open record not in `keep` (calls no longer alive); return how many."""
        ...
