"""E-service dossiers (hồ sơ dịch vụ công): code normalisation, the directory interface and
its two implementations (our SQL table, the provincial one-stop system over HTTP), and the
CSV/JSON import.

Strategy for codes: the accepted format is a template from the province file, e.g.
``ddd.dd.dd.Hdd-dddddd-dddd`` (each ``d`` a digit slot, other characters literal). A caller
gives the code on a keypad (digits only: the letters are filled in from the template), as
spoken digits (already turned into a digit string by the speech layer), or printed (any
punctuation and spacing, letters in any case). Whatever does not fit the template is an
`InvalidDossierCodeError` that says why; only a well-formed code can be "not found".

"Overdue" is derived from the appointment date (ngày hẹn trả) and today, never stored.
"""

from __future__ import annotations

import csv
import io
import json
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import quote

import httpx
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from cases.db import session_factory, unit_of_work
from cases.errors import (
    DirectoryUnavailableError,
    DossierNotFoundError,
    ImportFileError,
    InvalidDossierCodeError,
)
from cases.models import DOSSIER_FINISHED, Dossier, DossierStatus

_SEPARATORS = frozenset(" .-_/\t")


class DossierCodeFormat:
    """The accepted dossier-code format (see the module docstring)."""

    def __init__(self, template: str) -> None:
        self.template = template
        self.skeleton = [ch for ch in template if ch.isalnum()]
        self.digit_slots = sum(1 for ch in self.skeleton if ch == "d")
        self.example = "".join(str(i % 10) if ch == "d" else ch for i, ch in enumerate(template))

    def normalise(self, text: str) -> str:
        """The canonical printed form of what a caller gave, or InvalidDossierCodeError."""
        raw = unicodedata.normalize("NFKC", text).strip().upper()
        if not raw:
            raise InvalidDossierCodeError("Dossier code is empty")
        stray = sorted({ch for ch in raw if not ch.isalnum() and ch not in _SEPARATORS})
        if stray:
            raise InvalidDossierCodeError(
                f"Dossier code {text!r} has unexpected characters {''.join(stray)!r}"
            )
        compact = [ch for ch in raw if ch.isalnum()]
        if all(ch.isdigit() for ch in compact):
            if len(compact) != self.digit_slots:
                raise InvalidDossierCodeError(
                    f"Dossier code {''.join(compact)} has {len(compact)} digits, expected "
                    f"{self.digit_slots} (format {self.template})"
                )
            digits = iter(compact)
            return "".join(next(digits) if ch == "d" else ch for ch in self.template)
        if len(compact) != len(self.skeleton):
            raise InvalidDossierCodeError(
                f"Dossier code {text!r} has {len(compact)} letters and digits, expected "
                f"{len(self.skeleton)} (format {self.template}, e.g. {self.example})"
            )
        for pos, (got, want) in enumerate(zip(compact, self.skeleton, strict=True), start=1):
            if want == "d" and not got.isdigit():
                raise InvalidDossierCodeError(
                    f"Dossier code {text!r}: character {pos} is {got!r}, expected a digit"
                )
            if want != "d" and got != want:
                raise InvalidDossierCodeError(
                    f"Dossier code {text!r}: character {pos} is {got!r}, expected {want!r}"
                )
        chars = iter(compact)
        return "".join(next(chars) if ch.isalnum() else ch for ch in self.template)

    def is_valid(self, text: str) -> bool:
        try:
            self.normalise(text)
        except InvalidDossierCodeError:
            return False
        return True


@dataclass(frozen=True, slots=True)
class DossierInfo:
    """A dossier as the directory returns it (no ORM object leaves this module)."""

    code: str
    procedure: str
    received_on: date
    due_on: date  # ngày hẹn trả
    status: DossierStatus
    agency: str = ""
    applicant: str = ""  # minimised: family name + initials
    phone_tail: str = ""  # last three digits of the applicant's phone
    finished_on: date | None = None
    current_step: str = ""

    @property
    def finished(self) -> bool:
        return self.status in DOSSIER_FINISHED

    def is_overdue(self, today: date) -> bool:
        """Late if finished after the appointment date, or still open past it."""
        if self.finished:
            return self.finished_on is not None and self.finished_on > self.due_on
        return today > self.due_on

    def days_overdue(self, today: date) -> int:
        end = self.finished_on if self.finished and self.finished_on else today
        return max(0, (end - self.due_on).days)


