"""`hotline pbx`: help that teaches, render that masks the secret and checks the dialplan."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from hotline.cli import main

SECRET = "cli-test-secret-0123"


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOTLINE_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("HOTLINE_AMI_SECRET", SECRET)
    monkeypatch.setenv("HOTLINE_AMI_PORT", "27038")


def test_help_names_every_action_and_what_it_needs(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["pbx", "--help"])
    out = capsys.readouterr().out
    for word in ("up", "down", "status", "logs", "render", "root", "HOTLINE_AMI_SECRET"):
        assert word in out


def test_render_prints_configs_with_the_secret_masked(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["pbx", "render"]) == 0
    out = capsys.readouterr().out
    assert "port = 27038" in out
    assert SECRET not in out
    assert "secret = ***" in out
    assert "dialplan OK" in out and "hotline-in" in out


def test_render_out_writes_private_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["pbx", "render", "--out", str(tmp_path / "conf")]) == 0
    manager = tmp_path / "conf" / "manager.conf"
    assert f"secret = {SECRET}" in manager.read_text()
    assert stat.S_IMODE(manager.stat().st_mode) == 0o600
    assert "wrote" in capsys.readouterr().out


def test_status_of_a_pbx_never_started(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["pbx", "status"]) == 3
    assert "not running" in capsys.readouterr().out


def test_an_unsafe_secret_is_a_clean_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("HOTLINE_AMI_SECRET", "semi;colon-secret")
    assert main(["pbx", "render"]) == 1
    err = capsys.readouterr().err
    assert "ami_secret" in err and "semi;colon" not in err


def test_cli_on_a_pbx_that_does_not_run_says_how_to_start_it(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["pbx", "cli", "core show channels"]) == 3
    assert "hotline pbx up" in capsys.readouterr().err
