"""Load run: N sipp calls at R calls/s through a real Asterisk and our call controller.

What it does, in order:
  1. starts a PRIVATE Asterisk (ivr.pbx, restored from the cached chroot; free ports, a wide
     RTP range so the concurrent calls fit), never the shared one on 5038/5060;
  2. starts the responder that drives the calls over AMI/AsyncAGI, as its own process so its
     CPU can be read from /proc/<pid>/stat:
       --mode controller   `hotline run` (our controller, menus, call records in SQLite);
       --mode trivial      a trivial AGI responder written here (STREAM FILE + WAIT FOR DIGIT
                           in a loop), to measure Asterisk + AMI alone;
  3. logs in to AMI as an observer and timestamps every AsyncAGIStart / AGIExecStart /
     AsyncAGIExec (Asterisk's own `Timestamp:` header, manager.conf timestampevents = yes);
  4. places the calls with sipp (ivr.sipp.run_load): each call waits --wait s, presses --dtmf
     (RFC 4733), stays --hangup-after s more, hangs up;
  5. prints: calls completed (answered and ended by BYE/200), AGI command pickup p50/p99,
     responder and Asterisk CPU, call records written (controller mode), and with
     --write-docs puts the figures and the command into docs/benchmarks.md `## Load run`.

AGI command pickup, from Asterisk's AMI timestamps:
  first  = AsyncAGIStart -> first AGIExecStart on the channel (event to the responder, its
           decision, Action: AGI, Asterisk dequeues the command);
  next   = AsyncAGIExec (a command finished) -> the next AGIExecStart on the same channel.

Examples:
  .venv/bin/python benchmarks/load.py                         300 calls, 10/s, controller
  .venv/bin/python benchmarks/load.py --mode trivial --calls 100 --rate 20
  .venv/bin/python benchmarks/load.py --write-docs

Needs: root, sipp (sip-tester), the cached Asterisk chroot (make pbx builds it), and for
--mode controller the built prompts (hotline prompts build) and ivr/controller.py.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from hotline.commands.pbx import private_config  # noqa: E402
from hotline.settings import load_settings  # noqa: E402
from ivr.ami.client import AmiClient  # noqa: E402
from ivr.ami.errors import AmiError  # noqa: E402
from ivr.pbx import LocalPbx, PbxConfig  # noqa: E402
from ivr.pbx.cache import remove_tree  # noqa: E402
from ivr.sipp import CallSpec, LoadReport, LoadSpec, place_call, run_load  # noqa: E402

DOCS = REPO / "docs" / "benchmarks.md"
SECTION = "## Load run"
CLK_TCK = os.sysconf("SC_CLK_TCK")


# --- measurements --------------------------------------------------------------------------


def proc_cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process and its reaped children (/proc/<pid>/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    # after the ")": state is field 3, utime 14, stime 15, cutime 16, cstime 17 (1-based)
    utime, stime, cutime, cstime = (int(fields[i]) for i in (11, 12, 13, 14))
    return (utime + stime + cutime + cstime) / CLK_TCK


def thread_cpu_s(pid: int) -> dict[int, float]:
    """CPU seconds per thread (task) of a process; the main thread's tid is the pid."""
    out: dict[int, float] = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(OSError):
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
            out[int(task.name)] = (int(fields[11]) + int(fields[12])) / CLK_TCK
    return out


@dataclass
class AgiTimings:
    """Per channel: when it entered AsyncAGI, when each command started and finished."""

    started: dict[str, float] = field(default_factory=dict)
    exec_start: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    exec_end: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    hangups: int = 0

    def reset(self) -> None:
        self.started.clear()
        self.exec_start.clear()
        self.exec_end.clear()
        self.hangups = 0

    def on_event(self, event: Any) -> None:
        name = event.name
        channel = event.get("Channel") or ""
        stamp = event.get("Timestamp")
        at = float(stamp) if stamp else time.time()
        if name == "AsyncAGIStart":
            self.started.setdefault(channel, at)
        elif name == "AGIExecStart":
            self.exec_start[channel].append(at)
        elif name == "AsyncAGIExec":
            self.exec_end[channel].append(at)
        elif name == "Hangup":
            self.hangups += 1

    def first_pickup_ms(self) -> list[float]:
        out = []
        for channel, start in self.started.items():
            execs = self.exec_start.get(channel)
            if execs:
                out.append((execs[0] - start) * 1000)
        return out

    def next_pickup_ms(self) -> list[float]:
        out = []
        for channel, ends in self.exec_end.items():
            starts = sorted(self.exec_start.get(channel, []))
            for end in ends:
                later = [s for s in starts if s >= end]
                if later:
                    out.append((later[0] - end) * 1000)
        return out


