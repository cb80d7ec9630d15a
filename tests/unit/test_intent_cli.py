"""`hotline intent`: one JSON object per text, or JSON lines from stdin (no models, no network)."""

from __future__ import annotations

import io
import json

import pytest

from hotline.cli import main


def test_one_text(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["intent", "đầu hẻm nhà tôi ở phường giá rai rác chất đống"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["intent"] == "complaint"
    assert out["slots"] == {"category": "environment", "digits": None, "place": "Phường Giá Rai"}
    assert out["decision"] == "accept"
    assert 0.0 <= out["confidence"] <= 1.0


def test_explain_and_no_places(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["intent", "--no-places", "--explain", "ở phường giá rai kẹt xe"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["slots"]["place"] is None
    assert ["traffic", "ket xe", 100.0, 1.0] in out["matched"]


def test_jsonl(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    lines = [
        json.dumps({"text": "tra cứu hồ sơ số không chín một hai"}, ensure_ascii=False),
        json.dumps({"text": "hôm nay trời đẹp quá"}, ensure_ascii=False),
        "not json",
        json.dumps({"text": "dạ hông"}, ensure_ascii=False),
    ]
    monkeypatch.setattr("sys.stdin", io.StringIO("\n".join(lines) + "\n"))
    assert main(["intent", "--jsonl"]) == 1  # one bad line
    captured = capsys.readouterr()
    rows = [json.loads(line) for line in captured.out.splitlines()]
    assert [r["intent"] for r in rows] == ["dossier_status", None, "no"]
    assert rows[0]["slots"]["digits"] == "0912"
    assert "line 3" in captured.err


def test_no_text_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["intent"]) == 2
    assert "give TEXT or --jsonl" in capsys.readouterr().err


def test_missing_intents_file_is_reported(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["intent", "--no-places", "--intents", "/nonexistent/intents.yaml", "x"]) == 1
    assert "cannot read intents file" in capsys.readouterr().err


def test_expect(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["intent", "--no-places", "--expect", "yes,no", "vâng đúng là hồ sơ đó"]) == 0
    assert json.loads(capsys.readouterr().out)["intent"] == "yes"
    assert main(["intent", "--no-places", "--expect", "yes,maybe", "có"]) == 1
    assert "unknown intents ['maybe']" in capsys.readouterr().err
