"""`hotline db`, `hotline dossiers`, `hotline sync` end to end through the CLI entry point."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from hotline.cli import main

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "dossiers-sample.csv"


def test_cli_migrates_imports_looks_up_and_syncs(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("HOTLINE_DATABASE_URL", db_url)
    monkeypatch.setenv("HOTLINE_IOC_DATABASE_URL", f"sqlite:///{tmp_path}/ioc.db")
    monkeypatch.setenv("HOTLINE_STATE_DIR", str(tmp_path))

    assert main(["db", "status"]) == 1  # not migrated yet
    assert "hotline db upgrade" in capsys.readouterr().out
    assert main(["db", "upgrade"]) == 0
    assert main(["db", "upgrade"]) == 0
    assert "already at" in capsys.readouterr().out

    bad = tmp_path / "bad.csv"
    bad.write_text(
        SAMPLE.read_text(encoding="utf-8") + "12345,Đăng ký khai sinh,,,,2026-11-01,2026-11-02,,"
        "received,\n",
        encoding="utf-8",
    )
    assert main(["dossiers", "import", str(bad)]) == 0
    out = capsys.readouterr().out
    assert "51 rows, 50 new, 0 updated, 1 rejected" in out
    assert "5 digits" in out

    assert main(["dossiers", "lookup", "000.25.16.H12-261002-0001"]) == 0
    assert "Đăng ký thường trú" in capsys.readouterr().out
    assert main(["dossiers", "lookup", "999.99.99.H99-991231-9999"]) == 1
    assert "not in the directory" in capsys.readouterr().out
    assert main(["dossiers", "lookup", "12-34"]) == 1
    assert "expected 19" in capsys.readouterr().out

    from cases.calls import SqlCallRecorder
    from cases.db import make_engine
    from ivr.ports import CallStarted

    engine = make_engine(db_url)
    SqlCallRecorder(engine).call_started(
        CallStarted("1.1", "1.1", "PJSIP/a", "0912345678", "19009120", datetime.now(UTC))
    )
    engine.dispose()
    assert main(["sync", "status"]) == 0
    out = capsys.readouterr().out
    assert "pending          1 (0 retrying)" in out and "oldest pending   call 1.1" in out
    assert main(["sync", "run", "--once"]) == 0
    assert "sent 1; 0 pending" in capsys.readouterr().out
    assert main(["sync", "status"]) == 0
    assert "pending          0" in capsys.readouterr().out
    assert main(["sync", "purge", "--days", "1"]) == 0
    assert "deleted 0 sent message(s)" in capsys.readouterr().out
    assert main(["sync", "purge", "--days", "0"]) == 0
    assert "deleted 1 sent message(s)" in capsys.readouterr().out