class DossierDirectory(Protocol):
    """Looks dossiers up by canonical code; None when the directory does not know it."""

    def lookup(self, code: str) -> DossierInfo | None: ...


def lookup_dossier(directory: DossierDirectory, fmt: DossierCodeFormat, text: str) -> DossierInfo:
    """Normalise what the caller gave and look it up.

    InvalidDossierCodeError (cannot be a code) / DossierNotFoundError (well-formed, unknown) /
    DirectoryUnavailableError (the directory did not answer).
    """
    code = fmt.normalise(text)
    found = directory.lookup(code)
    if found is None:
        raise DossierNotFoundError(f"Dossier {code} is not in the directory")
    return found


def _info(row: Dossier) -> DossierInfo:
    return DossierInfo(
        code=row.code,
        procedure=row.procedure,
        received_on=row.received_on,
        due_on=row.due_on,
        status=row.status,
        agency=row.agency,
        applicant=row.applicant,
        phone_tail=row.phone_tail,
        finished_on=row.finished_on,
        current_step=row.current_step,
    )


class SqlDossierDirectory:
    """The dossier table of our own database (filled by `import_dossiers`)."""

    def __init__(self, engine: Engine) -> None:
        self._sessions = session_factory(engine)

    def lookup(self, code: str) -> DossierInfo | None:
        with self._sessions() as session:
            row = session.scalars(select(Dossier).where(Dossier.code == code)).one_or_none()
            return _info(row) if row is not None else None


class HttpDossierDirectory:
    """The provincial one-stop system (hệ thống một cửa điện tử) over HTTP.

    ``GET {base_url}/dossiers/{code}`` with ``Authorization: Bearer {token}``: 200 and a JSON
    object with the `DossierInfo` fields (dates ISO 8601), or 404. Anything else, a timeout or
    a refused connection is a DirectoryUnavailableError (never "not found").
    """

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        timeout_s: float = 5.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        if not base_url:
            raise DirectoryUnavailableError(
                "Dossier HTTP directory has no base URL (set HOTLINE_DOSSIER_HTTP_URL)"
            )
        self._base = base_url.rstrip("/")
        self._client = httpx.Client(
            headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
            timeout=timeout_s,
            transport=transport,
        )

    def close(self) -> None:
        self._client.close()

    def lookup(self, code: str) -> DossierInfo | None:
        url = f"{self._base}/dossiers/{quote(code, safe='')}"
        try:
            response = self._client.get(url)
        except httpx.HTTPError as exc:
            raise DirectoryUnavailableError(
                f"Dossier directory {self._base} did not answer for {code}: {exc!r}"
            ) from exc
        if response.status_code == 404:
            return None
        if response.status_code in (401, 403):
            raise DirectoryUnavailableError(
                f"Dossier directory {self._base} refused our credentials "
                f"(HTTP {response.status_code})"
            )
        if response.status_code != 200:
            raise DirectoryUnavailableError(
                f"Dossier directory {self._base} answered HTTP {response.status_code} for {code}"
            )
        try:
            return info_from_mapping(response.json())
        except (ValueError, KeyError, TypeError) as exc:
            raise DirectoryUnavailableError(
                f"Dossier directory {self._base} sent an unreadable record for {code}: {exc}"
            ) from exc


def info_from_mapping(data: Mapping[str, Any]) -> DossierInfo:
    finished = data.get("finished_on")
    return DossierInfo(
        code=str(data["code"]),
        procedure=str(data["procedure"]),
        received_on=date.fromisoformat(str(data["received_on"])),
        due_on=date.fromisoformat(str(data["due_on"])),
        status=DossierStatus(str(data["status"])),
        agency=str(data.get("agency") or ""),
        applicant=str(data.get("applicant") or ""),
        phone_tail=str(data.get("phone_tail") or ""),
        finished_on=date.fromisoformat(str(finished)) if finished else None,
        current_step=str(data.get("current_step") or ""),
    )


