"""Speech recognition: one streaming interface, endpointing, and the Whisper and Vosk engines.

Public API::

    from speech.asr import AsrConfig, load_engine, Utterance, EndpointConfig
    engine = load_engine(AsrConfig.from_settings(settings))       # once per process
    result = engine.transcribe(read_wav("call.wav"))               # AsrResult(text, confidence)
    utt = Utterance(engine.open_stream(rate=8000), endpoint=EndpointConfig(trailing_silence_s=0.8))
    for frame in frames_of_20ms:                                   # 320 bytes of 8 kHz s16
        update = utt.feed(frame)                                   # partial / event / final
        if update.final: break

Engines load lazily (the heavy imports live in ``speech.asr.whisper``/``speech.asr.vosk``).
"""

from __future__ import annotations

from speech.asr.base import AsrEngine, AsrResult, RecognitionStream, Word
from speech.asr.config import ENGINES, AsrConfig, AsrSettings, load_engine
from speech.asr.endpoint import (
    EndpointConfig,
    Endpointer,
    EndpointEvent,
    EndpointState,
    EnergyVad,
)
from speech.asr.stream import Utterance, UtteranceUpdate
from speech.asr.wer import corpus_wer, wer

__all__ = [
    "ENGINES",
    "AsrConfig",
    "AsrEngine",
    "AsrResult",
    "AsrSettings",
    "EndpointConfig",
    "EndpointEvent",
    "EndpointState",
    "Endpointer",
    "EnergyVad",
    "RecognitionStream",
    "Utterance",
    "UtteranceUpdate",
    "Word",
    "corpus_wer",
    "load_engine",
    "wer",
]
