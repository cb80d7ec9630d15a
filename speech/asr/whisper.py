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

Fitted window (``window="fit"``, the default): Whisper's encoder is trained on 30 s windows and
faster-whisper always pads to one, so a 2 s answer costs the same ~1.7 s of encoder as 30 s of
speech. CTranslate2 accepts a shorter mel input (the positional embedding is sliced), so short
utterances are encoded with their own length plus ``fit_margin_s`` (2 s) of padding — the
``audio_ctx`` trick of whisper.cpp. A shorter window loses the model's sense of where the audio
ends, so the decoder is bounded (``FIT_TOKENS_PER_S``), nudged off loops
(``FIT_REPETITION_PENALTY``) and a looped tail is cut (``collapse_repeats``). Measured on the 20
vivos phone-line files: WER 44.0 % vs 42.4 % with the full window, decode median 0.47 s vs
2.03 s per utterance (docs/benchmarks.md "Speech recognition"). Audio that would not fit in
30 s with the margin takes the full-window path (faster-whisper's own, 30 s chunks).
The model directory is local (``local_files_only``; ``HF_HUB_OFFLINE=1``): nothing downloads.
"""

from __future__ import annotations

import math
import os
import zlib
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
# Fitted window: the encoder's full window, how many decoder tokens a second of Vietnamese speech
# may need at most (syllables are 1-3 BPE tokens, ~4 syllables/s), and the loop penalty.
FULL_WINDOW_S = 30.0
FRAMES_PER_S = 100
FIT_TOKENS_PER_S = 15
FIT_EXTRA_TOKENS = 10
FIT_REPETITION_PENALTY = 1.1
WINDOWS = ("fit", "full")
# faster-whisper's no-speech rule (a segment that is probably not speech)
NO_SPEECH_PROB = 0.6
NO_SPEECH_LOGPROB = -1.0

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


def compression_ratio(text: str) -> float:
    """Whisper's degenerate-decode measure: UTF-8 length over its zlib-compressed length."""
    data = text.encode("utf-8")
    return len(data) / len(zlib.compress(data)) if data else 0.0


def _word_key(word: str) -> str:
    return "".join(ch for ch in word.lower() if ch.isalnum())


def collapse_repeats(text: str) -> str:
    """Cut a decoder loop that ran into the length bound: ``"a b. a b. a"`` → ``"a b"``.

    Only for a decode that hit its bound (a decode that ended by itself is what the caller
    said: "một hai một hai" is a code, not a loop). The text is a loop when, from some period
    ``p`` on, every word repeats the word ``p`` earlier — at least two words of it — and the last
    word may be cut short. The shortest such period wins; otherwise the text is unchanged.
    """
    words = text.split()
    keys = [_word_key(w) for w in words]
    n = len(words)
    for period in range(1, n - 1):
        body = all(keys[i] == keys[i - period] for i in range(period, n - 1))
        if body and keys[n - 1 - period].startswith(keys[n - 1]):
            return " ".join(words[:period]).rstrip(".,;:!?")
    return text


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
        window: str = "fit",
        fit_margin_s: float = 2.0,
    ) -> None:
        if window not in WINDOWS:
            raise AsrError(f"unknown Whisper window {window!r}; choose one of {', '.join(WINDOWS)}")
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
        from faster_whisper.tokenizer import Tokenizer

        # the fitted path's decoder prompt (the full path builds its own in faster-whisper)
        self._tokenizer = Tokenizer(
            self._model.hf_tokenizer, True, task="transcribe", language=language
        )
        self.model_dir = model_dir
        self.beam_size = beam_size
        self.language = language
        self.vad = vad
        self.hotwords = tuple(hotwords)
        self.window = window
        self.fit_margin_s = fit_margin_s

    def transcribe(
        self,
        audio: Audio,
        *,
        grammar: Sequence[str] | None = None,
        hotwords: Sequence[str] | None = None,
    ) -> AsrResult:
        bias = list(hotwords if hotwords is not None else self.hotwords) + list(grammar or ())
        samples = audio.to_rate(WHISPER_RATE).samples.astype(np.float32) / 32768.0
        if self.window == "fit" and audio.duration_s + self.fit_margin_s < FULL_WINDOW_S:
            return self._transcribe_fitted(samples, audio.duration_s, " ".join(bias) or None)
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

    def _transcribe_fitted(
        self, samples: np.ndarray[Any, Any], duration_s: float, hotwords: str | None
    ) -> AsrResult:
        """Decode a short utterance with an encoder window fitted to it (see module doc)."""
        from ctranslate2 import StorageView
        from faster_whisper.vad import collect_chunks, get_speech_timestamps

        def empty() -> AsrResult:
            return AsrResult("", 0.0, True, self.name, audio_s=duration_s)

        if self.vad:
            spans = get_speech_timestamps(samples)
            if not spans:
                return empty()
            chunks, _meta = collect_chunks(samples, spans)
            samples = np.concatenate(chunks)
        model = self._model
        features = model.feature_extractor(samples)
        frames = min(
            int(FULL_WINDOW_S * FRAMES_PER_S),
            features.shape[-1] + int(self.fit_margin_s * FRAMES_PER_S),
        )
        frames += frames % 2  # the encoder's stride-2 convolution wants an even length
        window = np.zeros((features.shape[0], frames), dtype=np.float32)
        used = min(frames, features.shape[-1])
        window[:, :used] = features[:, :used]
        tokenizer = self._tokenizer
        prompt = model.get_prompt(tokenizer, [], without_timestamps=True, hotwords=hotwords)
        speech_s = len(samples) / WHISPER_RATE
        max_length = min(
            model.max_length,
            len(prompt) + int(speech_s * FIT_TOKENS_PER_S) + FIT_EXTRA_TOKENS,
        )
        try:
            result = model.model.generate(
                StorageView.from_array(window[np.newaxis]),
                [prompt],
                beam_size=self.beam_size,
                max_length=max_length,
                repetition_penalty=FIT_REPETITION_PENALTY,
                return_scores=True,
                return_no_speech_prob=True,
                suppress_blank=True,
                suppress_tokens=[-1],
            )[0]
        except (RuntimeError, ValueError) as exc:
            raise AsrError(f"Whisper failed on {duration_s:.1f} s of audio: {exc}") from exc
        sequence = result.sequences_ids[0]
        tokens = [t for t in sequence if t < tokenizer.eot]
        # faster-whisper's average log-probability from CTranslate2's length-normalised score
        avg_logprob = result.scores[0] * len(tokens) / (len(tokens) + 1) if tokens else -10.0
        text = nfc(tokenizer.decode(tokens)).strip()
        if len(prompt) + len(sequence) >= max_length:  # no end of text: maybe a loop
            text = collapse_repeats(text)
        not_speech = result.no_speech_prob > NO_SPEECH_PROB and avg_logprob < NO_SPEECH_LOGPROB
        looped = compression_ratio(text) > MAX_COMPRESSION_RATIO  # what the full path drops
        if not text or not_speech or looped or is_hallucination(text):
            return empty()
        confidence = min(1.0, max(0.0, math.exp(avg_logprob)))
        return AsrResult(
            text=text,
            confidence=confidence,
            is_final=True,
            engine=self.name,
            audio_s=duration_s,
            words=(Word(text, 0.0, speech_s, confidence),),
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
