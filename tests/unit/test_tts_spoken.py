"""speech.tts.spoken: the words a prompt says — numbers, codes, dates, times read out."""

from __future__ import annotations

import unicodedata

import pytest

from hotline import cli
from speech.tts.spoken import spoken_form


@pytest.mark.parametrize(
    ("text", "spoken"),
    [
        ("bấm phím 1", "bấm phím một"),
        ("có 21 hồ sơ", "có hai mươi mốt hồ sơ"),
        ("Hồ sơ 105", "Hồ sơ một trăm linh năm"),
        ("năm 2026", "năm hai nghìn không trăm hai mươi sáu"),
        ("Tổng đài 1900 9120.", "Tổng đài một chín không không chín một hai không."),
        ("gọi 0912345678", "gọi không chín một hai ba bốn năm sáu bảy tám"),
        ("mã 12345", "mã một hai ba bốn năm"),
        ("mã HS2024-0015", "mã H S hai không hai bốn không không một năm"),
        ("phí 1.500.000 đồng", "phí một triệu năm trăm nghìn đồng"),
        ("hẹn ngày 1/4", "hẹn ngày một tháng tư"),
        (
            "trả ngày 25/11/2026 lúc 14:05",
            "trả ngày hai mươi lăm tháng mười một năm hai nghìn không trăm hai mươi sáu "
            "lúc mười bốn giờ năm phút",
        ),
        ("không có số", "không có số"),
    ],
)
def test_spoken_form(text: str, spoken: str) -> None:
    assert spoken_form(text) == spoken


def test_southern_readings_and_nfc() -> None:
    assert spoken_form("105 và 2026", southern=True) == (
        "một trăm lẻ năm và hai ngàn không trăm hai mươi sáu"
    )
    nfd = unicodedata.normalize("NFD", "Hồ sơ 15")
    assert spoken_form(nfd) == unicodedata.normalize("NFC", "Hồ sơ mười lăm")


def test_tts_normalize_only_prints_the_words(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["tts", "--normalize-only", "Hồ sơ 105"]) == 0
    assert capsys.readouterr().out == "Hồ sơ một trăm linh năm\n"
