"""Read-side queries the API needs beyond `cases.services`: the call-log search and the
visibility rules (which calls and cases an agent may see).

Strategy: one filtered ``SELECT`` ordered by ``(started_at DESC, id DESC)`` with offset
paging, and a ``COUNT`` with the same filters. Each filter has a matching composite index in
`cases.models` (``caller``/``outcome``/``intent`` + ``started_at``) so a filtered page reads
a short index range; `benchmarks/api_search.py` measures it. An agent's view is restricted
with ``uniqueid IN (calls of the cases they handle)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from cases.models import CallRecord, Case


@dataclass(frozen=True, slots=True)
class CallFilter:
    started_from: datetime | None = None
    started_to: datetime | None = None
    caller: str | None = None
    outcome: str | None = None  # an Outcome value, or "open"
    intent: str | None = None
    handled_by: str | None = None  # agents: only calls of cases they handle


def _filtered(query: Select[Any], f: CallFilter) -> Select[Any]:
    if f.started_from is not None:
        query = query.where(CallRecord.started_at >= f.started_from)
    if f.started_to is not None:
        query = query.where(CallRecord.started_at < f.started_to)
    if f.caller is not None:
        query = query.where(CallRecord.caller == f.caller)
    if f.outcome == "open":
        query = query.where(CallRecord.ended_at.is_(None))
    elif f.outcome is not None:
        query = query.where(CallRecord.outcome == f.outcome)
    if f.intent is not None:
        query = query.where(CallRecord.intent == f.intent)
    if f.handled_by is not None:
        query = query.where(call_handled_by(f.handled_by))
    return query


def call_handled_by(username: str) -> Any:
    """SQL condition: a case handled by `username` was opened from this call. An ``IN
    (subquery)`` rather than a correlated ``EXISTS``: the agent's few cases come from
    ``ix_cases_handler_created`` and each call from the unique index on ``uniqueid``."""
    return CallRecord.uniqueid.in_(
        select(Case.call_uniqueid).where(
            Case.handled_by == username, Case.call_uniqueid.is_not(None)
        )
    )


def search_calls(
    session: Session, f: CallFilter, *, offset: int, limit: int
) -> tuple[Sequence[CallRecord], int]:
    """A page of calls, newest first, and how many match in all."""
    total = session.scalar(_filtered(select(func.count(CallRecord.id)), f)) or 0
    rows = session.scalars(
        _filtered(select(CallRecord), f)
        .order_by(CallRecord.started_at.desc(), CallRecord.id.desc())
        .offset(offset)
        .limit(limit)
    ).all()
    return rows, total


def iter_calls(session: Session, f: CallFilter, *, batch: int = 1000) -> Any:
    """Every matching call, newest first, streamed from the database in batches."""
    query = _filtered(select(CallRecord), f).order_by(
        CallRecord.started_at.desc(), CallRecord.id.desc()
    )
    result = session.execute(query.execution_options(yield_per=batch))
    for (record,) in result:
        yield record


def may_see_call(session: Session, uniqueid: str, username: str) -> bool:
    """True when a case handled by `username` was opened from call `uniqueid`."""
    found = session.scalar(
        select(func.count(Case.id)).where(
            Case.call_uniqueid == uniqueid, Case.handled_by == username
        )
    )
    return bool(found)
