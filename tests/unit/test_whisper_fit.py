"""The fitted-window decoder's pure parts: cutting a decoder loop (only applied when a decode
hit its length bound), and refusing a bad window."""

from __future__ import annotations

from pathlib import Path

import pytest

from speech.asr import AsrConfig
from speech.asr.whisper import (
    MAX_COMPRESSION_RATIO,
    WhisperEngine,
    collapse_repeats,
    compression_ratio,
)
from speech.errors import AsrError


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # the loops seen on vivos with a fitted window, cut where the bound stopped them
        ("Anh các phẩm tượng. Anh các phẩm tượng. Anh các phẩ", "Anh các phẩm tượng"),
        ("Anh các phẩm tượng. Anh các Phẩ", "Anh các phẩm tượng"),
        ("bình bình bình bình", "bình"),
        ("tôi muốn tra cứu tôi muốn tra cứu", "tôi muốn tra cứu"),
    ],
)
def test_a_decoder_loop_is_cut_to_one_pass(text: str, expected: str) -> None:
    assert collapse_repeats(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "có",
        "tôi muốn phản ánh về rác thải",
        "một hai một hai ba",  # a partial repeat is speech, not a loop
        "Anh các phẩm tượng. Anh",  # one repeated word is not yet a loop
        "số không chín không chín",
        "ở phường Vĩnh Trạch Đông",
    ],
)
def test_speech_without_a_whole_repetition_is_kept(text: str) -> None:
    assert collapse_repeats(text) == text


def test_an_unknown_window_is_refused_before_loading(tmp_path: Path) -> None:
    (tmp_path / "model.bin").write_bytes(b"")
    with pytest.raises(AsrError, match="unknown Whisper window 'half'"):
        WhisperEngine(tmp_path, window="half")


def test_the_window_setting_reaches_the_engine_config() -> None:
    class Settings:
        asr_engine = "whisper"
        whisper_model_dir = None
        vosk_model_dir = None
        models_dir = Path("var/models")
        whisper_window = "full"

    assert AsrConfig.from_settings(Settings()).whisper_window == "full"
    assert AsrConfig().whisper_window == "fit"


def test_a_degenerate_decode_compresses_past_whispers_bound() -> None:
    assert compression_ratio("bình " * 40) > MAX_COMPRESSION_RATIO
    assert compression_ratio("tôi muốn phản ánh về rác thải ở đầu hẻm") < MAX_COMPRESSION_RATIO
    assert compression_ratio("") == 0.0
