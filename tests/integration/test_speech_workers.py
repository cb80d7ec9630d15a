"""speech.workers: recognition and synthesis run in worker processes, off the event loop."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from hotline.settings import load_settings
from speech.asr import AsrConfig, wer
from speech.audio import phone_line, read_wav
from speech.workers import PoolConfig, SpeechPool

pytestmark = pytest.mark.models

VIVOS = Path(__file__).resolve().parent.parent / "data" / "vivos"


async def test_two_recognitions_do_not_block_the_event_loop(tmp_path: Path) -> None:
    settings = load_settings()
    rows = [
        line.split("\t", 1)
        for line in (VIVOS / "transcripts.tsv").read_text(encoding="utf-8").splitlines()
        if line.strip()
    ][:2]
    clips = [phone_line(read_wav(VIVOS / name)) for name, _ in rows]
    # the full 30 s window (~2 s a decode): work long enough that a loop waiting on it would
    # stall far past the bound below (the default fitted window decodes these in ~0.4 s)
    config = PoolConfig(
        workers=2,
        asr=AsrConfig.from_settings(settings, engine="whisper", whisper_window="full"),
        prompts_path=tmp_path / "prompts",
        recorded_prompts_path=tmp_path / "recorded",
    )
    gaps: list[float] = []
    stop = asyncio.Event()

    async def heartbeat() -> None:
        last = time.perf_counter()
        while not stop.is_set():
            await asyncio.sleep(0.01)
            now = time.perf_counter()
            gaps.append(now - last)
            last = now

    async with SpeechPool(config) as pool:
        assert len(pool.worker_pids) == 2  # both workers loaded their model
        beat = asyncio.create_task(heartbeat())
        started = time.perf_counter()
        results = await asyncio.gather(
            pool.transcribe(clips[0]), pool.transcribe(clips[1]), pool.synthesize("Xin chào")
        )
        busy = time.perf_counter() - started
        stop.set()
        await beat
    first, second, prompt = results
    assert wer(rows[0][1], first.text) <= 0.6 and wer(rows[1][1], second.text) <= 0.6
    assert prompt.parent == tmp_path / "prompts" / "tts" and prompt.exists()
    # The recognitions kept the workers busy for a good while; the loop kept ticking meanwhile.
    assert busy > 0.5
    assert max(gaps) < 0.25, f"event loop stalled for {max(gaps):.3f} s"
    assert len(gaps) > busy / 0.05


async def test_pool_with_a_missing_model_fails_before_spawning(tmp_path: Path) -> None:
    from speech.errors import AsrModelMissingError

    config = PoolConfig(workers=2, asr=AsrConfig(engine="vosk", models_dir=tmp_path))
    pool = SpeechPool(config)
    with pytest.raises(AsrModelMissingError, match="hotline models fetch vosk-vn"):
        await pool.start()
    await pool.close()


async def test_pool_not_started_is_a_clear_error(tmp_path: Path) -> None:
    from speech.errors import WorkerPoolError

    pool = SpeechPool(PoolConfig(workers=1, asr=AsrConfig(models_dir=tmp_path)))
    with pytest.raises(WorkerPoolError, match="not started"):
        await pool.synthesize("x")
