"""The IOC case database as we write into it: one table per topic, one row per record, keyed
by its idempotency key (a call's Linkedid, a case's reference number) with the version of the
snapshot it holds. Writing is an upsert that only ever moves a row forward in version, so a
replayed or late message is a no-op: exactly once in effect.

The IOC database has its own URL (PostgreSQL in production) and its own schema, created here
with ``create_all`` (it is a target we feed, not our store; our store has the migrations).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    Connection,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite

from cases.db import make_engine
from cases.outbox import TOPIC_CALL, TOPIC_CASE
from cases.types import UtcDateTime

IOC_CONNECT_TIMEOUT_S = 5

ioc_metadata = MetaData()


def _table(name: str, *extra: Column[Any]) -> Table:
    return Table(
        name,
        ioc_metadata,
        Column("key", String(64), primary_key=True),
        Column("version", Integer, nullable=False),
        Column("payload", JSON, nullable=False),
        *extra,
        Column("first_received_at", UtcDateTime(), nullable=False),
        Column("updated_at", UtcDateTime(), nullable=False),
    )


ioc_calls = _table(
    "ioc_calls",
    Column("started_at", String(40)),
    Column("outcome", String(16)),
)
ioc_cases = _table(
    "ioc_cases",
    Column("status", String(16)),
    Column("category", String(16)),
)
TABLES = {TOPIC_CALL: ioc_calls, TOPIC_CASE: ioc_cases}


def make_ioc_engine(url: str) -> Engine:
    """An engine for the IOC database that gives up connecting after a few seconds."""
    if url.startswith("sqlite"):
        return make_engine(url)
    return make_engine(url, connect_args={"connect_timeout": IOC_CONNECT_TIMEOUT_S})


def ensure_schema(engine: Engine) -> None:
    ioc_metadata.create_all(engine, checkfirst=True)


def _columns(topic: str, payload: dict[str, Any]) -> dict[str, Any]:
    if topic == TOPIC_CALL:
        return {"started_at": payload.get("started_at"), "outcome": payload.get("outcome")}
    return {"status": payload.get("status"), "category": payload.get("category")}


def apply(
    conn: Connection, topic: str, key: str, version: int, payload: dict[str, Any], now: datetime
) -> None:
    """Upsert one snapshot; a version at or below the stored one changes nothing."""
    table = TABLES[topic]
    values = {
        "key": key,
        "version": version,
        "payload": payload,
        **_columns(topic, payload),
        "first_received_at": now,
        "updated_at": now,
    }
    insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    stmt = insert(table).values(**values)
    update = {c: stmt.excluded[c] for c in values if c not in ("key", "first_received_at")}
    conn.execute(
        stmt.on_conflict_do_update(
            index_elements=[table.c.key],
            set_=update,
            where=table.c.version < stmt.excluded.version,
        )
    )


def fetch(conn: Connection, topic: str, key: str) -> tuple[int, dict[str, Any]] | None:
    """(version, payload) of one record in the IOC, for checks and tests."""
    table = TABLES[topic]
    row = conn.execute(select(table.c.version, table.c.payload).where(table.c.key == key)).first()
    return (row[0], row[1]) if row is not None else None