def percentiles(values: list[float]) -> str:
    if not values:
        return "n/a (no samples)"
    arr = np.array(values)
    p50, p99 = np.percentile(arr, [50, 99])
    return f"p50 {p50:.1f} ms, p99 {p99:.1f} ms, max {arr.max():.1f} ms (n={len(arr)})"


# --- the trivial responder (its own process) ---------------------------------------------


async def responder_main(args: argparse.Namespace) -> int:
    """Answer every AsyncAGI channel with STREAM FILE + WAIT FOR DIGIT until it hangs up."""
    client = AmiClient("127.0.0.1", args.ami_port, args.ami_user, args.ami_secret)
    tasks: set[asyncio.Task[None]] = set()

    async def drive(channel: str) -> None:
        with contextlib.suppress(AmiError):
            while True:
                await client.agi(channel, f'STREAM FILE {args.prompt} "0123456789*#"')
                await client.agi(channel, "WAIT FOR DIGIT 3000")

    def on_event(event: Any) -> None:
        if event.name == "AsyncAGIStart":
            task = asyncio.create_task(drive(event.get("Channel") or ""))
            tasks.add(task)
            task.add_done_callback(tasks.discard)

    client.subscribe(on_event, "AsyncAGIStart")
    await client.connect()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    await stop.wait()
    await client.close()
    return 0


# --- the run -----------------------------------------------------------------------------


def ensure_prompts(console: Console) -> None:
    """The controller plays the built prompts: build them once (as `make prompts` does)."""
    settings = load_settings()
    if not any(settings.prompts_path.glob("*.wav")):
        console.print(f"building the prompts into {settings.prompts_path} (hotline prompts build)")
        command = [sys.executable, "-m", "hotline.cli", "prompts", "build"]
        subprocess.run(command, cwd=REPO, check=True)


def make_config(base: Path, rtp_span: int) -> PbxConfig:
    return private_config(load_settings(), base, ami_user="hotline-bench", rtp_span=rtp_span)


def start_responder(
    args: argparse.Namespace, config: PbxConfig, base: Path, console: Console
) -> tuple[subprocess.Popen[bytes], str]:
    env = dict(os.environ)
    log_path = base / f"{args.mode}.log"
    log = log_path.open("wb")
    if args.mode == "controller":
        db_url = f"sqlite:///{base / 'bench.db'}"
        from cases.db import upgrade

        upgrade(db_url)
        env.update(
            {
                "HOTLINE_AMI_HOST": "127.0.0.1",
                "HOTLINE_AMI_PORT": str(config.ami_port),
                "HOTLINE_AMI_USER": config.ami_user,
                "HOTLINE_AMI_SECRET": config.ami_secret,
                "HOTLINE_SIP_PORT": str(config.sip_port),
                "HOTLINE_PROMPTS_DIR": str(config.prompts_dir),
                "HOTLINE_RECORDINGS_DIR": str(config.recordings_dir),
                "HOTLINE_STATE_DIR": str(base / "state"),
                "HOTLINE_DATABASE_URL": db_url,
                "HOTLINE_LOG_LEVEL": "WARNING",
            }
        )
        command = [sys.executable, "-m", "hotline.cli", "run"]
        if args.profile:
            command[1:1] = ["-m", "cProfile", "-o", str(base / "controller.prof")]
    else:
        db_url = ""
        command = [
            sys.executable,
            str(Path(__file__).resolve()),
            "--responder",
            "--ami-port",
            str(config.ami_port),
            "--ami-user",
            config.ami_user,
            "--ami-secret",
            config.ami_secret,
            "--prompt",
            args.prompt,
        ]
    proc = subprocess.Popen(command, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    console.print(f"{args.mode} responder: pid {proc.pid}, log {log_path}")
    return proc, db_url


def db_counts(db_url: str, since: datetime, keys: str) -> tuple[dict[str, int], int]:
    """Outcomes of the call records opened since `since`, and how many recorded `keys`."""
    from sqlalchemy import text

    from cases.db import make_engine

    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT coalesce(outcome, 'OPEN'), count(*) FROM call_records "
                    "WHERE started_at >= :since GROUP BY 1"
                ),
                {"since": since.replace(tzinfo=None)},
            ).all()
            with_keys = conn.execute(
                text(
                    "SELECT count(DISTINCT s.call_id) FROM call_steps s "
                    "JOIN call_records r ON r.id = s.call_id "
                    "WHERE r.started_at >= :since AND s.kind = 'digits' AND s.digits = :keys"
                ),
                {"since": since.replace(tzinfo=None), "keys": keys},
            ).scalar_one()
    finally:
        engine.dispose()
    return {str(outcome): int(count) for outcome, count in rows}, int(with_keys)


