"""Speech workers run at a lower CPU priority than the process with the event loop, so a long
recognition never delays another caller's prompt audio (real worker processes, no model)."""

from __future__ import annotations

import os
from pathlib import Path

from hotline.settings import load_settings
from speech.asr import AsrConfig
from speech.workers import WORKER_NICENESS, PoolConfig, SpeechPool


async def test_workers_run_niced_below_the_event_loop(tmp_path: Path) -> None:
    config = PoolConfig(
        workers=2,
        asr=AsrConfig.from_settings(load_settings(), engine="whisper"),
        prompts_path=tmp_path / "prompts",
        recorded_prompts_path=tmp_path / "recorded",
        preload_asr=False,
    )
    ours = os.getpriority(os.PRIO_PROCESS, 0)
    async with SpeechPool(config) as pool:
        assert len(pool.worker_pids) == 2
        niceness = {os.getpriority(os.PRIO_PROCESS, pid) for pid in pool.worker_pids}
    assert niceness == {min(19, ours + WORKER_NICENESS)}
    assert os.getpriority(os.PRIO_PROCESS, 0) == ours  # the loop's process is untouched
