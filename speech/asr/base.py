"""The recognition seam: results, the streaming interface, and the engine protocol.

One interface for every engine:

- ``engine.transcribe(audio, grammar=..., hotwords=...) -> AsrResult`` — a whole utterance;
- ``engine.open_stream(rate=8000, grammar=...) -> RecognitionStream`` — feed 20 ms frames of s16
  audio with ``accept(pcm) -> AsrResult | None`` (a partial result when the engine has one) and
  close with ``finish() -> AsrResult`` (the final). ``speech.asr.stream.Utterance`` adds
  endpointing on top, so a live call knows when the caller has finished.

``grammar`` restricts recognition to listed phrases where the engine can (Vosk); engines that
cannot (Whisper) use it as a bias (hotwords). Confidence is 0..1 for every engine.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from speech.audio import Audio


@dataclass(frozen=True)
class Word:
    text: str
    start_s: float
    end_s: float
    confidence: float


@dataclass(frozen=True)
class AsrResult:
    """What was recognised: NFC text, a 0..1 confidence, and whether it is final."""

    text: str
    confidence: float
    is_final: bool
    engine: str
    audio_s: float = 0.0
    words: tuple[Word, ...] = field(default=())

    @property
    def is_empty(self) -> bool:
        return not self.text.strip()

    def as_dict(self) -> dict[str, object]:
        return {
            "text": self.text,
            "confidence": round(self.confidence, 3),
            "final": self.is_final,
            "engine": self.engine,
            "audio_s": round(self.audio_s, 3),
            "words": [
                {"text": w.text, "start": w.start_s, "end": w.end_s, "conf": round(w.confidence, 3)}
                for w in self.words
            ],
        }


class RecognitionStream(Protocol):
    """A streaming recognition of one utterance (s16 mono PCM at the stream's rate)."""

    def accept(self, pcm: bytes) -> AsrResult | None:
        """Feed audio (typically one 20 ms frame); returns a partial result when there is one."""
        ...

    def finish(self) -> AsrResult:
        """End of audio: the final result. The stream cannot be fed afterwards."""
        ...


class AsrEngine(Protocol):
    """A loaded recognition model."""

    @property
    def name(self) -> str: ...

    def transcribe(
        self,
        audio: Audio,
        *,
        grammar: Sequence[str] | None = None,
        hotwords: Sequence[str] | None = None,
    ) -> AsrResult: ...

    def open_stream(
        self, *, rate: int = 8000, grammar: Sequence[str] | None = None
    ) -> RecognitionStream: ...
