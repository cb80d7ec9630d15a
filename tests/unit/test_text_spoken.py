"""speech.text.spoken: the words a synthesiser says for a written sentence."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from speech.text import normalize_for_speech


@pytest.mark.parametrize(
    ("text", "spoken"),
    [
        ("Tổng đài 1900 9120", "Tổng đài một chín không không chín một hai không"),
        ("Gọi 0912345678", "Gọi không chín một hai ba bốn năm sáu bảy tám"),
        ("năm 2026", "năm hai nghìn không trăm hai mươi sáu"),
        ("có 105 hộ", "có một trăm linh năm hộ"),
        ("2.500.000 đồng", "hai triệu năm trăm nghìn đồng"),
        ("giảm 3,5%", "giảm ba phẩy năm phần trăm"),
        ("14h05", "mười bốn giờ năm phút"),
        ("lúc 9:30", "lúc chín giờ ba mươi phút"),
        ("ngày 1/4", "ngày một tháng tư"),
        (
            "Hẹn ngày 25/11/2026",
            "Hẹn ngày hai mươi lăm tháng mười một năm hai nghìn không trăm hai mươi sáu",
        ),
        ("mã 250101", "mã hai năm không một không một"),
        ("HS2024", "H S hai không hai bốn"),
        (
            "hồ sơ 000.00.12.H12-250101",
            "hồ sơ không không không không không một hai H một hai hai năm không một không một",
        ),
        ("  nhiều   khoảng   trắng ", "nhiều khoảng trắng"),
    ],
)
def test_normalize_for_speech(text: str, spoken: str) -> None:
    assert normalize_for_speech(text) == spoken


def test_southern_setting_and_nfc() -> None:
    assert normalize_for_speech("có 105 hộ", southern=True) == "có một trăm lẻ năm hộ"
    assert normalize_for_speech("2000 người", southern=True) == "hai ngàn người"
    decomposed = unicodedata.normalize("NFD", "Hồ sơ 12")
    assert normalize_for_speech(decomposed) == "Hồ sơ mười hai"


def test_impossible_dates_and_times_are_not_read_as_such() -> None:
    assert normalize_for_speech("32/13") == "ba mươi hai/mười ba"
    assert "giờ" not in normalize_for_speech("25:99")


@given(st.text(alphabet="0123456789 ./-:,%hHSabcđồ", max_size=30))
def test_no_digit_is_left_for_the_synthesiser(text: str) -> None:
    spoken = normalize_for_speech(text)
    assert not any(ch.isdigit() for ch in spoken)
