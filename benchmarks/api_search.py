"""Latency of the REST API's call-log search and case list, on SQLite and PostgreSQL, with and
without the indexes the queries rely on.

  .venv/bin/python benchmarks/api_search.py                    # 100k calls + 100k cases, both
  .venv/bin/python benchmarks/api_search.py --calls 20000 --cases 20000 --backends sqlite
  .venv/bin/python benchmarks/api_search.py --repeat 100 --no-drop

What it measures: p50/p95 of whole HTTP requests (routing, token check + user load, the
filtered COUNT and page query, masking, JSON) through `create_app()` in-process with httpx,
as a supervisor (sees everything) and as an agent (own cases only), for:

  calls: caller+90d   one caller's calls (exact number), page of 50
  calls: outcome      abandoned calls in a 7-day window
  calls: intent       one intent, 30-day window
  calls: page 1       no filter, newest 50
  calls: deep page    no filter, offset 10,000
  cases: status       status=in_progress, page of 50
  cases: category     category=traffic, page 1
  cases: agent own    an agent's own cases (visibility filter)
  cases: overdue      open cases past their due time (half the seeded cases)
  cases: overdue, few the same once all but ~1 in 2,000 of them are resolved (a hotline that
                      keeps up: a few stragglers, old, scattered); statuses restored after

Then the composite indexes (caller/outcome/intent + started_at; status/category/handler +
created_at; status + due_at + created_at) are dropped and everything is measured again.
Case lists count up to 10,001 (the API's capped count), call searches exactly.

Needs: PostgreSQL on 127.0.0.1:5432 (role hotline / hotline-dev, database hotline_test;
scripts/postgres-up.sh) for the postgres backend: a fresh schema is used and dropped.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.progress import Progress
from rich.table import Table
from sqlalchemy import Engine, bindparam, create_engine, insert, select, text, update
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from api.app import create_app
from cases.config import CONFIG_FILE, load_config
from cases.db import make_engine, upgrade
from cases.domain import CaseStatus, Category, Channel, Role, damm_digit
from cases.models import CallRecord, Case, User
from cases.users import hash_password
from hotline.settings import REPO_ROOT, Settings

PG = "postgresql+psycopg://hotline:hotline-dev@127.0.0.1:5432/hotline_test"
NOW = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)
INTENTS = ["dossier_lookup", "complaint", "complaint_status", "agent", ""]
OUTCOMES = ["completed", "completed", "completed", "abandoned", "transferred", "error"]
AGENTS = [f"agent{i}" for i in range(50)]
PASSWORD = "benchmark-password"
INDEXES = {
    "ix_call_records_caller_started": ("call_records", "caller, started_at"),
    "ix_call_records_outcome_started": ("call_records", "outcome, started_at"),
    "ix_call_records_intent_started": ("call_records", "intent, started_at"),
    "ix_cases_status_created": ("cases", "status, created_at"),
    "ix_cases_category_created": ("cases", "category, created_at"),
    "ix_cases_handler_created": ("cases", "handled_by, created_at"),
    "ix_cases_status_due_created": ("cases", "status, due_at, created_at"),
}


@contextmanager
def database(backend: str) -> Iterator[str]:
    if backend == "sqlite":
        with tempfile.TemporaryDirectory() as tmp:
            yield f"sqlite:///{tmp}/bench.db"
        return
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        url = make_url(PG).update_query_dict({"options": f"-csearch_path={schema}"})
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def seed(engine: Engine, n_calls: int, n_cases: int, progress: Progress) -> list[str]:
    rng = random.Random(9120)
    callers = [f"09{rng.randrange(10**8):08d}" for _ in range(max(1, n_calls // 5))]
    batch = 5000
    with engine.begin() as conn:
        conn.execute(
            insert(User),
            [
                {
                    "username": name,
                    "display_name": name,
                    "role": role,
                    "password_hash": hash_password(PASSWORD, n=2**8),
                    "unit": None,
                    "active": True,
                    "created_at": NOW,
                }
                for name, role in [("super", Role.SUPERVISOR)] + [(a, Role.AGENT) for a in AGENTS]
            ],
        )
    task = progress.add_task("seeding calls", total=n_calls)
    uniqueids: list[str] = []
    for start in range(0, n_calls, batch):
        rows: list[dict[str, Any]] = []
        for i in range(start, min(n_calls, start + batch)):
            at = NOW - timedelta(seconds=rng.randrange(90 * 86400))
            uid = f"{1700000000 + i}.{i}"
            uniqueids.append(uid)
            outcome = rng.choice(OUTCOMES)
            rows.append(
                {
                    "uniqueid": uid,
                    "linkedid": uid,
                    "channel": f"PJSIP/trunk-{i:08x}",
                    "caller": rng.choice(callers),
                    "dialed": "19009120",
                    "started_at": at,
                    "answered_at": at,
                    "ended_at": at + timedelta(seconds=rng.randrange(20, 400)),
                    "outcome": outcome,
                    "cause": "16 Normal Clearing",
                    "last_node": "main",
                    "intent": rng.choice(INTENTS),
                    "step_count": 6,
                    "version": 2,
                }
            )
        with engine.begin() as conn:
            conn.execute(insert(CallRecord), rows)
        progress.update(task, advance=len(rows))
    task = progress.add_task("seeding cases", total=n_cases)
    statuses = list(CaseStatus)
    for start in range(0, n_cases, batch):
        rows = []
        for i in range(start, min(n_cases, start + batch)):
            body = str(1000000 + i)
            at = NOW - timedelta(seconds=rng.randrange(180 * 86400))
            category = rng.choice(list(Category))
            rows.append(
                {
                    "reference": body + str(damm_digit(body)),
                    "category": category,
                    "status": rng.choice(statuses),
                    "channel": Channel.PHONE,
                    "province_code": 96,
                    "ward_code": 31825,
                    "place": "Phường Bạc Liêu, Cà Mau",
                    "address": "",
                    "latitude": None,
                    "longitude": None,
                    "description": "Phản ánh số " + body,
                    "transcript": "",
                    "audio_ref": "",
                    "caller": rng.choice(callers),
                    "call_uniqueid": rng.choice(uniqueids) if uniqueids else None,
                    "created_at": at,
                    "updated_at": at,
                    "due_at": at + timedelta(hours=rng.choice((24, 48, 120, 240))),
                    "created_by": "ivr",
                    "handled_by": rng.choice(AGENTS),
                    "assigned_unit": None,
                    "duplicate_of": None,
                    "version": 1,
                }
            )
        with engine.begin() as conn:
            conn.execute(insert(Case), rows)
        progress.update(task, advance=len(rows))
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(text("ANALYZE"))
    else:
        with engine.begin() as conn:
            conn.execute(text("ANALYZE"))
    return callers


def queries(callers: list[str]) -> list[tuple[str, str, str, dict[str, Any]]]:
    def iso(days: int) -> str:
        return (NOW - timedelta(days=days)).isoformat()

    return [
        ("calls: caller+90d", "super", "/api/v1/calls",
         {"caller": callers[7], "started_from": iso(90)}),
        ("calls: outcome 7d", "super", "/api/v1/calls",
         {"outcome": "abandoned", "started_from": iso(14), "started_to": iso(7)}),
        ("calls: intent 30d", "super", "/api/v1/calls",
         {"intent": "complaint_status", "started_from": iso(30)}),
        ("calls: page 1", "super", "/api/v1/calls", {}),
        ("calls: deep page", "super", "/api/v1/calls", {"offset": 10000}),
        ("calls: agent own", "agent3", "/api/v1/calls", {}),
        ("cases: status", "super", "/api/v1/cases", {"status": "in_progress"}),
        ("cases: category", "super", "/api/v1/cases", {"category": "traffic"}),
        ("cases: agent own", "agent3", "/api/v1/cases", {}),
        ("cases: overdue", "super", "/api/v1/cases", {"overdue": "true"}),
    ]  # fmt: skip


OPEN = [CaseStatus.RECEIVED, CaseStatus.CLASSIFIED, CaseStatus.ASSIGNED, CaseStatus.IN_PROGRESS]
FEW_OVERDUE = "cases: overdue, few"


@contextmanager
def few_overdue(engine: Engine) -> Iterator[None]:
    """Resolve every overdue case but those with id % 2000 == 0, then put the statuses back."""
    with engine.begin() as conn:
        changed = conn.execute(
            select(Case.id, Case.status).where(
                Case.status.in_(OPEN), Case.due_at < NOW, Case.id % 2000 != 0
            )
        ).all()
        conn.execute(
            update(Case).where(Case.id.in_([r.id for r in changed])).values(status="resolved")
        )
        conn.execute(text("ANALYZE"))
    try:
        yield
    finally:
        restore = (
            update(Case.__table__)  # type: ignore[arg-type]
            .where(Case.__table__.c.id == bindparam("b_id"))
            .values(status=bindparam("b_status"))
        )
        with engine.begin() as conn:
            conn.execute(restore, [{"b_id": r.id, "b_status": r.status} for r in changed])
            conn.execute(text("ANALYZE"))


async def measure(
    app: Any, callers: list[str], repeat: int, progress: Progress, label: str
) -> dict[str, tuple[float, float, int]]:
    out = await _measure(app, queries(callers), repeat, progress, label)
    with few_overdue(app.state.engine):
        overdue = [q for q in queries(callers) if q[0] == "cases: overdue"]
        few = await _measure(app, overdue, repeat, progress, label + ", few overdue")
    out[FEW_OVERDUE] = few["cases: overdue"]
    return out


async def _measure(
    app: Any,
    qs: list[tuple[str, str, str, dict[str, Any]]],
    repeat: int,
    progress: Progress,
    label: str,
) -> dict[str, tuple[float, float, int]]:
    transport = httpx.ASGITransport(app=app)
    out: dict[str, tuple[float, float, int]] = {}
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
        tokens = {}
        for who in ("super", "agent3"):
            r = await client.post(
                "/api/v1/auth/token", json={"username": who, "password": PASSWORD}
            )
            tokens[who] = {"Authorization": f"Bearer {r.json()['access_token']}"}
        task = progress.add_task(label, total=len(qs) * repeat)
        for name, who, url, params in qs:
            times = []
            count = 0
            for _ in range(repeat):
                t0 = time.perf_counter()
                r = await client.get(url, params=params, headers=tokens[who])
                times.append((time.perf_counter() - t0) * 1000)
                assert r.status_code == 200, r.text
                count = r.json()["count"]
                progress.update(task, advance=1)
            times.sort()
            p95 = times[min(len(times) - 1, int(len(times) * 0.95))]
            out[name] = (statistics.median(times), p95, count)
    return out


def drop_indexes(engine: Engine) -> None:
    with engine.begin() as conn:
        for name in INDEXES:
            conn.execute(text(f"DROP INDEX IF EXISTS {name}"))
        conn.execute(text("ANALYZE"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--calls", type=int, default=100_000, help="call records to seed")
    parser.add_argument("--cases", type=int, default=100_000, help="cases to seed")
    parser.add_argument("--repeat", type=int, default=50, help="requests per query")
    parser.add_argument(
        "--backends", nargs="+", default=["sqlite", "postgres"], choices=["sqlite", "postgres"]
    )
    parser.add_argument("--no-drop", action="store_true", help="skip the run without indexes")
    args = parser.parse_args(argv)
    console = Console(width=150)
    config = load_config(REPO_ROOT / "dialplans" / CONFIG_FILE)
    results: dict[str, dict[str, tuple[float, float, int]]] = {}
    for backend in args.backends:
        with database(backend) as url:
            engine = make_engine(url)
            upgrade(engine)
            settings = Settings(env="test", api_secret="benchmark-secret-0123456789")
            app = create_app(settings, engine=engine, cases_config=config, clock=lambda: NOW)
            with Progress(console=console, transient=True) as progress:
                callers = seed(engine, args.calls, args.cases, progress)
                results[f"{backend}"] = asyncio.run(
                    measure(app, callers, args.repeat, progress, f"{backend} indexed")
                )
                if not args.no_drop:
                    drop_indexes(engine)
                    results[f"{backend} no-idx"] = asyncio.run(
                        measure(app, callers, args.repeat, progress, f"{backend} no indexes")
                    )
            engine.dispose()
    table = Table(
        title=f"API search latency, ms (p50 / p95), {args.calls:,} calls + {args.cases:,} cases, "
        f"{args.repeat} requests each"
    )
    table.add_column("query")
    table.add_column("matches", justify="right")
    for column in results:
        table.add_column(column, justify="right")
    first = next(iter(results.values()))
    for name in first:
        table.add_row(
            name,
            f"{first[name][2]:,}",
            *(f"{r[name][0]:.1f} / {r[name][1]:.1f}" for r in results.values()),
        )
    console.print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