def info_to_mapping(info: DossierInfo) -> dict[str, Any]:
    return {
        "code": info.code,
        "procedure": info.procedure,
        "agency": info.agency,
        "applicant": info.applicant,
        "phone_tail": info.phone_tail,
        "received_on": info.received_on.isoformat(),
        "due_on": info.due_on.isoformat(),
        "finished_on": info.finished_on.isoformat() if info.finished_on else None,
        "status": info.status.value,
        "current_step": info.current_step,
    }


# --- import ----------------------------------------------------------------------------------
REQUIRED_COLUMNS = ("code", "procedure", "received_on", "due_on", "status")
STATUS_ALIASES = {
    "đã tiếp nhận": DossierStatus.RECEIVED,
    "đang xử lý": DossierStatus.PROCESSING,
    "yêu cầu bổ sung": DossierStatus.SUPPLEMENT,
    "đã có kết quả": DossierStatus.DONE,
    "đã trả kết quả": DossierStatus.RETURNED,
    "từ chối": DossierStatus.REFUSED,
    "rút hồ sơ": DossierStatus.WITHDRAWN,
}
BATCH = 500


@dataclass(frozen=True, slots=True)
class RejectedRow:
    line: int  # 1-based line in a CSV (header = 1), item number in JSON
    code: str
    reason: str


@dataclass(slots=True)
class ImportReport:
    total: int = 0
    inserted: int = 0
    updated: int = 0
    rejected: list[RejectedRow] = field(default_factory=list)

    @property
    def accepted(self) -> int:
        return self.inserted + self.updated


def minimise_name(name: str) -> str:
    """``Nguyễn Văn An`` -> ``Nguyễn V. A.``: enough to confirm, little to leak."""
    parts = unicodedata.normalize("NFC", name).split()
    if not parts:
        return ""
    return " ".join([parts[0], *(p[0] + "." for p in parts[1:])])


def _parse_date(value: Any, name: str) -> date:
    text = str(value or "").strip()
    if not text:
        raise ValueError(f"{name} is empty")
    for fmt in ("%Y-%m-%d", "%d/%m/%Y"):
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise ValueError(f"{name} {text!r} is not a date (YYYY-MM-DD or DD/MM/YYYY)")


def _parse_status(value: Any) -> DossierStatus:
    text = unicodedata.normalize("NFC", str(value or "")).strip().lower()
    if text in STATUS_ALIASES:
        return STATUS_ALIASES[text]
    try:
        return DossierStatus(text)
    except ValueError:
        known = ", ".join(s.value for s in DossierStatus)
        raise ValueError(f"status {value!r} is unknown (known: {known})") from None


def row_to_info(row: Mapping[str, Any], fmt: DossierCodeFormat) -> DossierInfo:
    """Validate one input row; ValueError / InvalidDossierCodeError say what is wrong."""
    code = fmt.normalise(str(row.get("code") or ""))
    procedure = unicodedata.normalize("NFC", str(row.get("procedure") or "")).strip()
    if not procedure:
        raise ValueError("procedure is empty")
    if len(procedure) > 300:
        raise ValueError("procedure is longer than 300 characters")
    received = _parse_date(row.get("received_on"), "received_on")
    due = _parse_date(row.get("due_on"), "due_on")
    if due < received:
        raise ValueError(f"due_on {due} is before received_on {received}")
    finished = (
        _parse_date(row.get("finished_on"), "finished_on")
        if str(row.get("finished_on") or "").strip()
        else None
    )
    status = _parse_status(row.get("status"))
    if status in DOSSIER_FINISHED and finished is None and status is not DossierStatus.WITHDRAWN:
        raise ValueError(f"status {status.value} needs finished_on")
    phone = "".join(
        ch for ch in str(row.get("phone") or row.get("phone_tail") or "") if ch.isdigit()
    )
    return DossierInfo(
        code=code,
        procedure=procedure,
        received_on=received,
        due_on=due,
        status=status,
        agency=str(row.get("agency") or "").strip()[:200],
        applicant=minimise_name(str(row.get("applicant") or ""))[:80],
        phone_tail=phone[-3:],
        finished_on=finished,
        current_step=str(row.get("current_step") or "").strip()[:200],
    )


