"""Speech synthesis: backends (espeak-ng offline default, gTTS online) and prompt building.

Public API::

    from speech.tts import PromptBuilder, load_prompts
    builder = PromptBuilder(settings)              # settings.tts_backend, prompts_path, ...
    path = builder.ensure("Mã hồ sơ của quý vị là ...")   # -> <prompts_dir>/tts/<hash>.wav
    report = builder.build_all(load_prompts(settings.dialplans_dir / "prompts.yaml"))
"""

from __future__ import annotations

from speech.tts.base import Synthesizer, decode_audio_bytes, to_phone_audio
from speech.tts.espeak import EspeakSynthesizer
from speech.tts.gtts import GttsSynthesizer, GttsTransport, Throttle, TtsTransport
from speech.tts.prompts import (
    BuildReport,
    PromptBuilder,
    PromptConfig,
    PromptStatus,
    load_prompts,
    make_synthesizer,
)

__all__ = [
    "BuildReport",
    "EspeakSynthesizer",
    "GttsSynthesizer",
    "GttsTransport",
    "PromptBuilder",
    "PromptConfig",
    "PromptStatus",
    "Synthesizer",
    "Throttle",
    "TtsTransport",
    "decode_audio_bytes",
    "load_prompts",
    "make_synthesizer",
    "to_phone_audio",
]
