"""Call records on a real database (SQLite file and PostgreSQL): contract 3 of the team.

`SqlCallRecorder` is driven with the real `ivr.ports` dataclasses, read back with `get_call`.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from cases.calls import ORPHAN_CAUSE, SqlCallRecorder, find_call, get_call
from cases.errors import CallNotFoundError
from cases.models import OutboxMessage
from ivr.ports import CallEnded, CallRecorder, CallStarted, CallStep, Outcome, StepKind

T0 = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)


def _started(uid: str, at: datetime = T0) -> CallStarted:
    return CallStarted(
        uniqueid=uid,
        linkedid=uid,
        channel=f"PJSIP/caller-{uid}",
        caller="0912345678",
        dialed="19009120",
        started_at=at,
        answered_at=at + timedelta(seconds=1),
    )


def test_sql_call_recorder_is_a_call_recorder(migrated_engine: Engine) -> None:
    recorder: CallRecorder = SqlCallRecorder(migrated_engine)  # checked by mypy on tests too
    assert isinstance(recorder, SqlCallRecorder)


def test_a_whole_call_is_recorded_with_its_steps_in_order(migrated_engine: Engine) -> None:
    recorder = SqlCallRecorder(migrated_engine)
    recorder.call_started(_started("1732521600.1"))
    recorder.step("1732521600.1", CallStep(StepKind.NODE, T0, node="main"))
    recorder.step("1732521600.1", CallStep(StepKind.PROMPT, T0, node="main", prompt="greeting"))
    recorder.step("1732521600.1", CallStep(StepKind.DIGITS, T0, node="main", digits="1"))
    recorder.step(
        "1732521600.1",
        CallStep(
            StepKind.SPEECH,
            T0 + timedelta(seconds=5),
            node="dossier",
            transcript="tra cứu hồ sơ",
            confidence=0.91,
            intent="dossier_lookup",
            detail={"engine": "whisper"},
        ),
    )
    recorder.call_ended(
        "1732521600.1", CallEnded(Outcome.COMPLETED, T0 + timedelta(seconds=30), "16 Normal")
    )

    with Session(migrated_engine) as session:
        record = get_call(session, "1732521600.1")
        assert record.caller == "0912345678"
        assert record.started_at == T0
        assert record.answered_at == T0 + timedelta(seconds=1)
        assert record.ended_at == T0 + timedelta(seconds=30)
        assert record.outcome == "completed"
        assert record.cause == "16 Normal"
        assert record.last_node == "dossier"
        assert record.intent == "dossier_lookup"
        assert [s.seq for s in record.steps] == [1, 2, 3, 4]
        assert [s.kind for s in record.steps] == ["node", "prompt", "digits", "speech"]
        assert record.steps[2].digits == "1"
        assert record.steps[3].transcript == "tra cứu hồ sơ"
        assert record.steps[3].confidence == pytest.approx(0.91)
        assert record.steps[3].detail == {"engine": "whisper"}
        outbox = session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
        assert [(m.topic, m.key, m.version) for m in outbox] == [
            ("call", "1732521600.1", 1),
            ("call", "1732521600.1", 2),
        ]
        assert len(outbox[1].payload["steps"]) == 4
        assert outbox[1].payload["outcome"] == "completed"


def test_first_close_wins_and_orphans_are_closed(migrated_engine: Engine) -> None:
    recorder = SqlCallRecorder(migrated_engine)
    for uid in ("a.1", "b.2", "c.3"):
        recorder.call_started(_started(uid))
    recorder.call_ended("a.1", CallEnded(Outcome.ABANDONED, T0 + timedelta(seconds=3), "hangup"))
    recorder.call_ended("a.1", CallEnded(Outcome.ERROR, T0 + timedelta(seconds=9), "late"))

    closed = recorder.close_orphans(T0 + timedelta(minutes=5), keep=frozenset({"c.3"}))

    assert closed == 1
    with Session(migrated_engine) as session:
        a, b, c = (get_call(session, uid) for uid in ("a.1", "b.2", "c.3"))
        assert (a.outcome, a.cause) == ("abandoned", "hangup")
        assert (b.outcome, b.cause, b.ended_at) == (
            "error",
            ORPHAN_CAUSE,
            T0 + timedelta(minutes=5),
        )
        assert c.is_open
    assert recorder.close_orphans(T0 + timedelta(minutes=6)) == 1
    with Session(migrated_engine) as session:
        assert not get_call(session, "c.3").is_open


def test_unknown_call_is_an_error_that_names_it(migrated_engine: Engine) -> None:
    recorder = SqlCallRecorder(migrated_engine)
    with pytest.raises(CallNotFoundError, match=r"Call nope\.9 has no record"):
        recorder.step("nope.9", CallStep(StepKind.NODE, T0, node="main"))
    with pytest.raises(CallNotFoundError, match=r"nope\.9"):
        recorder.call_ended("nope.9", CallEnded(Outcome.COMPLETED, T0))
    with Session(migrated_engine) as session:
        assert find_call(session, "nope.9") is None
        with pytest.raises(CallNotFoundError):
            get_call(session, "nope.9")


def test_a_readopted_call_keeps_its_record(migrated_engine: Engine) -> None:
    recorder = SqlCallRecorder(migrated_engine)
    recorder.call_started(_started("r.1"))
    recorder.step("r.1", CallStep(StepKind.NODE, T0, node="main"))
    recorder.call_started(_started("r.1", at=T0 + timedelta(minutes=1)))  # controller restart
    with Session(migrated_engine) as session:
        record = get_call(session, "r.1")
        assert record.started_at == T0
        assert record.step_count == 1


def test_concurrent_writers_neither_block_nor_lose_steps(migrated_engine: Engine) -> None:
    recorder = SqlCallRecorder(migrated_engine)
    uids = [f"conc.{i}" for i in range(4)]
    for uid in uids:
        recorder.call_started(_started(uid))
    errors: list[BaseException] = []

    def write(uid: str) -> None:
        try:
            for n in range(40):
                recorder.step(uid, CallStep(StepKind.DIGITS, T0, digits=str(n % 10)))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(uid,)) for uid in uids]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with Session(migrated_engine) as session:
        for uid in uids:
            record = get_call(session, uid)
            assert [s.seq for s in record.steps] == list(range(1, 41))
        assert session.scalar(select(func.count()).select_from(OutboxMessage)) == 4


def test_call_log_search_filters_and_pages(migrated_engine: Engine) -> None:
    from cases.calls import CallFilter, search_calls

    recorder = SqlCallRecorder(migrated_engine)
    for i in range(6):
        uid = f"s.{i}"
        recorder.call_started(_started(uid, at=T0 + timedelta(minutes=i)))
        if i % 2:
            recorder.step(uid, CallStep(StepKind.SPEECH, T0, intent="complaint"))
        outcome = Outcome.COMPLETED if i < 4 else Outcome.ABANDONED
        recorder.call_ended(uid, CallEnded(outcome, T0 + timedelta(minutes=i, seconds=30)))
    with Session(migrated_engine) as session:
        rows, total = search_calls(session, CallFilter(), limit=2)
        assert total == 6 and [r.uniqueid for r in rows] == ["s.5", "s.4"]
        rows, total = search_calls(session, CallFilter(intent="complaint", outcome="completed"))
        assert total == 2 and [r.uniqueid for r in rows] == ["s.3", "s.1"]
        window = CallFilter(
            started_from=T0 + timedelta(minutes=2), started_to=T0 + timedelta(minutes=4)
        )
        assert search_calls(session, window)[1] == 2
        assert search_calls(session, CallFilter(caller="0900000000"))[1] == 0
        rows, _ = search_calls(session, CallFilter(), offset=5, limit=10)
        assert [r.uniqueid for r in rows] == ["s.0"]
        rows, total = search_calls(session, CallFilter(), limit=2, count_limit=3)
        assert total == 4 and len(rows) == 2  # "more than 3"
        assert search_calls(session, CallFilter(intent="complaint"), count_limit=3)[1] == 3
