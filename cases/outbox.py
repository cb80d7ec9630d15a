"""The transactional outbox: what must reach the IOC database is written here, in the same
transaction as the change itself, so a record can never be committed without its message
(nor a message without its record). `cases.sync` relays the rows.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from cases.models import OutboxMessage

TOPIC_CALL = "call"
TOPIC_CASE = "case"


def emit(
    session: Session, topic: str, key: str, version: int, payload: dict[str, Any], now: datetime
) -> OutboxMessage:
    """Queue a snapshot of record `key` at `version` (added to the caller's transaction)."""
    message = OutboxMessage(
        topic=topic,
        key=key,
        version=version,
        payload=payload,
        created_at=now,
        attempts=0,
        next_attempt_at=now,
        sent_at=None,
        last_error="",
    )
    session.add(message)
    return message


def iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None
