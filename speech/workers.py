"""The speech worker pool: recognition and synthesis in processes, off the event loop.

Models are CPU-bound (a Whisper decode holds a core for about a second) and partly hold the GIL,
so they run in a ``ProcessPoolExecutor`` sized to the cores (``settings.workers``). Each worker
process loads its models once, in the pool initializer, and keeps them for its lifetime; the
event loop only awaits futures::

    async with SpeechPool(PoolConfig.from_settings(settings)) as pool:
        result = await pool.transcribe(pcm_8k_bytes)           # AsrResult
        path = await pool.synthesize("Mã hồ sơ của Quý vị là ...")   # <prompts>/tts/<hash>.wav

Strategy: processes are started with ``spawn`` (no fork of a running event loop or of
CTranslate2 threads); ``start()`` submits one warm-up task per worker and waits until every
worker has loaded its engine (the initializers meet at a barrier), so the first caller does
not pay the load time. A worker that dies turns into ``WorkerPoolError`` (code
``speech-worker-failed``) for the affected calls.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol, TypeVar

from speech.asr.base import AsrEngine, AsrResult
from speech.asr.config import AsrConfig, AsrSettings, load_engine, resolve_model
from speech.audio import PHONE_RATE, Audio
from speech.errors import WorkerPoolError
from speech.tts.prompts import PromptBuilder

T = TypeVar("T")


class PoolSettings(AsrSettings, Protocol):
    @property
    def workers(self) -> int: ...

    @property
    def tts_backend(self) -> str: ...

    @property
    def prompts_path(self) -> Path: ...

    @property
    def recorded_prompts_path(self) -> Path: ...


@dataclass(frozen=True)
class PoolConfig:
    """Everything a worker process needs (picklable)."""

    workers: int
    asr: AsrConfig
    tts_backend: str = "espeak"
    prompts_path: Path = Path("var/prompts")
    recorded_prompts_path: Path = Path("dialplans/recorded")
    preload_asr: bool = True

    @classmethod
    def from_settings(cls, settings: PoolSettings, **asr_overrides: object) -> PoolConfig:
        return cls(
            workers=settings.workers,
            asr=AsrConfig.from_settings(settings, **asr_overrides),
            tts_backend=settings.tts_backend,
            prompts_path=settings.prompts_path,
            recorded_prompts_path=settings.recorded_prompts_path,
        )


# --- inside a worker process -----------------------------------------------------------------
@dataclass
class _WorkerState:
    config: PoolConfig
    engines: dict[str, AsrEngine] = field(default_factory=dict)
    builder: PromptBuilder | None = None

    def engine(self, name: str | None) -> AsrEngine:
        name = name or self.config.asr.engine
        if name not in self.engines:
            asr = self.config.asr
            if name != asr.engine:
                asr = AsrConfig(**{**asr.__dict__, "engine": name})
            self.engines[name] = load_engine(asr)
        return self.engines[name]

    def prompt_builder(self) -> PromptBuilder:
        if self.builder is None:
            self.builder = PromptBuilder(self.config)
        return self.builder


# The one per-process value: set by the pool initializer in each *worker* process, never in the
# process that owns the event loop. A process pool has no other place to keep loaded models.
_STATE: _WorkerState | None = None


# Workers run below the event loop's priority: on 2 cores with 2 busy workers, the process that
# paces prompt audio was starved (one 20 ms frame 188 ms late at 4 calls); niced, it keeps time.
WORKER_NICENESS = 5


def _initialise(config: PoolConfig, barrier: Any) -> None:
    global _STATE
    os.nice(WORKER_NICENESS)
    _STATE = _WorkerState(config)
    if config.preload_asr:
        _STATE.engine(None)
    # wait for the others: the warm-up tasks then land one per worker, not all on the fastest
    barrier.wait(timeout=600)


def _state() -> _WorkerState:
    if _STATE is None:  # pragma: no cover - only if called outside the pool
        raise WorkerPoolError("speech worker used before its initializer ran")
    return _STATE


def _ready() -> int:
    _state()
    time.sleep(0.05)  # hold the slot so that the other warm-up tasks reach other workers
    return os.getpid()


def _transcribe(
    pcm: bytes,
    rate: int,
    engine: str | None,
    grammar: tuple[str, ...] | None,
    hotwords: tuple[str, ...] | None,
) -> AsrResult:
    audio = Audio.from_bytes(pcm, rate)
    return _state().engine(engine).transcribe(audio, grammar=grammar, hotwords=hotwords)


def _synthesize(text: str) -> Path:
    return _state().prompt_builder().ensure(text)


# --- in the event loop's process -------------------------------------------------------------
class SpeechPool:
    """Async front of the worker processes."""

    def __init__(self, config: PoolConfig) -> None:
        self.config = config
        self._executor: ProcessPoolExecutor | None = None
        self.worker_pids: set[int] = set()

    async def start(self) -> None:
        """Spawn the workers and wait until each has loaded its models."""
        if self._executor is not None:
            return
        if self.config.preload_asr:
            # a missing model is a clear asr-model-missing here, not a broken pool later
            await asyncio.get_running_loop().run_in_executor(None, resolve_model, self.config.asr)
        context = multiprocessing.get_context("spawn")
        workers = max(1, self.config.workers)
        self._executor = ProcessPoolExecutor(
            max_workers=workers,
            mp_context=context,
            initializer=_initialise,
            initargs=(self.config, context.Barrier(workers)),
        )
        pids = await asyncio.gather(*(self._run(_ready) for _ in range(workers)))
        self.worker_pids = set(pids)

    async def _run(self, fn: Callable[..., T], *args: object) -> T:
        if self._executor is None:
            raise WorkerPoolError("speech pool is not started (await pool.start())")
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._executor, fn, *args)
        except BrokenProcessPool as exc:
            raise WorkerPoolError(f"a speech worker process died: {exc}") from exc

    async def transcribe(
        self,
        audio: Audio | bytes,
        *,
        rate: int = PHONE_RATE,
        engine: str | None = None,
        grammar: Sequence[str] | None = None,
        hotwords: Sequence[str] | None = None,
    ) -> AsrResult:
        """Recognise one utterance (an ``Audio`` or raw s16 PCM at ``rate``) in a worker."""
        if isinstance(audio, Audio):
            pcm, rate = audio.to_bytes(), audio.rate
        else:
            pcm = audio
        return await self._run(
            _transcribe,
            pcm,
            rate,
            engine,
            tuple(grammar) if grammar is not None else None,
            tuple(hotwords) if hotwords is not None else None,
        )

    async def synthesize(self, text: str) -> Path:
        """The cached prompt WAV of ``text`` (``<prompts>/tts/<hash>.wav``), built in a worker."""
        return await self._run(_synthesize, text)

    async def close(self) -> None:
        executor, self._executor = self._executor, None
        if executor is not None:
            await asyncio.get_running_loop().run_in_executor(None, executor.shutdown, True)

    async def __aenter__(self) -> SpeechPool:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()
