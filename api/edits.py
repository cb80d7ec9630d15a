"""Editing a case's details (description, place, coordinates): the one write the API needs
that `cases.services` does not offer, built on the same rules — the change bumps the case's
version, is recorded in its history (who, when, which fields) and queued in the outbox in
the same transaction. A case in a final status (closed, rejected, duplicate) is not edited.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from cases.domain import FINAL_STATUSES
from cases.errors import ValidationError, WorkflowError
from cases.models import Case, CaseEvent
from cases.outbox import TOPIC_CASE, emit
from cases.places import PlaceDirectory
from cases.services import case_snapshot


@dataclass(frozen=True, slots=True)
class CaseChanges:
    """Only the fields given (not None) change."""

    description: str | None = None
    address: str | None = None
    ward_code: int | None = None
    place_text: str | None = None
    latitude: float | None = None
    longitude: float | None = None


def _text(value: str, name: str) -> str:
    value = unicodedata.normalize("NFC", value).strip()
    if "\x00" in value:
        raise ValidationError(f"{name} contains a NUL character")
    return value


def update_case(
    session: Session,
    case: Case,
    changes: CaseChanges,
    *,
    actor: str,
    now: datetime,
    places: PlaceDirectory,
) -> list[str]:
    """Apply `changes`; return the names of the fields that actually changed."""
    if case.status in FINAL_STATUSES:
        raise WorkflowError(f"Case {case.reference} is {case.status}: its details are final")
    changed: list[str] = []

    def put(field: str, value: object) -> None:
        if getattr(case, field) != value:
            setattr(case, field, value)
            changed.append(field)

    if changes.description is not None:
        description = _text(changes.description, "Description")
        if not description and not case.transcript and not case.audio_ref:
            raise ValidationError(f"Case {case.reference}: the description cannot be emptied")
        put("description", description)
    if changes.address is not None:
        put("address", _text(changes.address, "Address"))
    if changes.ward_code is not None or changes.place_text:
        place = (
            places.by_code(changes.ward_code)
            if changes.ward_code is not None
            else places.resolve(changes.place_text or "")
        )
        put("ward_code", place.ward_code)
        put("place", place.label)
    if changes.latitude is not None:
        put("latitude", changes.latitude)
    if changes.longitude is not None:
        put("longitude", changes.longitude)
    if not changed:
        return changed
    case.history.append(
        CaseEvent(
            at=now,
            actor=actor,
            from_status=case.status,
            to_status=case.status,
            reason="edited: " + ", ".join(changed),
        )
    )
    case.version += 1
    case.updated_at = now
    session.flush()
    emit(session, TOPIC_CASE, case.reference, case.version, case_snapshot(case), now)
    return changed
