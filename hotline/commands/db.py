"""Migrate and inspect the hotline's own database (call records, cases, dossiers, users).

  hotline db upgrade     apply every Alembic migration up to head (idempotent)
  hotline db status      where the database is, its revision, and how many rows it holds

The database is HOTLINE_DATABASE_URL (default: SQLite at ./var/hotline.db, WAL mode); for the
server path use e.g. postgresql+psycopg://hotline:SECRET@127.0.0.1:5432/hotline.
Needs: nothing else for SQLite; a reachable PostgreSQL for a postgresql URL.
"""

from __future__ import annotations

import argparse
import logging

from rich.console import Console
from rich.table import Table
from sqlalchemy import Engine, func, select

from cases.db import current_revision, describe_url, head_revision, make_engine, upgrade
from cases.errors import CasesError
from cases.models import AuditEntry, CallRecord, Case, Dossier, OutboxMessage, User
from hotline.errors import HotlineError
from hotline.settings import Settings

HELP = "migrate (upgrade) or inspect (status) the case database"


def register(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="db_command", metavar="ACTION", required=True)
    sub.add_parser("upgrade", help="apply migrations up to head (idempotent)")
    sub.add_parser("status", help="URL, revision, row counts")


def run(args: argparse.Namespace, settings: Settings) -> int:
    console = Console()
    logging.getLogger("alembic").setLevel(logging.WARNING)  # its INFO lines are noise here
    url = settings.db_url
    engine = make_engine(url)
    try:
        if args.db_command == "upgrade":
            before = current_revision(engine)
            after = upgrade(engine)
            if before == after:
                console.print(f"{describe_url(url)}: already at {after} (head)")
            else:
                console.print(f"{describe_url(url)}: {before or 'empty'} -> {after}")
            return 0
        return _status(console, engine, url)
    except CasesError as exc:
        raise HotlineError(str(exc)) from exc
    finally:
        engine.dispose()


def _status(console: Console, engine: Engine, url: str) -> int:
    revision = current_revision(engine)
    head = head_revision()
    console.print(f"database  {describe_url(url)}")
    console.print(f"revision  {revision or 'none (run: hotline db upgrade)'}   head {head}")
    if revision is None:
        return 1
    table = Table("table", "rows")
    with engine.connect() as conn:
        for name, model in (
            ("call records", CallRecord),
            ("cases", Case),
            ("dossiers", Dossier),
            ("users", User),
            ("audit entries", AuditEntry),
        ):
            table.add_row(name, str(conn.scalar(select(func.count()).select_from(model))))
        pending = conn.scalar(
            select(func.count()).select_from(OutboxMessage).where(OutboxMessage.sent_at.is_(None))
        )
        table.add_row("outbox pending", str(pending))
    console.print(table)
    return 0 if revision == head else 1
