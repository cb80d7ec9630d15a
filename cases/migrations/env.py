"""Alembic environment, configured programmatically by `cases.db.upgrade` (no alembic.ini).

The caller passes an open connection in ``config.attributes["connection"]``; with none, the
``sqlalchemy.url`` main option is used (e.g. when running the ``alembic`` CLI by hand).
SQLite gets batch mode, so that later ALTERs work there too.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from cases.db import make_engine
from cases.models import Base

config = context.config
target_metadata = Base.metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = make_engine(config.get_main_option("sqlalchemy.url") or "")
    try:
        with engine.begin() as conn:
            _run(conn)
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline (--sql) migrations are not supported; run `hotline db upgrade`")
run_migrations_online()
