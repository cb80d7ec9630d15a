"""Migration 0002 (index ``cases (status, due_at, created_at)``) on SQLite and PostgreSQL: up
and down keep the rows; the overdue list is the same with and without the index, paged
match-first or newest-first; and on SQLite the statements `list_cases` runs for it read the
index alone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, event, func, insert, inspect, select

from cases import services
from cases.db import MIGRATIONS, current_revision, make_engine, session_factory, upgrade
from cases.domain import CaseStatus, Category, Channel, damm_digit
from cases.models import Case
from cases.services import CaseFilter

NOW = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)
INDEX = "ix_cases_status_due_created"
DONE = {CaseStatus.RESOLVED, CaseStatus.CLOSED, CaseStatus.REJECTED, CaseStatus.DUPLICATE}
# due two hours ago (overdue if open), exactly now (not yet: strictly past due), in two hours
DUE_OFFSETS = (timedelta(hours=-2), timedelta(0), timedelta(hours=2))


def _downgrade(engine: Engine, revision: str) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, revision)


def _indexes(engine: Engine) -> set[str]:
    return {str(ix["name"]) for ix in inspect(engine).get_indexes("cases")}


def _seed_mix(engine: Engine) -> set[str]:
    """One case per status and due time (24 cases); returns the references that are overdue
    at NOW by the domain's own rule (`Case.is_overdue`)."""
    overdue: set[str] = set()
    with session_factory(engine)() as s:
        n = 0
        for status in CaseStatus:
            for offset in DUE_OFFSETS:
                n += 1
                body = str(2000000 + n)
                created = NOW - timedelta(days=3) + timedelta(minutes=n)
                case = Case(
                    reference=body + str(damm_digit(body)),
                    category=Category.ENVIRONMENT,
                    status=status,
                    channel=Channel.PHONE,
                    province_code=96,
                    created_at=created,
                    updated_at=created,
                    due_at=NOW + offset,
                )
                s.add(case)
                if case.is_overdue(NOW):
                    overdue.add(case.reference)
        s.commit()
    return overdue


def _closed(n: int) -> dict[str, Any]:
    body = str(3000000 + n)
    created = NOW - timedelta(days=30) + timedelta(minutes=n)
    return {
        "reference": body + str(damm_digit(body)),
        "category": Category.TRAFFIC,
        "status": CaseStatus.CLOSED,
        "channel": Channel.PHONE,
        "province_code": 96,
        "created_at": created,
        "updated_at": created,
        "due_at": created + timedelta(hours=24),
    }


def _overdue_list(engine: Engine, **paging: int) -> tuple[list[str], int]:
    with session_factory(engine)() as s:
        rows, total = services.list_cases(s, CaseFilter(overdue_at=NOW), **paging)
        return [c.reference for c in rows], total


def test_0002_up_and_down_keeps_the_rows(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        assert upgrade(engine, "0001") == "0001"
        assert INDEX not in _indexes(engine)
        _seed_mix(engine)
        assert upgrade(engine) == "0002"
        assert INDEX in _indexes(engine)
        _downgrade(engine, "0001")
        assert current_revision(engine) == "0001"
        assert INDEX not in _indexes(engine)
        assert "ix_cases_status_created" in _indexes(engine)  # 0001's indexes stay
        assert upgrade(engine) == "0002"
        assert INDEX in _indexes(engine)
        with engine.connect() as conn:
            assert conn.scalar(select(func.count()).select_from(Case)) == 24
    finally:
        engine.dispose()


def test_overdue_list_is_the_same_with_and_without_the_index(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = make_engine(db_url)
    try:
        upgrade(engine, "0001")
        expected = _seed_mix(engine)
        # open (received, classified, assigned, in_progress) and due two hours ago
        assert len(expected) == 4
        without, total_without = _overdue_list(engine)
        upgrade(engine)
        with_index, total_with = _overdue_list(engine)
        assert set(with_index) == expected and total_with == 4
        assert with_index == without and total_without == total_with  # same order, same count
        for first, size in ((0, 2), (1, 2), (3, 5)):  # pages: match-first ...
            page, _ = _overdue_list(engine, offset=first, limit=size)
            assert page == with_index[first : first + size]
        monkeypatch.setattr(services, "MATCH_FIRST_MAX", 3)  # ... and newest-first (4 > 3)
        newest_first, _ = _overdue_list(engine)
        assert newest_first == with_index
        page, _ = _overdue_list(engine, offset=1, limit=2)
        assert page == with_index[1:3]
        newest_first, capped = _overdue_list(engine, limit=2, count_limit=2)
        assert newest_first == with_index[:2] and capped == 3  # "more than 2"
        _, capped = _overdue_list(engine, count_limit=4)
        assert capped == 4  # exact up to the cap
        with session_factory(engine)() as s:
            done = s.scalars(select(Case).where(Case.reference.in_(with_index))).all()
            assert {c.status for c in done}.isdisjoint(DONE)
            assert all(c.due_at < NOW for c in done)
    finally:
        engine.dispose()


def test_sqlite_reads_overdue_cases_from_the_index_alone(tmp_path: Path) -> None:
    """SQLite only: PostgreSQL picks by its statistics (a sequential scan when half the table
    is overdue, docs/benchmarks.md "API search"); its result is checked above. The plans are
    those of the statements `list_cases` sent, with their bound parameters."""
    engine = make_engine(f"sqlite:///{tmp_path}/plan.db")
    sent: list[tuple[str, Any]] = []
    try:
        upgrade(engine)
        _seed_mix(engine)
        with engine.begin() as conn:  # a table worth planning for: 5,000 closed cases more
            conn.execute(insert(Case), [_closed(n) for n in range(5000)])
            conn.exec_driver_sql("ANALYZE")

        @event.listens_for(engine, "before_cursor_execute")
        def _sent(_c: object, _cur: object, statement: str, params: Any, *_: object) -> None:
            if statement.lstrip().startswith(("SELECT", "WITH")):
                sent.append((statement, params))

        _overdue_list(engine, count_limit=100)
        with engine.connect() as conn:
            plans = [
                [str(row[-1]) for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + s, p)]
                for s, p in sent
            ]
    finally:
        engine.dispose()
    search = f"SEARCH cases USING COVERING INDEX {INDEX} (status=? AND due_at<?)"
    count, page = plans
    assert search in count, count
    assert search in page and "MATERIALIZE matches" in page, page
    assert "SEARCH cases USING INTEGER PRIMARY KEY (rowid=?)" in page, page  # 1 row a case
    assert not any("ix_cases_created_at" in line for line in page), page  # no backward walk
