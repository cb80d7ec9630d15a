"""`hotline flow check|simulate`: the menu author's view of the flow, with no Asterisk."""

from __future__ import annotations

from pathlib import Path

import pytest

from hotline.cli import main


def test_check_reports_ok(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["flow", "check"]) == 0
    assert "menu.yaml: 44 nodes" in capsys.readouterr().out


def test_check_lists_problems(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "prompts.yaml").write_text("prompts:\n  hi: Xin chào\n", "utf-8")
    (tmp_path / "menu.yaml").write_text(
        "start: a\nnodes:\n  a: {type: play, prompts: [hi], next: b}\n", "utf-8"
    )
    monkeypatch.setenv("HOTLINE_DIALPLANS_DIR", str(tmp_path))
    assert main(["flow", "check"]) == 1
    err = capsys.readouterr().err
    assert "node 'a': next goes to missing target 'b'" in err
    assert "prompt 'reconnect_apology' is required" in err


def test_simulate_a_dossier_lookup(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["flow", "simulate", "--texts", "1", "4", "2", "#", "hangup"]) == 0
    out = capsys.readouterr().out
    assert "    lookup dossier 42" in out
    assert "«Xin Quý vị nhập mã số hồ sơ" in out
    assert out.rstrip().endswith("= ended: completed (16 Normal Clearing)")


def test_simulate_not_found(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["flow", "simulate", "--dossier", "not_found", "1", "9", "#", "hangup"]) == 0
    assert "    play dossier_not_found" in capsys.readouterr().out


def test_simulate_a_voice_complaint(capsys: pytest.CaptureFixture[str]) -> None:
    script = [
        "say:tôi muốn phản ánh về rác thải",
        "say:phường bạc liêu",
        "say:đúng rồi",
        "say:rác đổ đầy đầu hẻm",
        "say:đồng ý",
        "hangup",
    ]
    assert main(["flow", "simulate", "--voice", "--texts", *script]) == 0
    out = capsys.readouterr().out
    assert "create case category=environment" in out and "place=Phường Bạc Liêu" in out
    assert "«Quý vị cần tra cứu hồ sơ, phản ánh hiện trường" in out


def test_simulate_outside_office_hours(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["flow", "simulate", "--voice", "--closed", "say:gặp điện thoại viên", "4"]) == 0
    out = capsys.readouterr().out
    assert "ngoài giờ làm việc" in out and "từ thứ Hai đến thứ Sáu" in out  # from province.yaml
    assert "request a call-back" in out and "transfer to queue" not in out
