"""The words a prompt says: `hotline tts --normalize-only` and PromptBuilder both read numbers,
codes and dates out with speech.text.normalize_for_speech before synthesis."""

from __future__ import annotations

import pytest

from hotline import cli


@pytest.mark.parametrize(
    ("args", "spoken"),
    [
        (["Hồ sơ 105"], "Hồ sơ một trăm linh năm"),
        (["--southern", "Hồ sơ 105"], "Hồ sơ một trăm lẻ năm"),
        (["Tổng đài 1900 9120."], "Tổng đài một chín không không chín một hai không."),
        (["hẹn ngày 1/4"], "hẹn ngày một tháng tư"),
    ],
)
def test_tts_normalize_only_prints_the_words(
    args: list[str], spoken: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["tts", "--normalize-only", *args]) == 0
    assert capsys.readouterr().out == spoken + "\n"
