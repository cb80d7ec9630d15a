"""speech.asr.wer: Vietnamese word error rate (NFC, case, punctuation, digits read out)."""

from __future__ import annotations

import unicodedata

import pytest

from speech.asr import corpus_wer, wer
from speech.asr.wer import edit_distance, wer_words


def test_words_are_normalised() -> None:
    nfd = unicodedata.normalize("NFD", "Khủng hoảng, MÔI trường!")
    assert wer_words(nfd) == ["khủng", "hoảng", "môi", "trường"]
    assert wer_words("cần 5 người") == ["cần", "năm", "người"]


def test_edit_distance_counts_substitutions_insertions_deletions() -> None:
    assert edit_distance(["a", "b", "c"], ["a", "x", "c", "d"]) == 2
    assert edit_distance([], ["a"]) == 1


def test_wer_values() -> None:
    assert wer("khủng hoảng môi trường", "Khủng hoảng môi trường.") == 0.0
    # "1" is read "một"; trong→trăm and cách→tạch are two substitutions out of six words
    assert wer("một trong những cách tốt nhất", "1 trăm những tạch tốt nhất") == pytest.approx(
        2 / 6
    )
    assert wer("", "") == 0.0 and wer("", "a") == 1.0


def test_corpus_wer_weights_by_reference_length() -> None:
    pairs = [("a b c d", "a b c d"), ("e f", "x y")]
    assert corpus_wer(pairs) == pytest.approx(2 / 6)


def test_whisper_subtitle_hallucinations_are_recognised() -> None:
    from speech.asr.whisper import is_hallucination

    assert is_hallucination("Hãy subscribe cho kênh Ghiền Mì Gõ để không bỏ lỡ video")
    assert is_hallucination(unicodedata.normalize("NFD", "Cảm ơn các bạn đã theo dõi"))
    assert not is_hallucination("cho tôi gặp điện thoại viên")
