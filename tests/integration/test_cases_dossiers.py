"""Dossier directory for real: import into SQLite/PostgreSQL, lookup, and the HTTP adapter
against a small local HTTP server standing in for the provincial one-stop system."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote

import pytest
from sqlalchemy import Engine

from cases.config import DEFAULT_DOSSIER_TEMPLATE
from cases.dossiers import (
    DossierCodeFormat,
    DossierInfo,
    HttpDossierDirectory,
    SqlDossierDirectory,
    import_dossiers,
    info_to_mapping,
    lookup_dossier,
)
from cases.errors import (
    DirectoryUnavailableError,
    DossierNotFoundError,
    ImportFileError,
    InvalidDossierCodeError,
)
from cases.models import DossierStatus

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "dossiers-sample.csv"
FMT = DossierCodeFormat(DEFAULT_DOSSIER_TEMPLATE)


def test_sample_imports_whole_and_lookup_tells_invalid_from_unknown(
    migrated_engine: Engine,
) -> None:
    seen: list[tuple[int, int]] = []
    report = import_dossiers(
        migrated_engine, SAMPLE, FMT, progress=lambda d, t: seen.append((d, t))
    )
    assert (report.total, report.inserted, report.rejected) == (50, 50, [])
    assert seen[-1] == (50, 50)

    directory = SqlDossierDirectory(migrated_engine)
    first = SAMPLE.read_text(encoding="utf-8").splitlines()[1].split(",")[0]
    keypad = "".join(ch for ch in first if ch.isdigit())
    found = lookup_dossier(directory, FMT, keypad)
    assert found.code == first and found.procedure
    assert len(found.phone_tail) == 3 and "." in found.applicant  # minimised
    with pytest.raises(DossierNotFoundError, match=r"999\.99\.99\.H99-991231-9999 is not"):
        lookup_dossier(directory, FMT, "999999999" + "991231" + "9999")
    with pytest.raises(InvalidDossierCodeError):
        lookup_dossier(directory, FMT, "12345")

    again = import_dossiers(migrated_engine, SAMPLE, FMT)
    assert (again.inserted, again.updated) == (0, 50)


def test_bad_rows_are_reported_and_good_ones_kept(migrated_engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "mixed.json"
    good = {
        "code": "000.00.12.H12-261120-0007",
        "procedure": "Đăng ký khai sinh",
        "received_on": "2026-11-20",
        "due_on": "2026-11-21",
        "status": "received",
    }
    path.write_text(
        json.dumps(
            {
                "dossiers": [
                    good,
                    {**good, "code": "000.00.12.H12-26112-0007"},
                    {**good, "due_on": "tomorrow"},
                    {**good, "code": "0000012122611200007"},  # same code, keypad form
                    "not an object",
                ]
            },
            ensure_ascii=False,
        ),
        encoding="utf-8",
    )
    report = import_dossiers(migrated_engine, path, FMT)
    assert report.inserted == 1
    reasons = {r.line: r.reason for r in report.rejected}
    assert set(reasons) == {2, 3, 4, 5}
    assert "18 digits" in reasons[2] or "letters and digits" in reasons[2]
    assert "not a date" in reasons[3]
    assert reasons[4] == "duplicate of line 1"
    assert "procedure is empty" in reasons[5] or "empty" in reasons[5]


def test_unreadable_files_are_refused(migrated_engine: Engine, tmp_path: Path) -> None:
    bad_csv = tmp_path / "x.csv"
    bad_csv.write_text("code,procedure\n1,2\n", encoding="utf-8")
    with pytest.raises(ImportFileError, match="lacks column"):
        import_dossiers(migrated_engine, bad_csv, FMT)
    with pytest.raises(ImportFileError, match=r"\.csv or \.json"):
        import_dossiers(migrated_engine, tmp_path / "x.xlsx", FMT)


# --- HTTP adapter ----------------------------------------------------------------------------
TOKEN = "one-stop-token"
KNOWN = DossierInfo(
    code="000.00.12.H12-261101-0042",
    procedure="Cấp giấy phép xây dựng nhà ở riêng lẻ",
    received_on=date(2026, 11, 1),
    due_on=date(2026, 11, 22),
    status=DossierStatus.PROCESSING,
    agency="UBND phường Bạc Liêu",
    applicant="Lê V. T.",
    phone_tail="321",
    current_step="Chuyên viên thẩm định hồ sơ",
)


class _OneStop(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.headers.get("Authorization") != f"Bearer {TOKEN}":
            self._send(401, {"error": "unauthorised"})
            return
        code = unquote(self.path.removeprefix("/api/dossiers/"))
        if code == KNOWN.code:
            self._send(200, info_to_mapping(KNOWN))
        elif code.endswith("-9999"):
            self._send(500, {"error": "boom"})
        elif code.endswith("-8888"):
            self._send(200, {"code": code})  # missing fields
        else:
            self._send(404, {"error": "not found"})

    def _send(self, status: int, body: object) -> None:
        data = json.dumps(body, ensure_ascii=False).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        return


@pytest.fixture
def one_stop() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _OneStop)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/api"
    finally:
        server.shutdown()
        server.server_close()


def test_http_directory_finds_misses_and_fails_loudly(one_stop: str) -> None:
    directory = HttpDossierDirectory(one_stop, TOKEN, timeout_s=2)
    try:
        assert lookup_dossier(directory, FMT, "0000012122611010042") == KNOWN
        with pytest.raises(DossierNotFoundError):
            lookup_dossier(directory, FMT, "000.00.12.H12-261101-0043")
        with pytest.raises(DirectoryUnavailableError, match="HTTP 500"):
            lookup_dossier(directory, FMT, "000.00.12.H12-261101-9999")
        with pytest.raises(DirectoryUnavailableError, match="unreadable"):
            lookup_dossier(directory, FMT, "000.00.12.H12-261101-8888")
    finally:
        directory.close()
    wrong = HttpDossierDirectory(one_stop, "stolen", timeout_s=2)
    with pytest.raises(DirectoryUnavailableError, match="refused our credentials"):
        wrong.lookup(KNOWN.code)
    wrong.close()


def test_http_directory_down_is_unavailable_not_not_found(one_stop: str) -> None:
    server_port = one_stop.split(":")[2].split("/")[0]
    dead = HttpDossierDirectory(f"http://127.0.0.1:{int(server_port) + 1}/api", TOKEN, timeout_s=1)
    with pytest.raises(DirectoryUnavailableError, match="did not answer"):
        dead.lookup(KNOWN.code)
    dead.close()
    with pytest.raises(DirectoryUnavailableError, match="no base URL"):
        HttpDossierDirectory("", TOKEN)
