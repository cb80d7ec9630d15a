"""Call records: `SqlCallRecorder` writes them (it implements ``ivr.ports.CallRecorder``
structurally, without importing ivr), `get_call` / `find_call` read them back.

Strategy: one short transaction per event (the controller calls us from one writer thread).
A step takes a sequence number with ``UPDATE ... SET step_count = step_count + 1 ... RETURNING``
so steps keep their order with no read-then-write race. The call's snapshot goes to the
outbox when the call starts and when it ends (with its steps), keyed by Linkedid, so the IOC
sees an open call early and the full record once.

Closing is idempotent: the first `call_ended` wins; `close_orphans` closes whatever a crash or
restart left open (outcome ``error``, cause says why).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import Engine, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from cases.db import session_factory, unit_of_work
from cases.domain import mask_phone
from cases.errors import CallNotFoundError, ValidationError
from cases.models import CallRecord, CallStepRow
from cases.outbox import TOPIC_CALL, emit, iso
from cases.types import utcnow

log = logging.getLogger(__name__)

ORPHAN_OUTCOME = "error"
ORPHAN_CAUSE = "closed after restart: channel no longer alive"


# Structural mirrors of ivr.ports (read-only attributes, so frozen dataclasses match).
class CallStartedLike(Protocol):
    @property
    def uniqueid(self) -> str: ...
    @property
    def linkedid(self) -> str: ...
    @property
    def channel(self) -> str: ...
    @property
    def caller(self) -> str: ...
    @property
    def dialed(self) -> str: ...
    @property
    def started_at(self) -> datetime: ...
    @property
    def answered_at(self) -> datetime | None: ...


class CallStepLike(Protocol):
    @property
    def kind(self) -> str: ...
    @property
    def at(self) -> datetime: ...
    @property
    def node(self) -> str: ...
    @property
    def prompt(self) -> str: ...
    @property
    def digits(self) -> str: ...
    @property
    def transcript(self) -> str: ...
    @property
    def confidence(self) -> float | None: ...
    @property
    def intent(self) -> str: ...
    @property
    def detail(self) -> Mapping[str, str]: ...


class CallEndedLike(Protocol):
    @property
    def outcome(self) -> str: ...
    @property
    def ended_at(self) -> datetime: ...
    @property
    def cause(self) -> str: ...


def call_key(record: CallRecord) -> str:
    """The call's idempotency key in the IOC: its Linkedid. A second channel of the same call
    (same Linkedid, another Uniqueid) gets ``linkedid/uniqueid`` so it never overwrites it."""
    if record.uniqueid == record.linkedid:
        return record.linkedid
    return f"{record.linkedid}/{record.uniqueid}"


def call_snapshot(record: CallRecord, *, with_steps: bool) -> dict[str, Any]:
    """The JSON a call is sent to the IOC as."""
    data: dict[str, Any] = {
        "uniqueid": record.uniqueid,
        "linkedid": record.linkedid,
        "channel": record.channel,
        "caller": record.caller,
        "dialed": record.dialed,
        "started_at": iso(record.started_at),
        "answered_at": iso(record.answered_at),
        "ended_at": iso(record.ended_at),
        "outcome": record.outcome,
        "cause": record.cause,
        "last_node": record.last_node,
        "intent": record.intent,
        "step_count": record.step_count,
    }
    if with_steps:
        data["steps"] = [
            {
                "seq": s.seq,
                "kind": s.kind,
                "at": iso(s.at),
                "node": s.node,
                "prompt": s.prompt,
                "digits": s.digits,
                "transcript": s.transcript,
                "confidence": s.confidence,
                "intent": s.intent,
                "detail": s.detail,
            }
            for s in record.steps
        ]
    return data


class SqlCallRecorder:
    """Writes call records into the hotline's own database (and queues them for the IOC)."""

    def __init__(self, engine: Engine) -> None:
        self._sessions = session_factory(engine)

    def call_started(self, call: CallStartedLike) -> None:
        try:
            with unit_of_work(self._sessions) as session:
                record = CallRecord(
                    uniqueid=call.uniqueid,
                    linkedid=call.linkedid,
                    channel=call.channel,
                    caller=call.caller,
                    dialed=call.dialed,
                    started_at=call.started_at,
                    answered_at=call.answered_at,
                    ended_at=None,
                    outcome=None,
                    cause="",
                    last_node="",
                    intent="",
                    step_count=0,
                    version=1,
                )
                session.add(record)
                session.flush()
                emit(
                    session,
                    TOPIC_CALL,
                    call_key(record),
                    record.version,
                    call_snapshot(record, with_steps=False),
                    utcnow(),  # queue time is ours: the event's own time may be another clock's
                )
        except IntegrityError:
            with self._sessions() as session:
                if find_call(session, call.uniqueid) is None:
                    raise
            # A restarted controller may adopt a channel it already recorded: keep the record.
            log.info("call %s from %s already recorded", call.uniqueid, mask_phone(call.caller))
            return
        log.debug("call %s from %s recorded", call.uniqueid, mask_phone(call.caller))

    def step(self, uniqueid: str, step: CallStepLike) -> None:
        with unit_of_work(self._sessions) as session:
            values: dict[str, Any] = {"step_count": CallRecord.step_count + 1}
            if step.node:
                values["last_node"] = step.node
            if step.intent:
                values["intent"] = step.intent
            row = session.execute(
                update(CallRecord)
                .where(CallRecord.uniqueid == uniqueid)
                .values(**values)
                .returning(CallRecord.id, CallRecord.step_count)
            ).first()
            if row is None:
                raise CallNotFoundError(f"Call {uniqueid} has no record: cannot add a step")
            call_id, seq = row
            session.add(
                CallStepRow(
                    call_id=call_id,
                    seq=seq,
                    kind=str(step.kind),
                    at=step.at,
                    node=step.node,
                    prompt=step.prompt,
                    digits=step.digits,
                    transcript=step.transcript,
                    confidence=step.confidence,
                    intent=step.intent,
                    detail=dict(step.detail),
                )
            )

    def call_ended(self, uniqueid: str, ended: CallEndedLike) -> None:
        with unit_of_work(self._sessions) as session:
            record = session.scalars(
                select(CallRecord)
                .where(CallRecord.uniqueid == uniqueid)
                .options(selectinload(CallRecord.steps))
            ).one_or_none()
            if record is None:
                raise CallNotFoundError(f"Call {uniqueid} has no record: cannot close it")
            if record.ended_at is not None:
                log.debug("call %s already closed (%s)", uniqueid, record.outcome)
                return
            self._close(session, record, str(ended.outcome), ended.ended_at, ended.cause)

    def close_orphans(self, now: datetime, keep: frozenset[str] = frozenset()) -> int:
        with unit_of_work(self._sessions) as session:
            open_records = session.scalars(
                select(CallRecord)
                .where(CallRecord.ended_at.is_(None))
                .options(selectinload(CallRecord.steps))
            ).all()
            closed = 0
            for record in open_records:
                if record.uniqueid in keep:
                    continue
                self._close(session, record, ORPHAN_OUTCOME, now, ORPHAN_CAUSE)
                closed += 1
        if closed:
            log.info("closed %d orphaned call record(s)", closed)
        return closed

    @staticmethod
    def _close(
        session: Session, record: CallRecord, outcome: str, ended_at: datetime, cause: str
    ) -> None:
        record.ended_at = ended_at
        record.outcome = outcome
        record.cause = cause[:200]
        record.version += 1
        session.flush()
        emit(
            session,
            TOPIC_CALL,
            call_key(record),
            record.version,
            call_snapshot(record, with_steps=True),
            utcnow(),
        )


