"""Whisper base on all 20 vivos-dev recordings through a phone line: the corpus WER, pinned.

Issue 4 asks for the 20 real Vietnamese recordings degraded to telephone quality (300–3400 Hz,
8 kHz, G.711 μ-law: ``speech.audio.phone_line``) to come back with a measured WER pinned as a
regression bound. They are transcribed by the default engine (Whisper base, int8, beam 1, one
thread per worker) in the production worker pool (``speech.workers.SpeechPool``, 2 workers), so
the 20 decodes take about half the wall time of one process and the pool's spawn/preload path
is exercised on real audio too.

The files in tests/data/vivos are CC BY-NC-SA 4.0 (AILAB, VNU-HCM) — tests only, never shipped
in the product (see tests/data/vivos/README.md).
"""

from __future__ import annotations

import asyncio
import time
import unicodedata
from pathlib import Path

import pytest

from hotline.settings import load_settings
from speech.asr import AsrConfig, AsrResult, corpus_wer, wer
from speech.audio import phone_line, read_wav
from speech.workers import PoolConfig, SpeechPool

pytestmark = pytest.mark.models

VIVOS = Path(__file__).resolve().parents[2] / "tests" / "data" / "vivos"

# Measured 2026-11-25 on 2 cores (AMD EPYC), Whisper base int8, beam 1, the default fitted
# encoder window: 44.0 % corpus WER (81 errors in the 184 reference words; the same as
# benchmarks/speech.py in one process), the 20 decodes in ~5 s of wall time. With the full 30 s
# window (HOTLINE_WHISPER_WINDOW=full) it was 42.4 % in 27 s (~2 s of CPU per utterance). Pinned
# at 50 % (92 errors): headroom for int8 kernels that differ between CPUs; a rise past it is a
# regression of the audio path (phone_line), the decoding options, the pool or the model.
VIVOS20_WER_BOUND = 0.50


# transcripts.tsv holds the 5 files that the other speech tests use (they read all its rows);
# transcripts-more.tsv the other 15 of vivos-dev.
TRANSCRIPTS = ("transcripts.tsv", "transcripts-more.tsv")


def vivos_rows() -> list[tuple[str, str]]:
    lines = [
        line
        for tsv in TRANSCRIPTS
        for line in (VIVOS / tsv).read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    return sorted((name, ref) for name, ref in (line.split("\t", 1) for line in lines))


async def transcribe_all(
    names: list[str], prompts: Path
) -> tuple[list[AsrResult], set[int], float]:
    config = PoolConfig(
        workers=2,
        asr=AsrConfig.from_settings(load_settings(), engine="whisper"),
        prompts_path=prompts / "prompts",
        recorded_prompts_path=prompts / "recorded",
    )
    audio = [phone_line(read_wav(VIVOS / name)) for name in names]
    async with SpeechPool(config) as pool:
        started = time.perf_counter()
        results = await asyncio.gather(*(pool.transcribe(a) for a in audio))
        return list(results), pool.worker_pids, time.perf_counter() - started


def test_the_twenty_vivos_files_are_all_here() -> None:
    rows = vivos_rows()
    assert len(rows) == 20 and len({name for name, _ in rows}) == 20
    missing = [name for name, _ in rows if not (VIVOS / name).is_file()]
    assert not missing, f"tests/data/vivos lacks {missing}: copy them from ../shared/data/vivos-dev"


async def test_vivos20_on_the_phone_line_within_the_pinned_wer(tmp_path: Path) -> None:
    rows = vivos_rows()
    results, pids, wall_s = await transcribe_all([name for name, _ in rows], tmp_path)
    assert len(pids) == 2  # both workers loaded Whisper and took warm-up work
    pairs = []
    for (name, ref), result in zip(rows, results, strict=True):
        assert result.is_final and result.engine == "whisper", name
        assert result.text == unicodedata.normalize("NFC", result.text), name
        pairs.append((ref, result.text))
    measured = corpus_wer(pairs)
    detail = "\n".join(f"{wer(r, h):.0%}  {r!r} → {h!r}" for r, h in pairs)
    print(f"vivos20 WER {measured:.1%} in {wall_s:.1f} s wall\n{detail}")
    assert measured <= VIVOS20_WER_BOUND, f"WER {measured:.1%} > {VIVOS20_WER_BOUND:.0%}:\n{detail}"
    # every recording is read speech: an empty transcript is a broken audio path, not a miss
    assert all(result.text for result in results), detail
