"""The outbox relay into the IOC database, for real: delivery, idempotent replay, per-record
ordering, poison isolation, and an IOC PostgreSQL actually stopped and started again under a
stream of calls and cases (nothing lost, nothing duplicated)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select, update

from cases import ioc, services
from cases.calls import SqlCallRecorder, call_key
from cases.config import load_config
from cases.db import make_engine, session_factory, unit_of_work, upgrade
from cases.domain import Category
from cases.models import CallRecord, Case, OutboxMessage
from cases.outbox import emit
from cases.sync import OutboxRelay, sync_status
from ivr.ports import CallEnded, CallStarted, CallStep, Outcome, StepKind
from tests.fixtures.db import PrivatePostgres

T0 = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)
CONFIG = load_config(Path(__file__).resolve().parents[2] / "dialplans" / "province.yaml")


def _call(recorder: SqlCallRecorder, uid: str, at: datetime) -> None:
    recorder.call_started(CallStarted(uid, uid, f"PJSIP/x-{uid}", "0912345678", "19009120", at))
    recorder.step(uid, CallStep(StepKind.DIGITS, at, node="main", digits="2"))
    recorder.call_ended(uid, CallEnded(Outcome.COMPLETED, at + timedelta(seconds=20), "16"))


def _case(engine: Engine, at: datetime) -> str:
    with unit_of_work(session_factory(engine)) as s:
        case = services.create_case(
            s,
            services.NewCase(
                Category.ENVIRONMENT, "Rác thải đổ trộm bên kênh", place_text="Giá Rai"
            ),
            actor="ivr",
            config=CONFIG,
            now=at,
        )
        return case.reference


def _ioc_matches_local(local: Engine, ioc_engine: Engine) -> None:
    """Every local call and case is in the IOC exactly once, at its latest version."""
    with session_factory(local)() as s:
        calls = {call_key(r): r.version for r in s.scalars(select(CallRecord))}
        cases = {c.reference: c.version for c in s.scalars(select(Case))}
    with ioc_engine.connect() as conn:
        got_calls = dict(conn.execute(select(ioc.ioc_calls.c.key, ioc.ioc_calls.c.version)).all())
        got_cases = dict(conn.execute(select(ioc.ioc_cases.c.key, ioc.ioc_cases.c.version)).all())
    assert got_calls == calls
    assert got_cases == cases


@pytest.fixture
def ioc_engine(ioc_db_url: str) -> Iterator[Engine]:
    engine = ioc.make_ioc_engine(ioc_db_url)
    yield engine
    engine.dispose()


def test_relay_delivers_once_and_replay_changes_nothing(
    migrated_engine: Engine, ioc_engine: Engine
) -> None:
    recorder = SqlCallRecorder(migrated_engine)
    for i in range(5):
        _call(recorder, f"c.{i}", T0 + timedelta(minutes=i))
    refs = [_case(migrated_engine, T0) for _ in range(3)]
    # a second channel of call c.0 (same Linkedid) is its own record in the IOC
    recorder.call_started(CallStarted("c.0b", "c.0", "Local/agent", "0912345678", "100", T0))
    relay = OutboxRelay(migrated_engine, ioc_engine, batch_size=4)

    assert relay.drain() == 14  # 5 calls x 2 snapshots + 1 open second channel + 3 cases
    _ioc_matches_local(migrated_engine, ioc_engine)
    with ioc_engine.connect() as conn:
        version, payload = ioc.fetch(conn, "call", "c.0") or (0, {})
        assert version == 2 and payload["outcome"] == "completed" and len(payload["steps"]) == 1
        stamp = conn.execute(select(ioc.ioc_cases.c.updated_at)).scalars().all()
    assert sync_status(migrated_engine).pending == 0

    # A crash after the IOC committed but before we marked the batch sent: everything again.
    with unit_of_work(session_factory(migrated_engine)) as s:
        s.execute(update(OutboxMessage).values(sent_at=None))
    assert relay.drain() == 14
    _ioc_matches_local(migrated_engine, ioc_engine)
    with ioc_engine.connect() as conn:
        assert conn.execute(select(ioc.ioc_cases.c.updated_at)).scalars().all() == stamp
        assert conn.execute(select(func.count()).select_from(ioc.ioc_calls)).scalar() == 6
        assert (ioc.fetch(conn, "call", "c.0/c.0b") or (0, {}))[1]["channel"] == "Local/agent"
    assert len(refs) == 3


def test_an_older_snapshot_never_overwrites_a_newer_one(ioc_engine: Engine) -> None:
    ioc.ensure_schema(ioc_engine)
    with ioc_engine.begin() as conn:
        ioc.apply(conn, "case", "12345671", 3, {"status": "assigned"}, T0)
        ioc.apply(conn, "case", "12345671", 2, {"status": "classified"}, T0)
        ioc.apply(conn, "case", "12345671", 3, {"status": "bogus"}, T0)
    with ioc_engine.connect() as conn:
        assert ioc.fetch(conn, "case", "12345671") == (3, {"status": "assigned"})


def test_a_record_waits_behind_its_own_older_message(
    migrated_engine: Engine, tmp_path: Path
) -> None:
    now = [T0]
    live = ioc.make_ioc_engine(f"sqlite:///{tmp_path}/ioc.db")
    with unit_of_work(session_factory(migrated_engine)) as s:
        emit(s, "case", "A", 1, {"status": "received"}, T0)
    unreachable = _unreachable()
    relay_dead = OutboxRelay(
        migrated_engine, unreachable, base_backoff=timedelta(seconds=10), clock=lambda: now[0]
    )
    assert relay_dead.run_once().failed == 1  # A v1 now waits until T0 + 10 s
    unreachable.dispose()
    with unit_of_work(session_factory(migrated_engine)) as s:
        emit(s, "case", "A", 2, {"status": "classified"}, T0)
        emit(s, "case", "B", 1, {"status": "received"}, T0)
    relay = OutboxRelay(migrated_engine, live, clock=lambda: now[0])
    assert relay.run_once().sent == 1  # only B: A v2 may not overtake A v1
    now[0] = T0 + timedelta(seconds=11)
    assert relay.run_once().sent == 2
    with live.connect() as conn:
        assert ioc.fetch(conn, "case", "A") == (2, {"status": "classified"})
    status = sync_status(migrated_engine)
    assert (status.pending, status.sent) == (0, 3)
    live.dispose()


def _unreachable() -> Engine:
    # Nothing listens on port 1 of loopback: connection refused at once.
    return ioc.make_ioc_engine("postgresql+psycopg://hotline:x@127.0.0.1:1/ioc")


def test_backoff_grows_and_is_capped(migrated_engine: Engine) -> None:
    unreachable = _unreachable()
    relay = OutboxRelay(
        migrated_engine,
        unreachable,
        base_backoff=timedelta(seconds=1),
        max_backoff=timedelta(seconds=30),
    )
    assert [relay.backoff(n).total_seconds() for n in (1, 2, 3, 5, 6, 40)] == [
        1, 2, 4, 16, 30, 30,
    ]  # fmt: skip
    with unit_of_work(session_factory(migrated_engine)) as s:
        emit(s, "call", "L1", 1, {}, T0)
    result = relay.run_once()
    unreachable.dispose()
    assert (result.sent, result.failed) == (0, 1) and "OperationalError" in result.error
    status = sync_status(migrated_engine)
    assert (status.pending, status.retrying, status.oldest_pending_key) == (1, 1, "L1")
    assert "OperationalError" in status.last_error


@pytest.mark.postgres
def test_a_poison_message_does_not_hold_the_others(
    migrated_engine: Engine, ioc_db_url: str
) -> None:
    # The IOC is PostgreSQL here (marker): it enforces the status column's length.
    ioc_engine = ioc.make_ioc_engine(ioc_db_url)
    with unit_of_work(session_factory(migrated_engine)) as s:
        emit(s, "case", "ok-1", 1, {}, T0)
        emit(s, "case", "bad", 1, {"status": "x" * 40}, T0)  # too long for IOC status: DataError
        emit(s, "case", "ok-2", 1, {}, T0)
    result = OutboxRelay(migrated_engine, ioc_engine).run_once()
    assert (result.sent, result.failed) == (2, 1)
    assert sync_status(migrated_engine).oldest_pending_key == "bad"
    ioc_engine.dispose()


@pytest.mark.postgres
@pytest.mark.slow
def test_ioc_outage_under_a_stream_of_records_loses_and_duplicates_nothing(
    migrated_engine: Engine, private_postgres: PrivatePostgres
) -> None:
    ioc_engine = ioc.make_ioc_engine(private_postgres.url)
    relay = OutboxRelay(
        migrated_engine,
        ioc_engine,
        batch_size=50,
        base_backoff=timedelta(milliseconds=50),
        max_backoff=timedelta(milliseconds=400),
    )
    stop_relay = threading.Event()
    relay_thread = threading.Thread(target=relay.run_forever, args=(stop_relay, 0.05))
    relay_thread.start()

    recorder = SqlCallRecorder(migrated_engine)
    written = {"n": 0}
    stop_writing = threading.Event()

    def writer() -> None:
        i = 0
        while not stop_writing.is_set():
            at = datetime.now(UTC)
            _call(recorder, f"s.{i}", at)
            if i % 3 == 0:
                _case(migrated_engine, at)
            i += 1
            written["n"] = i
            time.sleep(0.01)

    writer_thread = threading.Thread(target=writer)
    writer_thread.start()
    try:
        time.sleep(1.0)
        private_postgres.stop()  # the IOC goes down mid-stream
        during = written["n"]
        time.sleep(1.5)
        backlog = sync_status(migrated_engine)
        assert written["n"] > during + 3  # calls and cases go on being taken
        assert backlog.pending > 0 and backlog.retrying > 0 and backlog.oldest_pending_at
        private_postgres.start()  # and comes back
        time.sleep(0.5)
    finally:
        stop_writing.set()
        writer_thread.join()
    deadline = time.monotonic() + 30
    while sync_status(migrated_engine).pending and time.monotonic() < deadline:
        time.sleep(0.1)
    stop_relay.set()
    relay_thread.join()
    assert sync_status(migrated_engine).pending == 0
    _ioc_matches_local(migrated_engine, ioc_engine)
    with session_factory(migrated_engine)() as s:
        assert s.scalar(select(func.count()).select_from(CallRecord)) == written["n"]
    ioc_engine.dispose()


def test_upgrade_then_relay_from_a_plain_url(tmp_path: Path) -> None:
    local = make_engine(f"sqlite:///{tmp_path}/l.db")
    upgrade(local)
    _call(SqlCallRecorder(local), "u.1", T0)
    ioc_engine = ioc.make_ioc_engine(f"sqlite:///{tmp_path}/i.db")
    assert OutboxRelay(local, ioc_engine).drain() == 2
    _ioc_matches_local(local, ioc_engine)
    local.dispose()
    ioc_engine.dispose()
