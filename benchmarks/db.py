"""Benchmark the case database on SQLite and PostgreSQL: call-record writes, case creation,
outbox relay throughput into the IOC database, and the filtered, paged call-log / case-list
searches over a seeded table.

  .venv/bin/python benchmarks/db.py                       # both backends, default sizes
  .venv/bin/python benchmarks/db.py --backends sqlite --seed-calls 1000000 --seed-cases 200000

What it measures:
  calls/s      whole calls through SqlCallRecorder (start + 5 steps + end = 7 transactions,
               the way the controller writes them), one writer thread
  cases/s      services.create_case in its own unit of work (reference, history, outbox)
  sync rec/s   OutboxRelay.drain() of everything above into an empty IOC database
  search p50/p95  search_calls / list_cases with a filter and a page of 50, over the seeded
               tables (bulk-inserted rows with realistic spread of callers/outcomes/intents),
               counting matches up to 10,001 ("more than 10,000") as a paged UI shows them

Needs: PostgreSQL on 127.0.0.1:5432 with role hotline / hotline-dev and databases
hotline_test, hotline_ioc_test (scripts/postgres-up.sh) for the postgres backend. Each run
uses a fresh schema there (dropped at the end) and a temp dir for SQLite.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from rich.console import Console
from rich.progress import Progress
from rich.table import Table
from sqlalchemy import Engine, create_engine, insert, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cases import services
from cases.calls import CallFilter, SqlCallRecorder, search_calls
from cases.config import load_config
from cases.db import make_engine, session_factory, unit_of_work, upgrade
from cases.domain import CaseStatus, Category, Channel, damm_digit
from cases.ioc import make_ioc_engine
from cases.models import CallRecord, Case
from cases.places import PlaceDirectory
from cases.services import CaseFilter, NewCase
from cases.sync import OutboxRelay
from ivr.ports import CallEnded, CallStarted, CallStep, Outcome, StepKind

PG = "postgresql+psycopg://hotline:hotline-dev@127.0.0.1:5432/"
CONFIG = load_config(Path(__file__).resolve().parent.parent / "dialplans" / "province.yaml")
INTENTS = ["dossier_lookup", "complaint", "complaint_status", "agent", ""]
COUNT_LIMIT = 10_000  # counts stop at 10,001 ("more than 10,000"), as a UI shows them
OUTCOMES = ["completed", "completed", "completed", "abandoned", "transferred", "error"]


@contextmanager
def database(backend: str, name: str, tmp: Path) -> Iterator[str]:
    if backend == "sqlite":
        yield f"sqlite:///{tmp / name}.db"
        return
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    base = PG + ("hotline_ioc_test" if name == "ioc" else "hotline_test")
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield (
            make_url(base)
            .update_query_dict({"options": f"-csearch_path={schema}"})
            .render_as_string(hide_password=False)
        )
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def bench_calls(engine: Engine, n: int) -> float:
    recorder = SqlCallRecorder(engine)
    t0 = datetime.now(UTC)
    started = time.perf_counter()
    for i in range(n):
        uid = f"bench.{i}"
        at = t0 + timedelta(seconds=i)
        recorder.call_started(CallStarted(uid, uid, "PJSIP/b", "0912345678", "19009120", at))
        for node in ("main", "main", "dossier", "dossier", "bye"):
            recorder.step(uid, CallStep(StepKind.DIGITS, at, node=node, digits="1"))
        recorder.call_ended(uid, CallEnded(Outcome.COMPLETED, at + timedelta(seconds=40), "16"))
    return n / (time.perf_counter() - started)


def bench_cases(engine: Engine, n: int) -> float:
    sessions = session_factory(engine)
    places = PlaceDirectory(CONFIG)
    now = datetime.now(UTC)
    started = time.perf_counter()
    for i in range(n):
        with unit_of_work(sessions) as s:
            services.create_case(
                s,
                NewCase(Category.TRAFFIC, f"Đèn tín hiệu hỏng #{i}", ward_code=31825),
                actor="bench",
                config=CONFIG,
                now=now,
                places=places,
            )
    return n / (time.perf_counter() - started)


def bench_sync(engine: Engine, ioc_url: str) -> tuple[int, float]:
    ioc_engine = make_ioc_engine(ioc_url)
    try:
        started = time.perf_counter()
        sent = OutboxRelay(engine, ioc_engine, batch_size=500).drain()
        return sent, sent / (time.perf_counter() - started)
    finally:
        ioc_engine.dispose()


def seed(engine: Engine, calls: int, cases: int, progress: Progress) -> None:
    rng = random.Random(9120)
    callers = [f"09{rng.randrange(10**8):08d}" for _ in range(max(1, calls // 20))]
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    span = 300 * 86400
    chunk = 10_000
    task = progress.add_task("seeding call records", total=calls)
    with engine.begin() as conn:
        for start in range(0, calls, chunk):
            rows = []
            for i in range(start, min(calls, start + chunk)):
                at = t0 + timedelta(seconds=rng.randrange(span))
                rows.append(
                    {
                        "uniqueid": f"seed.{i}",
                        "linkedid": f"seed.{i}",
                        "channel": "PJSIP/seed",
                        "caller": rng.choice(callers),
                        "dialed": "19009120",
                        "started_at": at,
                        "answered_at": at,
                        "ended_at": at + timedelta(seconds=rng.randrange(10, 400)),
                        "outcome": rng.choice(OUTCOMES),
                        "cause": "16",
                        "last_node": "main",
                        "intent": rng.choice(INTENTS),
                        "step_count": 0,
                        "version": 2,
                    }
                )
            conn.execute(insert(CallRecord), rows)
            progress.update(task, advance=len(rows))
    task = progress.add_task("seeding cases", total=cases)
    statuses = list(CaseStatus)
    categories = list(Category)
    with engine.begin() as conn:
        for start in range(0, cases, chunk):
            rows = []
            for i in range(start, min(cases, start + chunk)):
                at = t0 + timedelta(seconds=rng.randrange(span))
                body = f"0{i:06d}"  # real numbers never start with 0: no collision
                rows.append(
                    {
                        "reference": body + str(damm_digit(body)),
                        "category": rng.choice(categories),
                        "status": rng.choice(statuses),
                        "channel": Channel.PHONE,
                        "province_code": 96,
                        "ward_code": 31825,
                        "place": "Phường Bạc Liêu, Cà Mau",
                        "address": "",
                        "description": "seed",
                        "transcript": "",
                        "audio_ref": "",
                        "caller": rng.choice(callers),
                        "created_at": at,
                        "updated_at": at,
                        "due_at": at + timedelta(days=3),
                        "created_by": "seed",
                        "handled_by": f"agent{rng.randrange(20)}",
                        "assigned_unit": f"unit{rng.randrange(30)}",
                        "version": 1,
                    }
                )
            conn.execute(insert(Case), rows)
            progress.update(task, advance=len(rows))
    # PostgreSQL: VACUUM sets the visibility map, so counts can be index-only scans (what
    # autovacuum does for a live table); SQLite: ANALYZE fills sqlite_stat1 for the planner.
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE" if engine.dialect.name == "postgresql" else "ANALYZE"))


def percentiles(fn: Callable[[int], object], runs: int) -> tuple[float, float]:
    times = []
    for i in range(runs):
        started = time.perf_counter()
        fn(i)
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.95) - 1]


def bench_search(engine: Engine, runs: int) -> dict[str, tuple[float, float]]:
    sessions = session_factory(engine)
    rng = random.Random(5)
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    with sessions() as s:
        callers = [r[0] for r in s.execute(text("SELECT caller FROM call_records LIMIT 200"))]
    out: dict[str, tuple[float, float]] = {}

    def window(_: int) -> CallFilter:
        start = t0 + timedelta(days=rng.randrange(290))
        return CallFilter(started_from=start, started_to=start + timedelta(days=7))

    def run(query: Callable[[Session], object]) -> object:
        with sessions() as session:
            return query(session)

    def windowed(outcome: str | None) -> Callable[[int], object]:
        def go(_: int) -> object:
            w = window(0)
            f = CallFilter(started_from=w.started_from, started_to=w.started_to, outcome=outcome)
            return run(lambda s: search_calls(s, f, limit=50, count_limit=COUNT_LIMIT))

        return go

    queries: dict[str, Callable[[int], object]] = {
        "calls: 7-day window": windowed(None),
        "calls: 7-day window + outcome": windowed("abandoned"),
        "calls: by caller": lambda i: run(
            lambda s: search_calls(
                s, CallFilter(caller=rng.choice(callers)), limit=50, count_limit=COUNT_LIMIT
            )
        ),
        "calls: by intent, page 3": lambda i: run(
            lambda s: search_calls(
                s, CallFilter(intent="complaint"), offset=100, limit=50, count_limit=COUNT_LIMIT
            )
        ),
        "cases: by status, page 1": lambda i: run(
            lambda s: services.list_cases(
                s, CaseFilter(status=CaseStatus.IN_PROGRESS), limit=50, count_limit=COUNT_LIMIT
            )
        ),
        "cases: an agent's own": lambda i: run(
            lambda s: services.list_cases(
                s,
                CaseFilter(handled_by=f"agent{rng.randrange(20)}"),
                limit=50,
                count_limit=COUNT_LIMIT,
            )
        ),
    }
    for name, fn in queries.items():
        fn(0)  # warm up
        out[name] = percentiles(fn, runs)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--backends", default="sqlite,postgres", help="comma-separated")
    parser.add_argument("--calls", type=int, default=300, help="whole calls to write (7 tx each)")
    parser.add_argument("--cases", type=int, default=500, help="cases to create")
    parser.add_argument("--seed-calls", type=int, default=200_000, help="rows for the search")
    parser.add_argument("--seed-cases", type=int, default=50_000, help="rows for the case list")
    parser.add_argument("--runs", type=int, default=200, help="queries per search kind")
    args = parser.parse_args(argv)
    console = Console()
    results: dict[str, dict[str, str]] = {}
    searches: dict[str, dict[str, tuple[float, float]]] = {}
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        for backend in args.backends.split(","):
            with database(backend, "hotline", tmp) as url, database(backend, "ioc", tmp) as ioc:
                engine = make_engine(url)
                upgrade(engine)
                calls_s = bench_calls(engine, args.calls)
                cases_s = bench_cases(engine, args.cases)
                sent, sync_s = bench_sync(engine, ioc)
                with Progress(console=console, transient=True) as progress:
                    seed(engine, args.seed_calls, args.seed_cases, progress)
                searches[backend] = bench_search(engine, args.runs)
                engine.dispose()
                results[backend] = {
                    "calls/s (7 tx each)": f"{calls_s:,.0f}",
                    "call-record tx/s": f"{calls_s * 7:,.0f}",
                    "cases/s": f"{cases_s:,.0f}",
                    f"sync rec/s ({sent} rec)": f"{sync_s:,.0f}",
                }
    table = Table("measure", *results)
    for key in next(iter(results.values())):
        label = key
        table.add_row(label, *(results[b].get(key, "") for b in results))
    console.print(table)
    search_table = Table(
        f"search (page of 50; {args.seed_calls:,} calls, {args.seed_cases:,} cases)",
        *(f"{b} p50 / p95 ms" for b in searches),
    )
    for name in next(iter(searches.values())):
        search_table.add_row(
            name, *(f"{searches[b][name][0]:.1f} / {searches[b][name][1]:.1f}" for b in searches)
        )
    console.print(search_table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