def read_rows(path: Path) -> tuple[list[tuple[int, dict[str, Any]]], int]:
    """Rows of a .csv or .json file with their line/item numbers, and their count."""
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".json"):
        raise ImportFileError(
            f"Dossier file {path} must be .csv or .json, not {suffix or 'no suffix'}"
        )
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ImportFileError(f"Dossier file {path} cannot be read as UTF-8: {exc}") from exc
    if suffix == ".csv":
        reader = csv.DictReader(io.StringIO(text))
        missing = [c for c in REQUIRED_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise ImportFileError(
                f"Dossier file {path} lacks column(s) {', '.join(missing)} "
                f"(needs {', '.join(REQUIRED_COLUMNS)})"
            )
        rows = [(reader.line_num, dict(r)) for r in reader]
        return rows, len(rows)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ImportFileError(f"Dossier file {path} is not valid JSON: {exc}") from exc
    items = data.get("dossiers") if isinstance(data, dict) else data
    if not isinstance(items, list):
        raise ImportFileError(
            f"Dossier file {path} must hold a list of objects (or {{'dossiers': [...]}})"
        )
    rows = [(i, item if isinstance(item, dict) else {}) for i, item in enumerate(items, 1)]
    return rows, len(rows)


def _chunks(rows: list[DossierInfo], size: int) -> Iterator[list[DossierInfo]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


def upsert(session: Session, infos: Iterable[DossierInfo], now: datetime) -> tuple[int, int]:
    """Insert new codes, update known ones; (inserted, updated)."""
    inserted = updated = 0
    for chunk in _chunks(list(infos), BATCH):
        existing = {
            d.code: d
            for d in session.scalars(
                select(Dossier).where(Dossier.code.in_([i.code for i in chunk]))
            )
        }
        for info in chunk:
            row = existing.get(info.code)
            if row is None:
                row = Dossier(code=info.code)
                session.add(row)
                inserted += 1
            else:
                updated += 1
            row.procedure = info.procedure
            row.agency = info.agency
            row.applicant = info.applicant
            row.phone_tail = info.phone_tail
            row.received_on = info.received_on
            row.due_on = info.due_on
            row.finished_on = info.finished_on
            row.status = info.status
            row.current_step = info.current_step
            row.updated_at = now
        session.flush()
    return inserted, updated


def import_dossiers(
    engine: Engine,
    path: Path,
    fmt: DossierCodeFormat,
    *,
    now: datetime | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> ImportReport:
    """Import a CSV/JSON file into the dossier table, all valid rows in one transaction.

    Invalid rows are skipped and reported with their line and why; a code that appears twice
    keeps its first row (the second is reported). `progress(done, total)` is called as rows
    are checked.
    """
    now = now or datetime.now(UTC)
    rows, total = read_rows(path)
    report = ImportReport(total=total)
    good: list[DossierInfo] = []
    first_line: dict[str, int] = {}
    for done, (line, row) in enumerate(rows, start=1):
        raw_code = str(row.get("code") or "")
        try:
            info = row_to_info(row, fmt)
        except (ValueError, InvalidDossierCodeError) as exc:
            report.rejected.append(RejectedRow(line, raw_code, str(exc)))
        else:
            if info.code in first_line:
                report.rejected.append(
                    RejectedRow(line, raw_code, f"duplicate of line {first_line[info.code]}")
                )
            else:
                first_line[info.code] = line
                good.append(info)
        if progress is not None and (done % 100 == 0 or done == total):
            progress(done, total)
    with unit_of_work(session_factory(engine)) as session:
        report.inserted, report.updated = upsert(session, good, now)
    return report