def find_call(session: Session, uniqueid: str) -> CallRecord | None:
    """The call record with its steps loaded, or None."""
    return session.scalars(
        select(CallRecord)
        .where(CallRecord.uniqueid == uniqueid)
        .options(selectinload(CallRecord.steps))
    ).one_or_none()


def get_call(session: Session, uniqueid: str) -> CallRecord:
    """The call record with its steps (``record.steps``, in order); CallNotFoundError if none."""
    record = find_call(session, uniqueid)
    if record is None:
        raise CallNotFoundError(f"Call {uniqueid} has no record")
    return record


@dataclass(frozen=True, slots=True)
class CallFilter:
    """Search criteria for the call log; every field optional, combined with AND."""

    started_from: datetime | None = None
    started_to: datetime | None = None
    caller: str | None = None
    outcome: str | None = None
    intent: str | None = None


def search_calls(
    session: Session,
    f: CallFilter,
    *,
    offset: int = 0,
    limit: int = 50,
    count_limit: int | None = None,
) -> tuple[Sequence[CallRecord], int]:
    """A page of call records, newest first (steps not loaded), and how many match in all.

    Each filter has an index that leads with it and ends in ``started_at``. Counting every
    match dominates a broad search over a million rows; with `count_limit` = N the count stops
    at N + 1 (so ``total > N`` means "more than N").
    """
    if limit < 1 or limit > 500 or offset < 0:
        raise ValidationError(f"Paging offset={offset} limit={limit}: limit 1..500, offset >= 0")
    query = select(CallRecord)
    count = select(func.count(CallRecord.id))
    conditions = []
    if f.started_from is not None:
        conditions.append(CallRecord.started_at >= f.started_from)
    if f.started_to is not None:
        conditions.append(CallRecord.started_at < f.started_to)
    if f.caller is not None:
        conditions.append(CallRecord.caller == f.caller)
    if f.outcome is not None:
        conditions.append(CallRecord.outcome == f.outcome)
    if f.intent is not None:
        conditions.append(CallRecord.intent == f.intent)
    if conditions:
        query = query.where(*conditions)
        count = count.where(*conditions)
    if count_limit is not None:
        capped = select(CallRecord.id).where(*conditions).limit(count_limit + 1).subquery()
        count = select(func.count()).select_from(capped)
    total = session.scalar(count) or 0
    rows = session.scalars(
        query.order_by(CallRecord.started_at.desc(), CallRecord.id.desc())
        .offset(offset)
        .limit(limit)
    ).all()
    return rows, total
