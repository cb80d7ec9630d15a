"""The audit log: who read or changed what, and when.

Every read of a recording or of a full caller number is recorded here (issue 3, item 5), in
the same transaction as the read's own session, by the API through `record`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from cases.models import AuditEntry

READ_CALLER_NUMBER = "read_caller_number"
READ_RECORDING = "read_recording"
CHANGE_CASE = "change_case"
LOGIN = "login"


def record(
    session: Session,
    *,
    actor: str,
    action: str,
    target_type: str,
    target_id: str,
    now: datetime,
    detail: Mapping[str, str] | None = None,
) -> AuditEntry:
    entry = AuditEntry(
        at=now,
        actor=actor,
        action=action,
        target_type=target_type,
        target_id=target_id,
        detail=dict(detail or {}),
    )
    session.add(entry)
    return entry


def entries_for(
    session: Session, target_type: str, target_id: str, limit: int = 100
) -> Sequence[AuditEntry]:
    return session.scalars(
        select(AuditEntry)
        .where(AuditEntry.target_type == target_type, AuditEntry.target_id == target_id)
        .order_by(AuditEntry.id.desc())
        .limit(limit)
    ).all()