def asterisk_pid(root: Path) -> int | None:
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            exe = os.readlink(entry / "root")
            cmd = (entry / "cmdline").read_bytes().split(b"\0")[0]
        except OSError:
            continue
        if exe == str(root) and cmd.endswith(b"asterisk"):
            return int(entry.name)
    return None


@dataclass
class Result:
    load: LoadReport
    completed: int
    timings: AgiTimings
    responder_cpu: float
    asterisk_cpu: float | None
    wall_s: float
    db: dict[str, int] | None
    db_keys: int | None
    peak_concurrent: int
    responder_main_cpu: float  # share of one core used by the responder's main (loop) thread
    loadavg: tuple[float, float]  # 1-minute load average before and after the run


def setup_ms(load: LoadReport) -> list[float]:
    """INVITE sent -> 200 OK received, per answered call (sipp's timestamps)."""
    out = []
    for steps in load.per_call().values():
        invite = next((s.at for s in steps if s.method == "INVITE" and not s.is_response), None)
        ok = next((s.at for s in steps if s.cseq_method == "INVITE" and s.status == 200), None)
        if invite is not None and ok is not None:
            out.append((ok - invite).total_seconds() * 1000)
    return out


def peak_concurrency(load: LoadReport) -> int:
    events: list[tuple[float, int]] = []
    for steps in load.per_call().values():
        times = [s.at.timestamp() for s in steps]
        events += [(min(times), 1), (max(times), -1)]
    current = peak = 0
    for _, delta in sorted(events):
        current += delta
        peak = max(peak, current)
    return peak


