"""E-service dossiers (hồ sơ dịch vụ công): import a directory file, or look a code up.

  hotline dossiers import data/dossiers-sample.csv     CSV or JSON; prints rejected rows and why
  hotline dossiers lookup 000.00.12.H12-240915-0001    any form a caller gives: printed,
  hotline dossiers lookup 0000012122409150001           keypad digits, spoken digits

CSV columns: code, procedure, received_on, due_on, status (required); agency, applicant, phone,
finished_on, current_step (optional). Dates YYYY-MM-DD or DD/MM/YYYY; status in English
(processing...) or Vietnamese (đang xử lý...). The applicant's name is kept as family name +
initials and the phone as its last three digits. The accepted code format is the
`dossier_code.template` of dialplans/province.yaml.
Lookup uses HOTLINE_DOSSIER_SOURCE: "sql" (our table) or "http" (the provincial one-stop
system at HOTLINE_DOSSIER_HTTP_URL with HOTLINE_DOSSIER_HTTP_TOKEN).
"""

from __future__ import annotations

import argparse
import logging
from datetime import date
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table
from sqlalchemy import Engine

from cases.config import CONFIG_FILE, load_config
from cases.db import make_engine
from cases.dossiers import (
    DossierCodeFormat,
    DossierDirectory,
    HttpDossierDirectory,
    SqlDossierDirectory,
    import_dossiers,
    lookup_dossier,
)
from cases.errors import CasesError, DossierNotFoundError, InvalidDossierCodeError
from hotline.errors import HotlineError
from hotline.settings import Settings

HELP = "import dossiers from CSV/JSON, or look one up by code"


def register(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="dossiers_command", metavar="ACTION", required=True)
    imp = sub.add_parser("import", help="import a .csv or .json file")
    imp.add_argument("file", type=Path)
    look = sub.add_parser("lookup", help="look a dossier up by code")
    look.add_argument("code", help="printed form, keypad digits or spoken digits")


def run(args: argparse.Namespace, settings: Settings) -> int:
    console = Console()
    logging.getLogger("alembic").setLevel(logging.WARNING)  # its INFO lines are noise here
    config = load_config(settings.dialplans_dir / CONFIG_FILE)
    fmt = DossierCodeFormat(config.dossier_template)
    engine = make_engine(settings.db_url)
    try:
        if args.dossiers_command == "import":
            return _import(console, engine, args.file, fmt)
        return _lookup(console, engine, settings, fmt, args.code)
    except (InvalidDossierCodeError, DossierNotFoundError) as exc:
        console.print(f"[red]{exc}[/red]")
        return 1
    except CasesError as exc:
        raise HotlineError(str(exc)) from exc
    finally:
        engine.dispose()


def _import(console: Console, engine: Engine, path: Path, fmt: DossierCodeFormat) -> int:
    with Progress(
        TextColumn("checking rows"), BarColumn(), MofNCompleteColumn(), console=console
    ) as progress:
        task = progress.add_task("import", total=None)

        def tick(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        report = import_dossiers(engine, path, fmt, progress=tick)
    console.print(
        f"{path}: {report.total} rows, {report.inserted} new, {report.updated} updated, "
        f"{len(report.rejected)} rejected",
        soft_wrap=True,
    )
    if report.rejected:
        table = Table("line", "code", "why rejected", title="Rejected rows")
        for r in report.rejected:
            table.add_row(str(r.line), r.code, r.reason)
        console.print(table)
    return 0 if report.accepted or not report.total else 1


def _lookup(
    console: Console, engine: Engine, settings: Settings, fmt: DossierCodeFormat, code: str
) -> int:
    directory: DossierDirectory
    if settings.dossier_source == "http":
        directory = HttpDossierDirectory(settings.dossier_http_url, settings.dossier_http_token)
    else:
        directory = SqlDossierDirectory(engine)
    info = lookup_dossier(directory, fmt, code)
    today = date.today()
    console.print(f"[bold]{info.code}[/bold]  {info.procedure}")
    console.print(f"  agency        {info.agency}")
    console.print(f"  applicant     {info.applicant}  (phone …{info.phone_tail})")
    console.print(f"  received      {info.received_on}   appointment {info.due_on}")
    console.print(f"  status        {info.status.value}: {info.current_step}")
    if info.is_overdue(today):
        console.print(f"  [red]overdue by {info.days_overdue(today)} day(s)[/red]")
    return 0
