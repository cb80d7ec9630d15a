"""Presenters: models -> public schemas, with caller numbers masked for whoever may not see
them, and the audit entry written for every full number shown.

Rule (issue 3, item 5): lists and details show ``0912***678`` unless the reader is a
supervisor *and* asked for ``reveal_caller=true``; each full number shown writes one audit
entry (``read_caller_number``) in the request's transaction, committed before the response.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from api.deps import Principal
from api.errors import ForbiddenError
from api.schemas.calls import CallDetail, CallPublic, CallStepPublic
from api.schemas.cases import CaseDetail, CaseEventPublic, CasePublic, NotePublic
from cases import audit
from cases.domain import mask_phone
from cases.models import CallRecord, Case


def check_reveal(user: Principal, reveal: bool) -> bool:
    """True when full numbers are to be shown; 403 if the user may not see them."""
    if reveal and not user.is_supervisor:
        raise ForbiddenError(
            f"user {user.username} is {user.role}: only supervisors see full caller numbers"
        )
    return reveal


def _caller(
    session: Session,
    user: Principal,
    number: str,
    *,
    reveal: bool,
    target_type: str,
    target_id: str,
    now: datetime,
) -> tuple[str, bool]:
    if not number:
        return "", False
    if not reveal:
        return mask_phone(number), True
    audit.record(
        session,
        actor=user.username,
        action=audit.READ_CALLER_NUMBER,
        target_type=target_type,
        target_id=target_id,
        now=now,
    )
    return number, False


def recording_names(record: CallRecord) -> list[str]:
    """Names of the recordings made during a call (from its ``recording`` steps)."""
    names = []
    for step in record.steps:
        name = str(step.detail.get("name", "")) if step.kind == "recording" else ""
        if name:
            names.append(name)
    return names


def call_public(
    session: Session, user: Principal, record: CallRecord, *, reveal: bool, now: datetime
) -> CallPublic:
    caller, masked = _caller(
        session,
        user,
        record.caller,
        reveal=reveal,
        target_type="call",
        target_id=record.uniqueid,
        now=now,
    )
    return CallPublic(
        uniqueid=record.uniqueid,
        linkedid=record.linkedid,
        caller=caller,
        caller_masked=masked,
        dialed=record.dialed,
        started_at=record.started_at,
        answered_at=record.answered_at,
        ended_at=record.ended_at,
        outcome=record.outcome,
        cause=record.cause,
        last_node=record.last_node,
        intent=record.intent,
        step_count=record.step_count,
    )


def call_detail(
    session: Session, user: Principal, record: CallRecord, *, reveal: bool, now: datetime
) -> CallDetail:
    base = call_public(session, user, record, reveal=reveal, now=now)
    steps = [
        CallStepPublic(
            seq=s.seq,
            kind=s.kind,
            at=s.at,
            node=s.node,
            prompt=s.prompt,
            digits=s.digits,
            transcript=s.transcript,
            confidence=s.confidence,
            intent=s.intent,
            detail=s.detail,
        )
        for s in record.steps
    ]
    return CallDetail(**base.model_dump(), steps=steps, recordings=recording_names(record))


def case_public(
    session: Session, user: Principal, case: Case, *, reveal: bool, now: datetime
) -> CasePublic:
    caller, masked = _caller(
        session,
        user,
        case.caller,
        reveal=reveal,
        target_type="case",
        target_id=case.reference,
        now=now,
    )
    return CasePublic(
        reference=case.reference,
        category=case.category,
        status=case.status,
        channel=case.channel,
        province_code=case.province_code,
        ward_code=case.ward_code,
        place=case.place,
        address=case.address,
        latitude=case.latitude,
        longitude=case.longitude,
        description=case.description,
        caller=caller,
        caller_masked=masked,
        call_uniqueid=case.call_uniqueid,
        has_recording=bool(case.audio_ref),
        created_at=case.created_at,
        updated_at=case.updated_at,
        due_at=case.due_at,
        overdue=case.is_overdue(now),
        created_by=case.created_by,
        handled_by=case.handled_by,
        assigned_unit=case.assigned_unit,
        version=case.version,
    )


def case_detail(
    session: Session,
    user: Principal,
    case: Case,
    *,
    reveal: bool,
    now: datetime,
    duplicate_of: str | None,
) -> CaseDetail:
    base = case_public(session, user, case, reveal=reveal, now=now)
    return CaseDetail(
        **base.model_dump(),
        transcript=case.transcript,
        duplicate_of=duplicate_of,
        history=[
            CaseEventPublic(
                at=e.at,
                actor=e.actor,
                from_status=e.from_status,
                to_status=e.to_status,
                reason=e.reason,
                assigned_unit=e.assigned_unit,
            )
            for e in case.history
        ],
        notes=[NotePublic(id=n.id, at=n.at, author=n.author, text=n.text) for n in case.notes],
    )
