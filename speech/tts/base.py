"""The synthesis seam: the ``Synthesizer`` protocol every backend implements, and audio decoding.

A synthesizer turns one Vietnamese text (NFC) into ``Audio`` at 8 kHz mono s16, the format
Asterisk plays without transcoding. ``name`` and ``voice`` enter the prompt cache key, so two
backends (or two voices) never share a cached file.
"""

from __future__ import annotations

import io
from typing import Protocol

import numpy as np

from speech.audio import PHONE_RATE, Audio, normalise_peak, parse_wav
from speech.errors import TtsBackendUnavailableError, TtsError


class Synthesizer(Protocol):
    """Text → 8 kHz mono s16 audio."""

    @property
    def name(self) -> str: ...

    @property
    def voice(self) -> str: ...

    def synthesize(self, text: str) -> Audio: ...


def to_phone_audio(audio: Audio) -> Audio:
    """Resample to 8 kHz (band-limited) and normalise the peak to -3 dBFS."""
    return normalise_peak(audio.to_rate(PHONE_RATE), -3.0)


def decode_audio_bytes(data: bytes, *, name: str = "<bytes>") -> Audio:
    """Decode WAV directly, anything else (MP3 from gTTS) with PyAV (FFmpeg); mono s16."""
    if data[:4] == b"RIFF":
        return parse_wav(data, name=name)
    try:
        import av
    except ImportError as exc:  # pragma: no cover - av comes with faster-whisper ([models])
        raise TtsBackendUnavailableError(
            "decoding MP3 needs PyAV: pip install av (it comes with the [models] extra)"
        ) from exc
    try:
        with av.open(io.BytesIO(data), mode="r") as container:
            stream = container.streams.audio[0]
            resampler = av.AudioResampler(format="s16", layout="mono", rate=stream.rate)
            chunks: list[np.ndarray] = []
            rate = stream.rate
            for frame in container.decode(stream):
                for out in resampler.resample(frame):
                    chunks.append(out.to_ndarray().reshape(-1))
            for out in resampler.resample(None):
                chunks.append(out.to_ndarray().reshape(-1))
    except (av.error.FFmpegError, IndexError) as exc:
        raise TtsError(f"cannot decode audio {name} ({len(data)} bytes): {exc}") from exc
    if not chunks:
        raise TtsError(f"audio {name} decoded to no samples")
    return Audio(np.concatenate(chunks).astype(np.int16), int(rate))
