"""speech.audio: G.711 μ-law, WAV reading/writing, resampling, band-pass, 20 ms framing."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest

from speech.audio import (
    PHONE_FRAME_SAMPLES,
    Audio,
    band_pass,
    frame_dbfs,
    frames,
    parse_wav,
    phone_line,
    read_wav,
    resample,
    ulaw_decode,
    ulaw_encode,
    wav_bytes,
    write_wav,
)
from speech.errors import AudioFormatError


def tone(freq: float, rate: int, seconds: float = 0.5, amp: float = 10000.0) -> Audio:
    t = np.arange(int(rate * seconds)) / rate
    return Audio(np.rint(amp * np.sin(2 * np.pi * freq * t)).astype(np.int16), rate)


def dominant_hz(audio: Audio) -> float:
    spectrum = np.abs(np.fft.rfft(audio.samples.astype(np.float64)))
    return float(np.fft.rfftfreq(len(audio.samples), 1 / audio.rate)[int(np.argmax(spectrum))])


# --- G.711 μ-law -------------------------------------------------------------------------------
def test_ulaw_reference_points() -> None:
    # ITU-T G.711 table: 0 -> 0xFF, full scale positive -> 0x80, negative -> 0x00
    assert ulaw_encode(np.array([0, 32767, -32768, -1], dtype=np.int16)) == b"\xff\x80\x00\x7f"
    assert ulaw_decode(b"\xff\x80\x00\x7f").tolist() == [0, 32124, -32124, 0]


def test_ulaw_every_code_survives_decode_then_encode() -> None:
    codes = bytes(range(256))
    again = ulaw_encode(ulaw_decode(codes))
    # 0x7F is "negative zero": it decodes to 0, which encodes as 0xFF (positive zero)
    assert [c for c, d in zip(codes, again, strict=True) if c != d] == [0x7F]


def test_ulaw_round_trip_error_is_within_one_quantisation_step() -> None:
    x = np.arange(-32635, 32636, 7, dtype=np.int32)
    y = ulaw_decode(ulaw_encode(x.astype(np.int16))).astype(np.int32)
    # the step doubles per segment (8 at the bottom, 1024 at the top): |error| <= (|x| + bias)/32
    assert np.all(np.abs(y - x) <= (np.abs(x) + 132) / 32 + 1)
    assert ulaw_decode(ulaw_encode(x.astype(np.int16))).dtype == np.int16


# --- WAV -----------------------------------------------------------------------------------------
def test_wav_round_trip(tmp_path: Path) -> None:
    audio = tone(440, 8000)
    path = write_wav(tmp_path / "sub" / "a.wav", audio)
    back = read_wav(path)
    assert back.rate == 8000
    assert np.array_equal(back.samples, audio.samples)
    assert path.read_bytes()[:4] == b"RIFF"
    assert not list((tmp_path / "sub").glob(".*tmp"))  # atomic write leaves nothing behind


def test_streamed_header_with_wrong_sizes_is_read_to_the_end() -> None:
    audio = tone(300, 22050, 0.1)
    data = bytearray(wav_bytes(audio))
    data[4:8] = struct.pack("<I", 0xFFFFFFFF)
    data[40:44] = struct.pack("<I", 0xFFFFFFFF)  # what espeak-ng --stdout writes
    back = parse_wav(bytes(data))
    assert np.array_equal(back.samples, audio.samples)


def _wav(fmt_tag: int, channels: int, rate: int, bits: int, payload: bytes) -> bytes:
    fmt = struct.pack("<HHIIHH", fmt_tag, channels, rate, rate * channels * bits // 8, 1, bits)
    body = b"WAVE" + b"fmt " + struct.pack("<I", 16) + fmt
    body += b"LIST" + struct.pack("<I", 3) + b"abc\x00"  # odd chunk, padded: must be skipped
    body += b"data" + struct.pack("<I", len(payload)) + payload
    return b"RIFF" + struct.pack("<I", len(body)) + body


def test_stereo_is_averaged_and_ulaw_wav_is_decoded() -> None:
    stereo = np.array([[1000, 3000], [-2000, -4000]], dtype="<i2").tobytes()
    assert parse_wav(_wav(1, 2, 16000, 16, stereo)).samples.tolist() == [2000, -3000]
    ulaw = parse_wav(_wav(7, 1, 8000, 8, b"\xff\x80"))
    assert ulaw.samples.tolist() == [0, 32124]


def test_not_a_wav_names_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "x.wav"
    bad.write_bytes(b"ID3 not a wav")
    with pytest.raises(AudioFormatError, match=r"x\.wav is not a RIFF/WAVE") as info:
        read_wav(bad)
    assert info.value.code == "audio-format"


def test_audio_refuses_non_int16() -> None:
    with pytest.raises(AudioFormatError, match="int16"):
        Audio(np.zeros(3, dtype=np.float32), 8000)


# --- resampling and the phone line -------------------------------------------------------------
@pytest.mark.parametrize(("src", "dst"), [(16000, 8000), (8000, 16000), (22050, 8000)])
def test_resample_keeps_tone_length_and_level(src: int, dst: int) -> None:
    audio = tone(1000, src)
    out = Audio(resample(audio.samples, src, dst), dst)
    assert len(out.samples) == round(len(audio.samples) * dst / src)
    assert dominant_hz(out) == pytest.approx(1000, abs=5)
    inner = out.samples[dst // 20 : -dst // 20].astype(np.float64)
    assert np.sqrt(np.mean(inner**2)) == pytest.approx(10000 / np.sqrt(2), rel=0.02)


def test_downsampling_removes_what_would_alias() -> None:
    high = tone(6000, 16000)  # above the 4 kHz Nyquist of 8 kHz: must vanish, not fold to 2 kHz
    out = resample(high.samples, 16000, 8000)
    assert frame_dbfs(out[400:-400]) < -60


def test_band_pass_keeps_speech_band_only() -> None:
    mixed = Audio(tone(100, 8000).samples // 2 + tone(1000, 8000).samples // 2, 8000)
    out = Audio(band_pass(mixed.samples, 8000, 300, 3400), 8000)
    spectrum = np.abs(np.fft.rfft(out.samples.astype(np.float64)))
    freqs = np.fft.rfftfreq(len(out.samples), 1 / 8000)
    assert (
        spectrum[np.argmin(np.abs(freqs - 100))] < 0.01 * spectrum[np.argmin(np.abs(freqs - 1000))]
    )


def test_phone_line_gives_8k_ulaw_quantised_audio() -> None:
    out = phone_line(tone(1000, 16000))
    assert out.rate == 8000
    # every sample is one of the 255 μ-law levels
    assert set(np.unique(out.samples).tolist()) <= set(ulaw_decode(bytes(range(256))).tolist())
    assert dominant_hz(out) == pytest.approx(1000, abs=5)


# --- framing -----------------------------------------------------------------------------------
def test_frames_are_20ms_and_last_is_padded() -> None:
    audio = Audio(np.ones(PHONE_FRAME_SAMPLES * 3 + 10, dtype=np.int16), 8000)
    cut = list(frames(audio))
    assert [len(f.samples) for f in cut] == [160, 160, 160, 160]
    assert cut[-1].samples[10:].tolist() == [0] * 150
    assert len(list(frames(audio, pad_last=False))) == 3


def test_frame_dbfs_levels() -> None:
    assert frame_dbfs(np.zeros(160, dtype=np.int16)) == -120.0
    full = np.full(160, 32767, dtype=np.int16)
    assert frame_dbfs(full) == pytest.approx(0.0, abs=0.01)
    assert frame_dbfs(full // 10) == pytest.approx(-20.0, abs=0.05)


def test_bytes_round_trip() -> None:
    audio = tone(500, 8000, 0.02)
    assert Audio.from_bytes(audio.to_bytes(), 8000).samples.tolist() == audio.samples.tolist()
    with pytest.raises(AudioFormatError, match="even"):
        Audio.from_bytes(b"abc", 8000)
