"""Turn latency on real calls: from the end of the caller's speech to the first audio of our
answer, measured on the call's own audio, at 1 and N concurrent calls.

What it does: starts a private Asterisk (free loopback ports, like the test fixture), a speech
worker pool (`--workers`, default = cores) and our AudioSocket server; then for each level N
(1, 2, 4, ... up to `--max-calls`) places N simultaneous sipp calls, `--rounds` times. In each
call the caller (sipp) speaks a VIVOS dev sentence as RTP; we run a listen turn
(``EXEC AudioSocket`` over AsyncAGI, VAD + endpointing, recognition in the pool) and then the
answer turn, whose first prompt frame is "the first audio of our answer". Per call:

  total    = first answer frame written - arrival of the caller's last speech frame
  endpoint = end-of-utterance decided - last speech frame   (the trailing silence, --silence)
  asr      = transcript ready - end decided                (what the speculation didn't hide)
  answer   = first answer frame - transcript ready         (AGI round trip + socket connect)

and prints p50/p95 per level and the largest N whose p95 — and every smaller level's — stays
under --bound (1.5 s). Also the
worst lateness of any prompt frame against its 20 ms schedule (the loop was never blocked).

Examples:
  .venv/bin/python -m benchmarks.turn_latency                       whisper, N = 1, 2, 4
  .venv/bin/python -m benchmarks.turn_latency --max-calls 8 --rounds 3 --silence 0.5
  .venv/bin/python -m benchmarks.turn_latency --threads 2 --workers 1

Run it as a module (benchmarks/speech.py would shadow the speech package).
Needs: root (the private Asterisk chroot), sipp, the packaged Whisper model (hotline models),
/work/shared/data/vivos-dev (or --vivos DIR with transcripts.tsv).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import os
import statistics
import sys
import tempfile
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from hotline.commands.pbx import private_config
from hotline.settings import load_settings
from ivr.ami.client import AmiClient
from ivr.ami.errors import AmiError
from ivr.ami.events import AsyncAGIStart, Event
from ivr.pbx import LocalPbx, PbxConfig
from ivr.pbx.cache import remove_tree
from ivr.session import SessionConfig
from ivr.sipp import CallSpec, place_call
from ivr.voice.audiosocket import AudioSocketServer
from ivr.voice.listener import EARLY_S, AudioSocketListener, ListenerConfig
from speech.asr import AsrConfig, wer
from speech.workers import PoolConfig, SpeechPool

PBX_PROMPTS = "/var/lib/hotline/prompts"


@dataclass
class Sample:
    total: float
    endpoint: float
    asr: float
    answer: float
    wer: float
    lag: float


def tone(path: Path, seconds: float) -> None:
    t = np.arange(int(8000 * seconds)) / 8000
    pcm = (2000 * np.sin(2 * math.pi * 440 * t)).astype("<i2").tobytes()
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(8000)
        wav.writeframes(pcm)


def pbx_config(base: Path) -> PbxConfig:
    return private_config(load_settings(), base, ami_user="bench")


class Bench:
    def __init__(self, args: argparse.Namespace, config: PbxConfig) -> None:
        self.args = args
        self.config = config
        self.ami = AmiClient(
            "127.0.0.1", config.ami_port, config.ami_user, config.ami_secret, keepalive_s=None
        )
        self.starts: dict[str, asyncio.Future[AsyncAGIStart]] = {}
        self.server = AudioSocketServer("127.0.0.1", 0)
        self.counter = 0
        rows = (args.vivos / "transcripts.tsv").read_text(encoding="utf-8").splitlines()
        self.clips = [tuple(r.split("\t", 1)) for r in rows if r.strip()]

    def on_event(self, event: Event) -> None:
        if isinstance(event, AsyncAGIStart):
            future = self.starts.get(event.get("CallerIDNum") or "")
            if future is not None and not future.done():
                future.set_result(event)

    async def one_call(self, pool: SpeechPool, index: int) -> Sample:
        self.counter += 1
        caller = f"0912{self.counter:06d}"
        name, text = self.clips[index % len(self.clips)]
        started: asyncio.Future[AsyncAGIStart] = asyncio.get_running_loop().create_future()
        self.starts[caller] = started
        spec = CallSpec(
            sip_host="127.0.0.1",
            sip_port=self.config.sip_port,
            number=self.config.hotline_number,
            caller_id=caller,
            wav=self.args.vivos / name,
            wait_before_s=1.0,
            hangup_after_s=60.0,
            max_call_s=90.0,
        )
        call = asyncio.create_task(place_call(spec))
        try:
            start = await asyncio.wait_for(started, 20)
            channel = start.channel or ""
            listener = AudioSocketListener(
                self.ami,
                self.server,
                pool,
                ListenerConfig(
                    prompts_dir=self.config.prompts_dir,
                    recordings_dir=self.config.recordings_dir,
                    early_s=self.args.early if self.args.early > 0 else math.inf,
                ),
            )
            heard = await listener.listen(
                channel=channel,
                uniqueid=start.env.get("agi_uniqueid", caller),
                prompts=[f"{PBX_PROMPTS}/bench/hello"],
                silence_s=self.args.silence,
            )
            first = listener.last
            await listener.listen(
                channel=channel,
                uniqueid=caller,
                prompts=[f"{PBX_PROMPTS}/bench/answer"],
                no_input_s=0.3,
            )
            answer = listener.last
            with contextlib.suppress(AmiError):
                await self.ami.agi(channel, "HANGUP", timeout=5)
        finally:
            self.starts.pop(caller, None)
            with contextlib.suppress(Exception):
                await asyncio.wait_for(call, 30)
        assert first.speech_end_at and first.ended_at and first.transcript_at
        assert answer.first_audio_at
        return Sample(
            total=answer.first_audio_at - first.speech_end_at,
            endpoint=first.ended_at - first.speech_end_at,
            asr=first.transcript_at - first.ended_at,
            answer=answer.first_audio_at - first.transcript_at,
            wer=wer(text, heard.transcript),
            lag=max(first.max_lag_s, answer.max_lag_s),
        )

    async def run(self, console: Console) -> int:
        args = self.args
        tone(self.config.prompts_dir / "bench" / "hello.wav", 0.5)
        tone(self.config.prompts_dir / "bench" / "answer.wav", 0.5)
        settings = load_settings()
        pool = SpeechPool(
            PoolConfig(
                workers=args.workers or settings.workers,
                asr=AsrConfig.from_settings(
                    settings,
                    engine=args.engine,
                    cpu_threads=args.threads,
                    whisper_window=args.window,
                ),
                prompts_path=self.config.prompts_dir,
            )
        )
        self.ami.subscribe(self.on_event)
        await self.ami.connect()
        await self.server.start()
        await pool.start()
        levels: list[int] = []
        n = 1
        while n <= args.max_calls:
            levels.append(n)
            n *= 2
        table = Table(
            title=f"turn latency ({args.engine}, silence {args.silence} s, early {args.early} s)"
        )
        for col in (
            "calls",
            "n",
            "p50 s",
            "p95 s",
            "endpoint p50",
            "asr p50",
            "asr p95",
            "answer p50",
            "WER",
            "max frame lag",
        ):
            table.add_column(col, justify="right")
        carried = 0
        held = True  # every level so far kept p95 under the bound
        try:
            with Progress(console=console, transient=True) as progress:
                task = progress.add_task("calls", total=sum(levels) * args.rounds)
                for level in levels:
                    samples: list[Sample] = []
                    for r in range(args.rounds):
                        got = await asyncio.gather(
                            *(self.one_call(pool, r * level + i) for i in range(level)),
                            return_exceptions=True,
                        )
                        for item in got:
                            if isinstance(item, BaseException):
                                console.print(f"[red]call failed: {item!r}")
                            else:
                                samples.append(item)
                        progress.advance(task, level)
                    if not samples:
                        continue
                    totals = sorted(s.total for s in samples)
                    p95 = _pct(totals, 95)
                    held = held and p95 < args.bound
                    if held:
                        carried = level
                    table.add_row(
                        str(level),
                        str(len(samples)),
                        f"{_pct(totals, 50):.2f}",
                        f"{p95:.2f}",
                        f"{statistics.median(s.endpoint for s in samples):.2f}",
                        f"{statistics.median(s.asr for s in samples):.2f}",
                        f"{_pct(sorted(s.asr for s in samples), 95):.2f}",
                        f"{statistics.median(s.answer for s in samples):.2f}",
                        f"{statistics.mean(s.wer for s in samples):.2f}",
                        f"{max(s.lag for s in samples) * 1000:.0f} ms",
                    )
        finally:
            await pool.close()
            await self.server.close()
            await self.ami.close()
        console.print(table)
        console.print(
            f"largest N with p95 < {args.bound} s: {carried or 'none'} "
            f"({os.cpu_count()} cores, {pool.config.workers} workers x {args.threads} threads)"
        )
        return 0


def _pct(values: list[float], pct: int) -> float:
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[pct - 1]


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--max-calls", type=int, default=4, help="largest N (1, 2, 4, ...)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of N calls per level")
    parser.add_argument(
        "--silence",
        type=float,
        default=SessionConfig().answer_silence_s,
        help="end-of-speech silence, s (default: the product's for a short answer)",
    )
    parser.add_argument(
        "--early",
        type=float,
        default=EARLY_S,
        help="pause that starts a speculative ASR (0 = off; default: the product's)",
    )
    parser.add_argument("--engine", default="whisper", choices=("whisper", "vosk"))
    parser.add_argument(
        "--window",
        default="fit",
        choices=("fit", "full"),
        help="Whisper encoder window: fitted to short turns (default) or the full 30 s",
    )
    parser.add_argument("--workers", type=int, default=0, help="speech workers (0 = cores)")
    parser.add_argument("--threads", type=int, default=1, help="CPU threads per worker")
    parser.add_argument("--bound", type=float, default=1.5, help="p95 bound for 'carried', s")
    parser.add_argument(
        "--vivos", type=Path, default=Path("/work/shared/data/vivos-dev"), help="clips + tsv"
    )
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("needs root (the private Asterisk runs in a chroot)", file=sys.stderr)
        return 2
    console = Console()
    with tempfile.TemporaryDirectory(prefix="turn-latency-") as tmp:
        config = pbx_config(Path(tmp))
        config.prompts_dir.mkdir(parents=True)
        config.recordings_dir.mkdir(parents=True)
        local = LocalPbx(config)
        local.up()
        try:
            return asyncio.run(Bench(args, config).run(console))
        finally:
            local.down()
            remove_tree(config.root)


if __name__ == "__main__":
    raise SystemExit(main())
