"""Speech synthesis: backends (espeak-ng offline default, gTTS online) and prompt building.

Public API::

    from speech.tts import PromptBuilder, load_prompts
    builder = PromptBuilder(settings)              # settings.tts_backend, prompts_path, ...
    path = builder.ensure("Mã hồ sơ của quý vị là ...")   # -> <prompts_dir>/tts/<hash>.wav
    report = builder.build_all(load_prompts(settings.dialplans_dir / "prompts.yaml"))
    prune_dynamic(settings.prompts_path, older_than_s=7 * 86400, now=time.time())
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
    PruneReport,
    load_prompts,
    make_synthesizer,
    prune_dynamic,
)

__all__ = [
    "BuildReport",
    "EspeakSynthesizer",
    "GttsSynthesizer",
    "GttsTransport",
    "PromptBuilder",
    "PromptConfig",
    "PromptStatus",
    "PruneReport",
    "Synthesizer",
    "Throttle",
    "TtsTransport",
    "decode_audio_bytes",
    "load_prompts",
    "make_synthesizer",
    "prune_dynamic",
    "to_phone_audio",
]
