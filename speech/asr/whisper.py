"""faster-whisper engine (CTranslate2): Vietnamese, offline, with VAD and vocabulary bias.

Settings fixed by the hotline's needs: language ``vi`` (no language detection on 2 s of phone
audio), Silero VAD on (skips line noise and the silence around the caller's words),
``condition_on_previous_text=False`` (one utterance; no hallucinated carry-over), a small beam,
and no temperature fallback: on the vivos phone set it changed no word (WER 42.4 % both ways)
but re-decoding made the slowest utterance cost 7.7 s of CPU instead of 2.1 s, and it samples —
the same audio could give another transcript.
Menu vocabulary is passed as ``hotwords`` (a decoder prefix bias) where the caller asks for it.

Whisper is not a streaming model: ``open_stream`` buffers the frames and decodes once on
``finish()`` (no partial results); endpointing (``speech.asr.stream``) decides when that is.
The model directory is local (``local_files_only``; ``HF_HUB_OFFLINE=1``): nothing downloads.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from speech.asr.base import AsrResult, Word
from speech.audio import Audio
from speech.errors import AsrError, AsrModelMissingError, AsrStreamError
from speech.text import nfc

WHISPER_RATE = 16000
# Whisper's own gate for a degenerate decode ("bình bình bình ..."): with no temperature
# fallback we drop such a segment instead of decoding it again.
MAX_COMPRESSION_RATIO = 2.4

# Whisper was trained on subtitled video: on silence, noise or a robotic voice it may "hear"
# a channel outro. Seen on our own phone-line tests ("Hãy subscribe cho kênh Ghiền Mì Gõ ...").
# A segment containing one of these (match key: lower case) is dropped, not passed to routing.
HALLUCINATIONS = (
    "subscribe",
    "ghiền mì gõ",
    "đăng ký kênh",
    "theo dõi kênh",
    "cảm ơn các bạn đã theo dõi",
    "cảm ơn các bạn đã xem",
    "hẹn gặp lại các bạn trong những video",
    "like và share",
)


def is_hallucination(text: str) -> bool:
    lowered = nfc(text).lower()
    return any(marker in lowered for marker in HALLUCINATIONS)


class WhisperEngine:
    """A loaded CTranslate2 Whisper model."""

    name = "whisper"

    def __init__(
        self,
        model_dir: Path,
        *,
        beam_size: int = 1,
        compute_type: str = "int8",
        cpu_threads: int = 1,
        language: str = "vi",
        vad: bool = True,
        hotwords: Sequence[str] = (),
    ) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        if not (model_dir / "model.bin").exists():
            raise AsrModelMissingError(f"Whisper model directory {model_dir} has no model.bin")
        try:
            from faster_whisper import WhisperModel
        except ImportError as exc:
            raise AsrModelMissingError(
                "faster-whisper is not installed; pip install -e '.[models]'"
            ) from exc
        try:
            self._model: Any = WhisperModel(
                str(model_dir),
                device="cpu",
                compute_type=compute_type,
                cpu_threads=cpu_threads,
                local_files_only=True,
            )
        except (RuntimeError, ValueError, OSError) as exc:
            raise AsrError(f"cannot load Whisper model {model_dir}: {exc}") from exc
        self.model_dir = model_dir
        self.beam_size = beam_size
        self.language = language
        self.vad = vad
        self.hotwords = tuple(hotwords)

    def transcribe(
        self,
        audio: Audio,
        *,
        grammar: Sequence[str] | None = None,
        hotwords: Sequence[str] | None = None,
    ) -> AsrResult:
        bias = list(hotwords if hotwords is not None else self.hotwords) + list(grammar or ())
        samples = audio.to_rate(WHISPER_RATE).samples.astype(np.float32) / 32768.0
        try:
            segments, _info = self._model.transcribe(
                samples,
                language=self.language,
                task="transcribe",
                beam_size=self.beam_size,
                vad_filter=self.vad,
                condition_on_previous_text=False,
                temperature=0.0,
                hotwords=" ".join(bias) or None,
                without_timestamps=True,
            )
            segments = list(segments)
        except (RuntimeError, ValueError) as exc:
            raise AsrError(f"Whisper failed on {audio.duration_s:.1f} s of audio: {exc}") from exc
        texts: list[str] = []
        weighted = 0.0
        tokens = 0
        words: list[Word] = []
        for seg in segments:
            text = nfc(seg.text).strip()
            if not text or is_hallucination(text) or seg.compression_ratio > MAX_COMPRESSION_RATIO:
                continue
            texts.append(text)
            n = max(1, len(seg.tokens))
            # token-weighted mean probability; faster-whisper already dropped the segments its
            # no-speech rule flags (no_speech_prob > 0.6 and avg_logprob < -1)
            weighted += math.exp(seg.avg_logprob) * n
            tokens += n
            words.append(Word(text, float(seg.start), float(seg.end), math.exp(seg.avg_logprob)))
        confidence = weighted / tokens if tokens else 0.0
        return AsrResult(
            text=" ".join(texts),
            confidence=min(1.0, max(0.0, confidence)),
            is_final=True,
            engine=self.name,
            audio_s=audio.duration_s,
            words=tuple(words),
        )

    def open_stream(
        self, *, rate: int = 8000, grammar: Sequence[str] | None = None
    ) -> WhisperStream:
        return WhisperStream(self, rate, grammar)


class WhisperStream:
    """Buffers frames; decodes the whole utterance on ``finish()``."""

    def __init__(self, engine: WhisperEngine, rate: int, grammar: Sequence[str] | None) -> None:
        self._engine = engine
        self._rate = rate
        self._grammar = grammar
        self._chunks: list[bytes] = []
        self._finished = False

    def accept(self, pcm: bytes) -> AsrResult | None:
        if self._finished:
            raise AsrStreamError("Whisper stream already finished; open a new one")
        self._chunks.append(pcm)
        return None

    def finish(self) -> AsrResult:
        if self._finished:
            raise AsrStreamError("Whisper stream already finished")
        self._finished = True
        audio = Audio.from_bytes(b"".join(self._chunks), self._rate)
        if len(audio.samples) == 0:
            return AsrResult("", 0.0, True, self._engine.name)
        return self._engine.transcribe(audio, grammar=self._grammar)
