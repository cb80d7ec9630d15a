"""speech.text.normalise: NFC, whitespace, match keys (tone-less, đ → d), tokens."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from speech.text import match_key, nfc, normalise, normalise_whitespace, strip_tones, tokens


def test_nfc_composes_decomposed_input() -> None:
    decomposed = unicodedata.normalize("NFD", "Phường Bến Nghé")
    assert decomposed != "Phường Bến Nghé"
    assert nfc(decomposed) == "Phường Bến Nghé"


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("Đường Nguyễn Huệ", "duong nguyen hue"),
        ("đầu hẻm nhà tôi rác chất đống", "dau hem nha toi rac chat dong"),
        ("  Hồ sơ   số: 0912-345!", "ho so so 0912 345"),
        (unicodedata.normalize("NFD", "Khiếu nại"), "khieu nai"),
        ("ĐÈN ĐƯỜNG HƯ", "den duong hu"),
        ("kẹt xe\tquá\n", "ket xe qua"),
        ("dossier_status", "dossier status"),
    ],
)
def test_match_key(text: str, key: str) -> None:
    assert match_key(text) == key


def test_strip_tones_keeps_case_and_punctuation() -> None:
    assert strip_tones("Đà Nẵng, Việt Nam!") == "Da Nang, Viet Nam!"


def test_normalise_keeps_diacritics() -> None:
    assert normalise("  TRA CỨU\u00a0 Hồ Sơ ") == "tra cứu hồ sơ"
    assert normalise_whitespace("a \t b\n") == "a b"


def test_tokens_split_digits_from_letters() -> None:
    assert tokens("Số HS2024, phường Bến Nghé") == ["số", "hs", "2024", "phường", "bến", "nghé"]


@given(
    st.text(
        alphabet="aăâbcdđeêghiklmnoôơpqrstuưvxyàáảãạằắẳẵặầấẩẫậèéẻẽẹềếểễệìíỉĩị"
        "òóỏõọồốổỗộờớởỡợùúủũụừứửữựỳýỷỹỵĐ 0123456789",
        max_size=40,
    )
)
def test_match_key_is_ascii_and_idempotent(text: str) -> None:
    key = match_key(text)
    assert key.isascii()
    assert match_key(key) == key
    assert match_key(unicodedata.normalize("NFD", text)) == key
