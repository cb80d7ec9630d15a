"""Relay calls and cases from our database into the IOC case database, or show the backlog.

  hotline sync run            relay continuously (every HOTLINE_SYNC_INTERVAL_S seconds)
  hotline sync run --once     send everything due now, then exit
  hotline sync status         backlog, retries, oldest pending record, last error
  hotline sync purge --days 30   delete outbox messages the IOC has had for 30+ days

Records reach the IOC through the transactional outbox: with the IOC database down, calls and
cases are still taken and queued; the relay retries with backoff and the IOC receives each
record exactly once in effect (upserts keyed by Linkedid / case number, guarded by version).
Needs: HOTLINE_DATABASE_URL (ours) and HOTLINE_IOC_DATABASE_URL (the IOC's; PostgreSQL in
production, default SQLite at ./var/ioc.db).
"""

from __future__ import annotations

import argparse
import logging
import signal
import threading
from datetime import UTC, datetime, timedelta
from types import FrameType

from rich.console import Console
from sqlalchemy import Engine

from cases.db import describe_url, make_engine
from cases.ioc import make_ioc_engine
from cases.sync import OutboxRelay, purge_sent, sync_status
from hotline.settings import Settings

HELP = "relay the outbox into the IOC database (run) or show the backlog (status)"


def register(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="sync_command", metavar="ACTION", required=True)
    run_p = sub.add_parser("run", help="relay continuously (Ctrl-C stops)")
    run_p.add_argument("--once", action="store_true", help="send what is due now, then exit")
    run_p.add_argument("--batch", type=int, default=200, help="messages per IOC transaction")
    sub.add_parser("status", help="backlog and oldest pending record")
    purge = sub.add_parser("purge", help="delete messages sent more than --days ago")
    purge.add_argument("--days", type=float, default=30.0, help="default 30")


def run(args: argparse.Namespace, settings: Settings) -> int:
    console = Console()
    logging.getLogger("alembic").setLevel(logging.WARNING)  # its INFO lines are noise here
    local = make_engine(settings.db_url)
    try:
        if args.sync_command == "status":
            return _status(console, local, settings)
        if args.sync_command == "purge":
            gone = purge_sent(local, datetime.now(UTC) - timedelta(days=args.days))
            console.print(f"deleted {gone} sent message(s) older than {args.days:g} days")
            return 0
        ioc_engine = make_ioc_engine(settings.ioc_db_url)
        relay = OutboxRelay(local, ioc_engine, batch_size=args.batch)
        try:
            if args.once:
                sent = relay.drain()
                left = sync_status(local)
                console.print(f"sent {sent}; {left.pending} pending")
                return 0 if left.pending == 0 else 1
            stop = threading.Event()

            def _stop(_signum: int, _frame: FrameType | None) -> None:
                stop.set()

            signal.signal(signal.SIGTERM, _stop)
            signal.signal(signal.SIGINT, _stop)
            console.print(
                f"relaying {describe_url(settings.db_url)} -> {describe_url(settings.ioc_db_url)}"
            )
            relay.run_forever(stop, settings.sync_interval_s)
            return 0
        finally:
            ioc_engine.dispose()
    finally:
        local.dispose()


def _status(console: Console, local: Engine, settings: Settings) -> int:
    status = sync_status(local)
    now = datetime.now(UTC)
    console.print(f"IOC database     {describe_url(settings.ioc_db_url)}")
    console.print(f"pending          {status.pending} ({status.retrying} retrying)")
    console.print(f"sent             {status.sent}")
    if status.oldest_pending_at is not None:
        age = status.oldest_age(now)
        console.print(
            f"oldest pending   {status.oldest_pending_topic} {status.oldest_pending_key} "
            f"queued {status.oldest_pending_at:%Y-%m-%d %H:%M:%S} UTC ({age} ago)"
        )
    if status.last_error:
        console.print(f"last error       {status.last_error.splitlines()[0][:200]}")
    return 0