async def bench(args: argparse.Namespace, console: Console) -> Result:
    base = Path(tempfile.mkdtemp(prefix="hotline-bench-"))
    config = make_config(base, rtp_span=args.rtp_span)
    settings = load_settings()
    config.prompts_dir.mkdir(parents=True, exist_ok=True)
    if settings.prompts_path.is_dir():
        shutil.copytree(settings.prompts_path, config.prompts_dir, dirs_exist_ok=True)
    elif args.mode == "controller":
        console.print(f"[yellow]no prompts in {settings.prompts_path}: hotline prompts build")
    pbx = LocalPbx(config)
    up = pbx.up()
    console.print(up.summary())
    responder: subprocess.Popen[bytes] | None = None
    observer = AmiClient("127.0.0.1", config.ami_port, config.ami_user, config.ami_secret)
    timings = AgiTimings()
    try:
        responder, db_url = start_responder(args, config, base, console)
        observer.subscribe(
            timings.on_event, "AsyncAGIStart", "AGIExecStart", "AsyncAGIExec", "Hangup"
        )
        await observer.connect()
        call = CallSpec(
            sip_port=config.sip_port,
            number=config.hotline_number,
            dtmf=args.dtmf,
            wait_before_s=args.wait,
            hangup_after_s=args.hangup_after,
            caller_id="0900[call_number]",
            log_dir=base / "sipp",
        )
        # warm-up: one call must be picked up by the responder before the clock starts
        for _attempt in range(20):
            await asyncio.sleep(0.5)
            if responder.poll() is not None:
                raise SystemExit(
                    f"the {args.mode} responder exited {responder.returncode}; "
                    f"see {base / (args.mode + '.log')}"
                )
            warm = await place_call(
                CallSpec(
                    sip_port=config.sip_port,
                    number=config.hotline_number,
                    wait_before_s=0.2,
                    hangup_after_s=1.0,
                    caller_id="0900000000",
                    log_dir=base / "warmup",
                )
            )
            if warm.ok and any(timings.exec_start.values()):
                break
        else:
            raise SystemExit(f"the {args.mode} responder never played anything; see {base}")
        console.print("warm-up call handled; starting the load run")
        timings.reset()
        since = datetime.now(UTC)
        load_before = os.getloadavg()[0]
        ast_pid = up.pid or asterisk_pid(config.root)
        cpu0 = proc_cpu_s(responder.pid)
        threads0 = thread_cpu_s(responder.pid)
        ast0 = proc_cpu_s(ast_pid) if ast_pid else None
        t0 = time.monotonic()
        with Progress(
            TextColumn("[bold]sipp[/bold] calls ended"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("answered {task.fields[answered]}"),
            TimeElapsedColumn(),
            console=console,
        ) as progress:
            task = progress.add_task("calls", total=args.calls, answered=0)

            def on_progress(ended: int, answered: int) -> None:
                progress.update(task, completed=ended, answered=answered)

            load = await run_load(
                LoadSpec(call, calls=args.calls, rate_per_s=args.rate, max_concurrent=args.limit),
                on_progress=on_progress,
            )
        wall = time.monotonic() - t0
        responder_cpu = proc_cpu_s(responder.pid) - cpu0
        threads1 = thread_cpu_s(responder.pid)
        main_cpu = threads1.get(responder.pid, 0.0) - threads0.get(responder.pid, 0.0)
        asterisk_cpu = proc_cpu_s(ast_pid) - ast0 if ast_pid and ast0 is not None else None
        await asyncio.sleep(2.0)  # let the responder write its last records
        db, db_keys = db_counts(db_url, since, args.dtmf) if db_url else (None, None)
        completed = 0
        for steps in load.per_call().values():
            answered = any(s.cseq_method == "INVITE" and s.status == 200 for s in steps)
            bye_ok = any(s.cseq_method == "BYE" and s.status == 200 for s in steps)
            completed += answered and bye_ok
        return Result(
            load=load,
            completed=completed,
            timings=timings,
            responder_cpu=responder_cpu / wall,
            asterisk_cpu=asterisk_cpu / wall if asterisk_cpu is not None else None,
            wall_s=wall,
            db=db,
            db_keys=db_keys,
            peak_concurrent=peak_concurrency(load),
            responder_main_cpu=main_cpu / wall,
            loadavg=(load_before, os.getloadavg()[0]),
        )
    finally:
        with contextlib.suppress(Exception):
            await observer.close()
        if responder is not None and responder.poll() is None:
            responder.send_signal(signal.SIGTERM)
            try:
                responder.wait(timeout=40)
            except subprocess.TimeoutExpired:
                responder.kill()
        pbx.down()
        remove_tree(config.root)
        console.print(f"[dim]logs and traces kept in {base}[/dim]")


def render(args: argparse.Namespace, result: Result) -> list[tuple[str, str]]:
    load = result.load
    rows = [
        (
            "responder",
            "our controller (`hotline run`)"
            if args.mode == "controller"
            else "trivial AGI responder in benchmarks/load.py (no controller)",
        ),
        (
            "calls placed",
            f"{load.calls} at {args.rate:g}/s (sipp -m {load.calls} -r {args.rate:g})",
        ),
        (
            "call script",
            f"wait {args.wait:g} s, DTMF {args.dtmf!r} (RFC 4733), "
            f"hang up {args.hangup_after:g} s later",
        ),
        (
            "calls completed",
            f"{result.completed}/{load.calls} answered and ended by BYE/200 OK "
            f"(sipp: {load.successful} successful, {load.failed} failed, exit {load.exit_code})",
        ),
        ("peak concurrent calls", str(result.peak_concurrent)),
        ("call setup (INVITE → 200 OK)", percentiles(setup_ms(load))),
        ("AGI pickup, first command", percentiles(result.timings.first_pickup_ms())),
        ("AGI pickup, next command", percentiles(result.timings.next_pickup_ms())),
        (
            "responder CPU",
            f"{100 * result.responder_cpu:.1f}% of one core over {result.wall_s:.0f} s "
            f"(event-loop thread {100 * result.responder_main_cpu:.1f}%, other threads "
            f"{max(0.0, 100 * (result.responder_cpu - result.responder_main_cpu)):.1f}%)",
        ),
        (
            "Asterisk CPU",
            "n/a"
            if result.asterisk_cpu is None
            else f"{100 * result.asterisk_cpu:.1f}% of one core",
        ),
    ]
    rows.append(
        (
            "machine load (1-min average)",
            f"{result.loadavg[0]:.1f} before, {result.loadavg[1]:.1f} after "
            f"({os.cpu_count()} cores; other work on the machine shows here)",
        )
    )
    if result.db is not None:
        total = sum(result.db.values())
        detail = ", ".join(f"{k} {v}" for k, v in sorted(result.db.items()))
        rows.append(("call records in the DB", f"{total} ({detail})"))
        rows.append(
            ("records with the keys pressed", f"{result.db_keys} with digits {args.dtmf!r}")
        )
    if load.errors:
        rows.append(("sipp errors", f"{len(load.errors)}; first: {load.errors[0][:120]}"))
    return rows


SUBSECTIONS = {
    "controller": "### Through our controller (`hotline run`)",
    "trivial": "### Asterisk + AMI only (trivial AGI responder, no controller)",
}
SECTION_INTRO = """\
`benchmarks/load.py` starts a private Asterisk (restored from the cached chroot, free ports),
the responder as its own process, an AMI observer, then sipp (ivr.sipp.run_load). AGI pickup is
read from Asterisk's own AMI `Timestamp:` headers: *first* is AsyncAGIStart → the first
AGIExecStart of the channel (event delivered, responder decides, `Action: AGI`, Asterisk
dequeues the command); *next* is AsyncAGIExec (a command finished) → the next AGIExecStart on
the same channel. Asterisk dequeues AsyncAGI commands between media frames, so pickups come in
steps of ~20 ms; the sipp callers send RTP (μ-law silence, like a phone) for the whole call —
with a silent caller a pickup takes up to ~100 ms (measured before the callers did so: next
command p99 100.8 ms with the trivial responder). CPU is user+system time from
/proc/<pid>/stat over the run's wall time.
"""


def replace_block(text: str, heading: str, block: str, level: str) -> str:
    """Replace the block under `heading` (up to the next heading of `level` or higher)."""
    if heading not in text:
        return text.rstrip("\n") + "\n\n" + block
    head, rest = text.split(heading, 1)
    stops = [i for i in (rest.find("\n## "), rest.find("\n" + level + " ")) if i >= 0]
    tail = rest[min(stops) + 1 :] if stops else ""
    return head + block + ("\n" + tail if tail else "")


def write_docs(args: argparse.Namespace, rows: list[tuple[str, str]], machine: str) -> None:
    command = " ".join(["python", "benchmarks/load.py", *sys.argv[1:]]).replace(" --write-docs", "")
    lines = [
        SUBSECTIONS[args.mode],
        "",
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {machine}, with:",
        "",
        f"    .venv/bin/{command}",
        "",
        "| what | figure |",
        "| --- | --- |",
        *[f"| {k} | {v} |" for k, v in rows],
        "",
    ]
    text = DOCS.read_text(encoding="utf-8") if DOCS.exists() else "# Benchmarks\n"
    if SECTION not in text:
        text = text.rstrip("\n") + "\n\n" + SECTION + "\n\n" + SECTION_INTRO + "\n"
    head, rest = text.split(SECTION, 1)
    nxt = rest.find("\n## ")
    mine, others = (rest[: nxt + 1], rest[nxt + 1 :]) if nxt >= 0 else (rest, "")
    mine = replace_block(mine, SUBSECTIONS[args.mode], "\n".join(lines), "###")
    text = head + SECTION + mine.rstrip("\n") + "\n" + ("\n" + others if others else "")
    DOCS.write_text(text, encoding="utf-8")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="benchmarks/load.py",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--mode", choices=("controller", "trivial"), default="controller")
    parser.add_argument("--calls", type=int, default=300, help="calls to place (default 300)")
    parser.add_argument("--rate", type=float, default=10.0, help="calls per second (default 10)")
    parser.add_argument("--limit", type=int, default=400, help="max concurrent calls (sipp -l)")
    parser.add_argument("--wait", type=float, default=1.5, help="s after answer before the keys")
    parser.add_argument("--dtmf", default="1", help="keys each caller presses (default 1)")
    parser.add_argument(
        "--hangup-after",
        type=float,
        default=3.0,
        help="s after the keys before the caller hangs up (default 3)",
    )
    parser.add_argument("--rtp-span", type=int, default=1000, help="RTP ports for the PBX")
    parser.add_argument("--prompt", default="beep", help="what the trivial responder plays")
    parser.add_argument(
        "--write-docs",
        action="store_true",
        help=f"write the figures into {DOCS.relative_to(REPO)} ({SECTION})",
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="run the controller under cProfile (controller.prof in the kept log dir)",
    )
    # internal: the trivial responder process
    parser.add_argument("--responder", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--ami-port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--ami-user", help=argparse.SUPPRESS)
    parser.add_argument("--ami-secret", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.responder:
        return asyncio.run(responder_main(args))
    console = Console(highlight=False)
    if os.geteuid() != 0:
        console.print("[red]run as root: sipp plays RTP from a raw socket, Asterisk is chrooted")
        return 2
    if args.mode == "controller":
        ensure_prompts(console)
    result = asyncio.run(bench(args, console))
    rows = render(args, result)
    table = Table(title=f"Load run ({args.mode})")
    table.add_column("what")
    table.add_column("figure")
    for key, value in rows:
        table.add_row(key, value)
    console.print(table)
    if args.write_docs:
        cpu = Path("/proc/cpuinfo").read_text().split("model name")[1].split("\n")[0].strip(" :\t")
        write_docs(args, rows, f"{os.cpu_count()} cores ({cpu})")
        console.print(f"written to {DOCS}")
    return 0 if result.completed == args.calls else 1


if __name__ == "__main__":
    sys.exit(main())
