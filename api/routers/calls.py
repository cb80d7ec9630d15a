"""Call log: search (time range, caller, outcome, intent; paged), CSV export, one call with
its steps. Agents see only calls of cases they handle; caller numbers are masked unless a
supervisor asks for them (audited)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse
from pydantic import AwareDatetime
from sqlalchemy.orm import Session, sessionmaker

from api.deps import ClockDep, CurrentUser, Principal, SessionDep, SessionFactoryDep
from api.errors import BadRequestError, NotFoundError
from api.queries import CallFilter, iter_calls, may_see_call, search_calls
from api.schemas.calls import CallDetail, CallOutcome, CallsPublic
from api.schemas.common import ERROR_RESPONSES, Limit, Offset, RevealCaller
from api.views import call_detail, call_public, check_reveal
from cases import audit
from cases.calls import find_call
from cases.domain import mask_phone

router = APIRouter(prefix="/calls", tags=["calls"], responses=ERROR_RESPONSES)

StartedFrom = Annotated[
    AwareDatetime | None,
    Query(description="calls started at or after this instant (ISO 8601 with a zone)"),
]
StartedTo = Annotated[AwareDatetime | None, Query(description="calls started before this instant")]
Caller = Annotated[
    str | None,
    Query(min_length=3, max_length=32, pattern=r"^\+?[0-9]+$", description="exact caller number"),
]
OutcomeQ = Annotated[CallOutcome | None, Query(description="how the call ended")]
Intent = Annotated[str | None, Query(min_length=1, max_length=64, description="recognised intent")]

CSV_COLUMNS = (
    "uniqueid",
    "linkedid",
    "caller",
    "dialed",
    "started_at",
    "answered_at",
    "ended_at",
    "outcome",
    "cause",
    "last_node",
    "intent",
    "step_count",
)


def _filter(
    user: Principal,
    started_from: datetime | None,
    started_to: datetime | None,
    caller: str | None,
    outcome: CallOutcome | None,
    intent: str | None,
) -> CallFilter:
    if started_from and started_to and started_from >= started_to:
        raise BadRequestError(
            f"started_from {started_from.isoformat()} is not before "
            f"started_to {started_to.isoformat()}"
        )
    return CallFilter(
        started_from=started_from,
        started_to=started_to,
        caller=caller,
        outcome=outcome.value if outcome else None,
        intent=intent,
        handled_by=None if user.sees_all else user.username,
    )


@router.get("", summary="Search the call log")
def list_calls(
    session: SessionDep,
    user: CurrentUser,
    clock: ClockDep,
    started_from: StartedFrom = None,
    started_to: StartedTo = None,
    caller: Caller = None,
    outcome: OutcomeQ = None,
    intent: Intent = None,
    limit: Limit = 50,
    offset: Offset = 0,
    reveal_caller: RevealCaller = False,
) -> CallsPublic:
    reveal = check_reveal(user, reveal_caller)
    f = _filter(user, started_from, started_to, caller, outcome, intent)
    rows, total = search_calls(session, f, offset=offset, limit=limit)
    now = clock()
    data = [call_public(session, user, r, reveal=reveal, now=now) for r in rows]
    if reveal:
        session.commit()
    return CallsPublic(data=data, count=total)


@router.get(
    "/export.csv",
    summary="Export the call log as CSV (streamed)",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}}, "description": "UTF-8 CSV with a header"}},
)
def export_calls(
    session: SessionDep,
    sessions: SessionFactoryDep,
    user: CurrentUser,
    clock: ClockDep,
    started_from: StartedFrom = None,
    started_to: StartedTo = None,
    caller: Caller = None,
    outcome: OutcomeQ = None,
    intent: Intent = None,
    reveal_caller: RevealCaller = False,
) -> StreamingResponse:
    reveal = check_reveal(user, reveal_caller)
    f = _filter(user, started_from, started_to, caller, outcome, intent)
    if reveal:
        # One entry for the export, with the filter that reproduces it.
        audit.record(
            session,
            actor=user.username,
            action=audit.READ_CALLER_NUMBER,
            target_type="call_export",
            target_id="csv",
            now=clock(),
            detail={
                k: str(v)
                for k, v in (
                    ("started_from", started_from),
                    ("started_to", started_to),
                    ("caller", caller),
                    ("outcome", outcome),
                    ("intent", intent),
                )
                if v is not None
            },
        )
        session.commit()
    # The stream reads in its own session: the request's session is closed when the
    # dependency exits, which may be before the body has been sent.
    return StreamingResponse(
        _csv_rows(sessions, f, reveal),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="calls.csv"'},
    )


def _csv_rows(sessions: sessionmaker[Session], f: CallFilter, reveal: bool) -> Iterator[str]:
    yield csv_line(list(CSV_COLUMNS))
    with sessions() as session:
        for r in iter_calls(session, f):
            yield csv_line(
                [
                    r.uniqueid,
                    r.linkedid,
                    r.caller if reveal else mask(r.caller),
                    r.dialed,
                    r.started_at.isoformat(),
                    r.answered_at.isoformat() if r.answered_at else None,
                    r.ended_at.isoformat() if r.ended_at else None,
                    r.outcome,
                    r.cause,
                    r.last_node,
                    r.intent,
                    r.step_count,
                ]
            )


@router.get("/{uniqueid}", summary="One call with its steps")
def get_call(
    session: SessionDep,
    user: CurrentUser,
    clock: ClockDep,
    uniqueid: str,
    reveal_caller: RevealCaller = False,
) -> CallDetail:
    reveal = check_reveal(user, reveal_caller)
    record = find_call(session, uniqueid)
    if record is None or not (user.sees_all or may_see_call(session, uniqueid, user.username)):
        raise NotFoundError(f"call {uniqueid} does not exist or is not one of yours")
    detail = call_detail(session, user, record, reveal=reveal, now=clock())
    if reveal:
        session.commit()
    return detail


def csv_line(values: list[object]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer).writerow(["" if v is None else v for v in values])
    return buffer.getvalue()


def mask(number: str) -> str:
    return mask_phone(number) if number else ""
