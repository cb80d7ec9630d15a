"""Ports of the services a call asks for: the dossier directory, the case desk, speech synthesis.

The runner depends on these Protocols only; `hotline.wiring` adapts `cases.services`,
`cases.dossiers` and `speech.tts.PromptBuilder` to them. Implementations are synchronous
(database, synthesis): the runner calls them in a worker thread, never on the event loop.
A not-found or malformed code is an answer (`LookupStatus`), not an exception; any exception
means the service is out of order and the caller hears an apology.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Protocol


class LookupStatus(StrEnum):
    FOUND = "found"
    NOT_FOUND = "not_found"
    INVALID = "invalid"


@dataclass(frozen=True, slots=True)
class DossierAnswer:
    """A public-service dossier (hồ sơ dịch vụ công) as read to the caller."""

    status: LookupStatus
    code: str = ""
    procedure: str = ""  # the administrative procedure's name
    status_text: str = ""  # Vietnamese, e.g. "đang giải quyết"
    step: str = ""  # current step / office
    due: date | None = None  # appointment date (ngày hẹn trả kết quả)
    overdue: bool = False
    needs_papers: bool = False  # waiting for additional papers (chờ bổ sung)


@dataclass(frozen=True, slots=True)
class CaseAnswer:
    """A complaint's state as read to the caller."""

    status: LookupStatus
    reference: str = ""
    category: str = ""  # Vietnamese label
    status_text: str = ""
    updated: date | None = None
    resolution: str = ""


@dataclass(frozen=True, slots=True)
class Complaint:
    """A complaint filed by phone: category code, the caller's recorded description; by voice
    also the confirmed place and the description's transcript."""

    category: str
    recording: str  # a recording name (recordings_dir/<name>.wav) or a host path of a WAV
    caller: str
    call_uniqueid: str
    place: str = ""  # ward/commune name as confirmed by the caller
    transcript: str = ""  # what the recogniser heard of the description


@dataclass(frozen=True, slots=True)
class CallbackRequest:
    """A caller who could not reach an agent asks to be called back."""

    caller: str
    call_uniqueid: str


class DossierDirectory(Protocol):
    def lookup(self, code: str) -> DossierAnswer: ...


class CaseDesk(Protocol):
    def file_complaint(self, complaint: Complaint) -> str:
        """Create the case; return its reference number."""
        ...

    def complaint_status(self, reference: str) -> CaseAnswer: ...

    def request_callback(self, request: CallbackRequest) -> str:
        """Record a call-back request for the agents; return its reference number."""
        ...


class Synthesizer(Protocol):
    """Dynamic text -> a WAV under the prompts dir (`speech.tts.PromptBuilder` fits)."""

    def ensure(self, text: str) -> Path: ...
