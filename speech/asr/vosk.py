"""Vosk engine (Kaldi): true streaming with partial results, grammars and word confidences.

The model directory comes from settings (``HOTLINE_VOSK_MODEL_DIR``, or the Vietnamese model
fetched by ``hotline models fetch vosk-vn``). Vosk resamples internally, so a stream is opened at
the line's 8 kHz. A ``grammar`` (list of phrases) restricts recognition to those phrases plus
``[unk]`` on models with a dynamic graph (the small models); it is how a yes/no or digit question
becomes robust. Confidence is the mean of the word confidences Vosk reports.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from speech.asr.base import AsrResult, Word
from speech.audio import Audio
from speech.errors import AsrError, AsrModelMissingError, AsrStreamError
from speech.text import nfc

CHUNK_SAMPLES = 4000


class VoskEngine:
    """A loaded Vosk model (shared by every stream opened on it)."""

    name = "vosk"

    def __init__(
        self, model_dir: Path, *, unknown_word: str = "[unk]", partial_every_s: float = 0.2
    ) -> None:
        if not (model_dir / "am" / "final.mdl").exists():
            raise AsrModelMissingError(f"Vosk model directory {model_dir} has no am/final.mdl")
        try:
            import vosk
        except ImportError as exc:
            raise AsrModelMissingError("vosk is not installed; pip install -e '.[models]'") from exc
        vosk.SetLogLevel(-1)
        try:
            self._model: Any = vosk.Model(str(model_dir))
        except Exception as exc:  # vosk raises a bare Exception on a bad model
            raise AsrError(f"cannot load Vosk model {model_dir}: {exc}") from exc
        self._vosk: Any = vosk
        self.model_dir = model_dir
        # the grammar's out-of-vocabulary entry: "[unk]" in the Vosk models, "<UNK>" in Korean
        self.unknown_word = unknown_word
        # a partial result every 200 ms is enough for a live call (barge-in, logging); asking
        # after every 20 ms frame only produces 10 times as many identical strings
        self.partial_every_s = partial_every_s

    def open_stream(self, *, rate: int = 8000, grammar: Sequence[str] | None = None) -> VoskStream:
        if grammar:
            phrases = [nfc(p).lower() for p in grammar] + [self.unknown_word]
            rec = self._vosk.KaldiRecognizer(
                self._model, float(rate), json.dumps(phrases, ensure_ascii=False)
            )
        else:
            rec = self._vosk.KaldiRecognizer(self._model, float(rate))
        rec.SetWords(True)
        return VoskStream(rec, rate, self.name, partial_every_s=self.partial_every_s)

    def transcribe(
        self,
        audio: Audio,
        *,
        grammar: Sequence[str] | None = None,
        hotwords: Sequence[str] | None = None,
    ) -> AsrResult:
        del hotwords  # Vosk biases through grammars only
        stream = self.open_stream(rate=audio.rate, grammar=grammar)
        data = audio.to_bytes()
        step = CHUNK_SAMPLES * 2
        for start in range(0, len(data), step):
            stream.accept(data[start : start + step])
        return stream.finish()


class VoskStream:
    """One KaldiRecognizer; Vosk's own endpoints split segments, which we join."""

    def __init__(
        self, recognizer: Any, rate: int, engine: str, *, partial_every_s: float = 0.2
    ) -> None:
        self._rec = recognizer
        self._partial_every = max(1, int(rate * partial_every_s))
        self._since_partial = 0
        self._rate = rate
        self._engine = engine
        self._segments: list[dict[str, Any]] = []
        self._samples = 0
        self._last_partial = ""
        self._finished = False

    def _text(self, extra: str = "") -> str:
        parts = [str(s.get("text", "")) for s in self._segments] + [extra]
        return " ".join(p for p in parts if p).strip()

    def accept(self, pcm: bytes) -> AsrResult | None:
        if self._finished:
            raise AsrStreamError("Vosk stream already finished; open a new one")
        self._samples += len(pcm) // 2
        self._since_partial += len(pcm) // 2
        try:
            if self._rec.AcceptWaveform(pcm):
                self._segments.append(json.loads(self._rec.Result()))
                partial = ""
            elif self._since_partial >= self._partial_every:
                partial = str(json.loads(self._rec.PartialResult()).get("partial", ""))
            else:
                return None
            self._since_partial = 0
        except Exception as exc:
            raise AsrStreamError(f"Vosk rejected {len(pcm)} bytes of audio: {exc}") from exc
        text = nfc(self._text(partial))
        if text == self._last_partial:
            return None
        self._last_partial = text
        return AsrResult(text, 0.0, False, self._engine, self._samples / self._rate)

    def finish(self) -> AsrResult:
        if self._finished:
            raise AsrStreamError("Vosk stream already finished")
        self._finished = True
        try:
            self._segments.append(json.loads(self._rec.FinalResult()))
        except Exception as exc:
            raise AsrStreamError(f"Vosk failed to finalise: {exc}") from exc
        words = tuple(
            Word(nfc(str(w["word"])), float(w["start"]), float(w["end"]), float(w["conf"]))
            for seg in self._segments
            for w in seg.get("result", [])
        )
        confidence = sum(w.confidence for w in words) / len(words) if words else 0.0
        return AsrResult(
            text=nfc(self._text()),
            confidence=confidence,
            is_final=True,
            engine=self._engine,
            audio_s=self._samples / self._rate,
            words=words,
        )
