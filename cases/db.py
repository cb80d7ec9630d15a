"""Database engines and migrations: the one place that knows SQLite from PostgreSQL.

- `make_engine(url)`: SQLite gets WAL, foreign keys and a busy timeout; PostgreSQL goes
  through psycopg 3 with pre-ping.
- On SQLite, a plain session's transaction is deferred (a reader never blocks a writer under
  WAL), while `unit_of_work` starts with ``BEGIN IMMEDIATE``: a read-then-write transaction
  then waits for the write lock up front (busy timeout) instead of failing with
  SQLITE_BUSY_SNAPSHOT when the controller's writer thread and the API write at once.
- `upgrade(engine_or_url)`: Alembic to head, configured programmatically from the installed
  package (no ``alembic.ini`` needed); `current_revision()` / `head_revision()` for status.
- `session_factory(engine)` and `unit_of_work(factory)`: one transaction, committed on success,
  rolled back on any error.

Nothing here is module-level state: engines are made by the composition root and passed down.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from cases.errors import DatabaseError

log = logging.getLogger(__name__)

SQLITE_BUSY_TIMEOUT_MS = 10_000
IMMEDIATE_OPTION = "hotline_sqlite_immediate"
MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def _is_sqlite(url: URL) -> bool:
    return url.get_backend_name() == "sqlite"


def make_engine(url: str | URL, *, echo: bool = False, **kwargs: Any) -> Engine:
    """An engine for `url`; a bare ``postgresql://`` URL is routed to psycopg 3.

    SQLite files get their parent directory created.
    """
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    if _is_sqlite(parsed):
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            parsed,
            echo=echo,
            connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000, "check_same_thread": False},
            **kwargs,
        )
        _configure_sqlite(engine)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(parsed, echo=echo, **kwargs)


def _configure_sqlite(engine: Engine) -> None:
    # pysqlite's own transaction handling is turned off so that we can emit BEGIN IMMEDIATE
    # (SQLAlchemy documentation, "Serializable isolation / Savepoints / Transactional DDL").
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA synchronous=NORMAL")  # safe with WAL: a crash loses no commit
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        immediate = conn.get_execution_options().get(IMMEDIATE_OPTION, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions that keep loaded attributes after commit (records are returned to callers)."""
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def unit_of_work(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One write transaction: commit when the block ends normally, roll back on any exception.

    On SQLite it takes the write lock at BEGIN (see the module docstring).
    """
    with factory() as session:
        try:
            session.connection(execution_options={IMMEDIATE_OPTION: True})
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


def _alembic_config(engine: Engine | None = None) -> Any:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if engine is not None:
        url = engine.url.render_as_string(hide_password=False)
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))  # configparser syntax
    return config


def upgrade(engine_or_url: Engine | str | URL, revision: str = "head") -> str:
    """Migrate the database to `revision` (default head); return the revision it is at."""
    from alembic import command

    engine = engine_or_url if isinstance(engine_or_url, Engine) else make_engine(engine_or_url)
    config = _alembic_config(engine)
    try:
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
        return current_revision(engine) or ""
    except OperationalError as exc:
        raise DatabaseError(
            f"cannot migrate {engine.url.render_as_string(hide_password=True)}: {exc.orig}"
        ) from exc
    finally:
        if engine is not engine_or_url:
            engine.dispose()


def current_revision(engine: Engine) -> str | None:
    """The Alembic revision the database is at (None: never migrated)."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str:
    """The newest migration shipped with this package."""
    from alembic.script import ScriptDirectory

    config = _alembic_config()
    head = ScriptDirectory.from_config(config).get_current_head()
    return head or ""


def table_names(engine: Engine) -> list[str]:
    return sorted(inspect(engine).get_table_names())


def describe_url(url: str | URL) -> str:
    """The URL with its password hidden, for logs and status output."""
    return make_url(url).render_as_string(hide_password=True)
