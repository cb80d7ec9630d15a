"""Which recognition engine to load, with what model, and how — one picklable value.

``AsrConfig`` travels to the worker processes (``speech.workers``), so it holds only paths and
numbers; ``load_engine(config)`` is the one place that turns it into a loaded model.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Protocol

from speech.asr.base import AsrEngine
from speech.asr.models import resolve_vosk_model, resolve_whisper_model
from speech.errors import AsrEngineUnknownError

ENGINES = ("whisper", "vosk")


class AsrSettings(Protocol):
    """What ``AsrConfig.from_settings`` reads (``hotline.settings.Settings`` fits)."""

    @property
    def asr_engine(self) -> str: ...

    @property
    def whisper_model_dir(self) -> Path | None: ...

    @property
    def vosk_model_dir(self) -> Path | None: ...

    @property
    def models_dir(self) -> Path: ...

    @property
    def whisper_window(self) -> str: ...


@dataclass(frozen=True)
class AsrConfig:
    engine: str = "whisper"
    models_dir: Path = Path("var/models")
    whisper_model_dir: Path | None = None
    vosk_model_dir: Path | None = None
    beam_size: int = 1
    compute_type: str = "int8"
    cpu_threads: int = 1
    hotwords: tuple[str, ...] = ()
    whisper_window: str = "fit"  # "fit": short utterances get a fitted encoder window
    vosk_unknown_word: str = "[unk]"

    def __post_init__(self) -> None:
        if self.engine not in ENGINES:
            raise AsrEngineUnknownError(
                f"unknown ASR engine {self.engine!r}; choose one of {', '.join(ENGINES)}"
            )

    @classmethod
    def from_settings(cls, settings: AsrSettings, **overrides: object) -> AsrConfig:
        base = cls(
            engine=settings.asr_engine,
            models_dir=settings.models_dir,
            whisper_model_dir=settings.whisper_model_dir,
            vosk_model_dir=settings.vosk_model_dir,
            whisper_window=settings.whisper_window,
        )
        return replace(base, **overrides)  # type: ignore[arg-type]


def resolve_model(config: AsrConfig) -> Path:
    """The model directory the engine would load (raises ``asr-model-missing`` early)."""
    if config.engine == "whisper":
        return resolve_whisper_model(config.whisper_model_dir, config.models_dir)
    return resolve_vosk_model(config.vosk_model_dir, config.models_dir)


def load_engine(config: AsrConfig) -> AsrEngine:
    """Load the configured engine's model (seconds: do it once per process)."""
    if config.engine == "whisper":
        from speech.asr.whisper import WhisperEngine

        return WhisperEngine(
            resolve_whisper_model(config.whisper_model_dir, config.models_dir),
            beam_size=config.beam_size,
            compute_type=config.compute_type,
            cpu_threads=config.cpu_threads,
            hotwords=config.hotwords,
            window=config.whisper_window,
        )
    from speech.asr.vosk import VoskEngine

    return VoskEngine(
        resolve_vosk_model(config.vosk_model_dir, config.models_dir),
        unknown_word=config.vosk_unknown_word,
    )
