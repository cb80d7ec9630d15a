"""Runs sipp as an asyncio subprocess: one call (`place_call`) or a load run (`run_load`).

The only I/O of `ivr.sipp`: it writes the scenario and the caller's pcaps into a log directory
of its own (kept, so a failed call can be read afterwards), starts sipp with every trace going
there, follows the short-message trace while sipp runs (so callers can print SIP steps as they
happen), and reads the traces back into a `CallReport` / `LoadReport`.

sipp runs as root: `play_pcap_audio` sends from a raw socket (sipp src/send_packets.c).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import socket
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from ivr.sipp.capture import RtpCapture
from ivr.sipp.errors import SippError, SippNotFoundError, SippRunError
from ivr.sipp.media import (
    DEFAULT_FIRST_SEQUENCE,
    DEFAULT_SSRC,
    Key,
    Segment,
    Silence,
    Speech,
    build_stream,
    keys_only,
    parse_keys,
    pcm_from_wav,
    stream_duration_s,
    stream_to_pcap,
)
from ivr.sipp.report import (
    EXIT_CODES,
    CallReport,
    SipStep,
    parse_errors,
    parse_shortmessage_line,
    parse_shortmessages,
    parse_stats,
    summarize,
)
from ivr.sipp.scenario import Move, PlayPcap, ScenarioPlan, SendInfo, Wait, build_scenario
from ivr.sipp.script import script_keys, script_segments
from ivr.sipp.spec import CallSpec, DtmfMode, LoadSpec

log = logging.getLogger(__name__)

StepCallback = Callable[[SipStep], None]
POLL_S = 0.05
SCENARIO = "caller.xml"
SHORTMSG = "shortmessages.log"
ERRORS = "errors.log"
STATS = "stats.csv"
SCREEN = "screen.log"
STDOUT = "sipp.out"
BIND_ATTEMPTS = 3
SLACK_S = 20.0  # added to the expected call length for sipp's own global timeout


def find_sipp() -> str:
    """Path of the sipp binary, or a SippNotFoundError that says how to install it."""
    path = shutil.which("sipp")
    if path is None:
        raise SippNotFoundError(
            "sipp is not installed: `apt-get install sip-tester` (or `make system`)"
        )
    return path


def _port_free(port: int, host: str) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def free_udp_port(host: str = "127.0.0.1", *, span: int = 1) -> int:
    """A UDP port that is free now, with the `span - 1` ports after it free too.

    sipp binds its media port and the next ones (RTCP, video), hence the span.
    """
    for _ in range(200):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.bind((host, 0))
            port: int = sock.getsockname()[1]
        if port % 2:
            port -= 1
        if port + span > 65535 or port < 1024:
            continue
        if all(_port_free(p, host) for p in range(port, port + span)):
            return port
    raise SippRunError(f"no run of {span} free UDP ports found on {host}")


def _local_ip(sip_host: str) -> str:
    if sip_host.startswith("127.") or sip_host == "localhost":
        return "127.0.0.1"
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.connect((sip_host, 9))  # no packet is sent: picks the outgoing interface
        ip: str = sock.getsockname()[0]
        return ip


@dataclass(frozen=True, slots=True)
class PreparedCall:
    """Everything written to the log directory, and the sipp command line."""

    log_dir: Path
    scenario: Path
    command: tuple[str, ...]
    keys: str
    expected_s: float  # input phase + hang-up wait (or max_call_s)
    media_port: int
    local_port: int


def plan_call(spec: CallSpec, log_dir: Path) -> ScenarioPlan:
    """Write the caller's pcaps into `log_dir` and return the scenario plan (moves).

    Like a real phone, the caller keeps sending RTP (μ-law silence) until the call ends: the
    input pcap goes on with silence for as long as the call may last after the input. Without
    it, Asterisk would hang up a caller silent for longer than pjsip.conf `rtp_timeout`, and
    AsyncAGI commands would be picked up more slowly (Asterisk wakes on caller audio). sipp
    stops a pcap when the call ends or when the next pcap starts (sipp src/call.cpp).
    """
    speech = None
    if spec.wav is not None:
        try:
            data = spec.wav.read_bytes()
        except OSError as exc:
            raise SippError(f"caller speech {spec.wav} cannot be read: {exc}") from exc
        speech = Speech(pcm_from_wav(data))
    hangup_ms = None if spec.hangup_after_s is None else round(spec.hangup_after_s * 1000)
    max_wait_ms = round(spec.max_call_s * 1000)
    tail = Silence(hangup_ms if hangup_ms is not None else max_wait_ms)
    moves: list[Move] = []
    wait_ms = round(spec.wait_before_s * 1000)
    keys = parse_keys(spec.dtmf, key_ms=spec.key_ms, gap_ms=spec.gap_ms)
    if spec.mode is DtmfMode.RFC2833:
        segments: list[Segment] = [Silence(wait_ms)] if wait_ms else []
        segments += script_segments(spec.script)
        segments += keys
        if speech is not None:
            segments.append(speech)
        moves.append(_pcap_move(segments, tail, log_dir / "input.pcap", stream=0))
    else:
        info_ms = 0
        for segment in keys:
            if isinstance(segment, Silence):
                info_ms += segment.ms
            elif isinstance(segment, Key):
                info_ms += segment.ms + 100  # an INFO round trip, generously
        background = Silence(wait_ms + info_ms)
        silence = Silence(background.ms + tail.ms)
        moves.append(_pcap_move([], silence, log_dir / "silence.pcap", stream=0))
        if wait_ms:
            moves.append(Wait(wait_ms))
        for segment in keys:
            if isinstance(segment, Silence):
                moves.append(Wait(segment.ms))
            elif isinstance(segment, Key):
                moves.append(SendInfo(segment.key, segment.ms))
        if speech is not None:
            speech_pcap = log_dir / "speech.pcap"
            moves.append(_pcap_move([Silence(100), speech], tail, speech_pcap, stream=1))
    return ScenarioPlan(
        caller_id=spec.caller_id,
        moves=tuple(moves),
        hangup_after_ms=hangup_ms,
        max_wait_ms=max_wait_ms,
    )


def _pcap_move(segments: list[Segment], tail: Silence, path: Path, *, stream: int) -> PlayPcap:
    """Write segments + tail as one pcap; the move waits for the segments only.

    Each pcap of a call is its own RTP stream (SSRC and sequence numbers of its own), since
    starting one in sipp stops the one before at an unknown point.
    """
    ssrc = DEFAULT_SSRC + stream
    first_sequence = (DEFAULT_FIRST_SEQUENCE + 20000 * stream) & 0xFFFF
    packets = build_stream([*segments, tail], ssrc=ssrc, first_sequence=first_sequence)
    path.write_bytes(stream_to_pcap(packets))
    input_ms = 0
    if segments:
        input_ms = round(stream_duration_s(build_stream(segments)) * 1000)
    return PlayPcap(str(path.resolve()), input_ms)


def _plan_length_s(plan: ScenarioPlan) -> float:
    total = 0
    for move in plan.moves:
        if isinstance(move, Wait):
            total += move.ms
        elif isinstance(move, PlayPcap):
            total += move.duration_ms
        else:
            total += 500  # an INFO round trip, generously
    total += plan.hangup_after_ms if plan.hangup_after_ms is not None else plan.max_wait_ms
    return total / 1000


def prepare_call(
    spec: CallSpec,
    log_dir: Path,
    *,
    sipp: str | None = None,
    calls: int = 1,
    rate_per_s: float | None = None,
    max_concurrent: int = 1,
) -> PreparedCall:
    """Write scenario and pcaps, pick ports and build the sipp command line."""
    log_dir.mkdir(parents=True, exist_ok=True)
    binary = sipp or find_sipp()
    if os.geteuid() != 0:
        raise SippRunError(
            "the caller needs root: sipp plays the caller's RTP from a raw socket "
            "(play_pcap_audio); run as root"
        )
    local_ip = _local_ip(spec.sip_host)
    local_port = spec.local_port or free_udp_port(local_ip)
    media_port = spec.media_port or free_udp_port(local_ip, span=4)
    plan = plan_call(spec, log_dir)
    scenario = log_dir / SCENARIO
    scenario.write_text(build_scenario(plan), encoding="utf-8")
    expected = _plan_length_s(plan)
    command = [
        binary,
        f"{spec.sip_host}:{spec.sip_port}",
        "-sf", str(scenario),
        "-s", spec.number,
        "-i", local_ip,
        "-p", str(local_port),
        "-mi", local_ip,
        "-mp", str(media_port),
        "-m", str(calls),
        "-l", str(max_concurrent),
        "-nostdin",
        "-aa",
        "-trace_shortmsg", "-shortmessage_file", str(log_dir / SHORTMSG),
        "-trace_err", "-error_file", str(log_dir / ERRORS),
        "-trace_stat", "-stf", str(log_dir / STATS), "-fd", "1",
        "-trace_screen", "-screen_file", str(log_dir / SCREEN),
    ]  # fmt: skip
    if rate_per_s is not None:
        command += ["-r", f"{rate_per_s:g}", "-rp", "1000"]
        expected += calls / rate_per_s
    command += ["-timeout", f"{int(expected + SLACK_S)}s", "-timeout_error"]
    return PreparedCall(
        log_dir=log_dir,
        scenario=scenario,
        command=tuple(command),
        keys=keys_only(spec.dtmf) + script_keys(spec.script),
        expected_s=expected,
        media_port=media_port,
        local_port=local_port,
    )


class _Follower:
    """Reads complete new lines of the short-message trace as sipp appends them."""

    def __init__(self, path: Path, on_step: StepCallback | None) -> None:
        self.path = path
        self.on_step = on_step
        self.offset = 0
        self.pending = b""
        self.steps: list[SipStep] = []

    def poll(self) -> None:
        try:
            with self.path.open("rb") as handle:
                handle.seek(self.offset)
                chunk = handle.read()
        except FileNotFoundError:
            return
        self.offset += len(chunk)
        data = self.pending + chunk
        *lines, self.pending = data.split(b"\n")
        for raw in lines:
            step = parse_shortmessage_line(raw.decode("utf-8", errors="replace"))
            if step is None:
                continue
            self.steps.append(step)
            if self.on_step is not None:
                self.on_step(step)


async def _run(prepared: PreparedCall, follower: _Follower, budget_s: float) -> int:
    with (prepared.log_dir / STDOUT).open("wb") as out:
        try:
            proc = await asyncio.create_subprocess_exec(
                *prepared.command,
                cwd=prepared.log_dir,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=out,
                stderr=asyncio.subprocess.STDOUT,
            )
        except OSError as exc:
            raise SippNotFoundError(f"sipp could not be started: {exc}") from exc
        log.debug("sipp pid %s: %s", proc.pid, " ".join(prepared.command))
        loop = asyncio.get_running_loop()
        deadline = loop.time() + budget_s
        try:
            while True:
                try:
                    code = await asyncio.wait_for(proc.wait(), POLL_S)
                    break
                except TimeoutError:
                    follower.poll()
                    if loop.time() > deadline:
                        raise SippRunError(
                            f"sipp (pid {proc.pid}) still running after {budget_s:.0f} s; "
                            f"killed. Traces in {prepared.log_dir}"
                        ) from None
        finally:
            if proc.returncode is None:
                proc.kill()
                with contextlib.suppress(ProcessLookupError):
                    await proc.wait()
        follower.poll()
        return code


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return ""


def _fatal_message(prepared: PreparedCall, code: int) -> str:
    errors = parse_errors(_read(prepared.log_dir / ERRORS))
    if errors:
        detail = " | ".join(errors[-3:])
    else:
        output = _read(prepared.log_dir / STDOUT)
        lines = [ln.strip() for ln in output.splitlines() if ln.strip() and "----" not in ln]
        detail = " | ".join(lines[-3:]) or "no output"
    return (
        f"sipp exited {code} ({EXIT_CODES.get(code, 'unknown')}) before placing a call: "
        f"{detail}. Traces in {prepared.log_dir}"
    )


async def place_call(
    spec: CallSpec,
    *,
    on_step: StepCallback | None = None,
    sipp: str | None = None,
) -> CallReport:
    """Place one call as described by `spec` and report what happened (contract 4).

    `on_step` is called with each SIP message as sipp sends or receives it. The traces stay in
    `spec.log_dir` (default: a new temporary directory, named in the report).
    """
    log_dir = spec.log_dir or Path(tempfile.mkdtemp(prefix="hotline-call-"))
    ports_picked = not (spec.local_port and spec.media_port)
    for attempt in range(BIND_ATTEMPTS):
        prepared = prepare_call(spec, log_dir, sipp=sipp)
        follower = _Follower(log_dir / SHORTMSG, on_step)
        capture = RtpCapture(prepared.media_port) if spec.record_to is not None else None
        if capture is not None:
            capture.start()
        try:
            code = await _run(prepared, follower, prepared.expected_s + 2 * SLACK_S)
        finally:
            if capture is not None:
                capture.stop()
        steps = parse_shortmessages(_read(log_dir / SHORTMSG)) or follower.steps
        if steps or code not in (254, 255):
            break
        # 254: a port we picked was taken meanwhile (another test run): pick again
        if code != 254 or not ports_picked or attempt == BIND_ATTEMPTS - 1:
            raise SippRunError(_fatal_message(prepared, code))
        log.info("sipp could not bind its ports (exit 254); picking new ones")
    rtp_capture = None
    if capture is not None and spec.record_to is not None:
        capture.save(spec.record_to, log_dir / "received.pcap")
        rtp_capture = spec.record_to
    return summarize(
        spec.number,
        steps,
        code,
        errors=parse_errors(_read(log_dir / ERRORS)),
        log_dir=log_dir,
        keys_sent=prepared.keys if steps else "",
        hangup_planned=spec.hangup_after_s is not None,
        rtp_capture=rtp_capture,
        command=prepared.command,
    )


@dataclass(frozen=True, slots=True)
class LoadReport:
    """Outcome of a load run: sipp's counters and every call's SIP steps."""

    calls: int
    created: int
    successful: int
    failed: int
    answered: int
    refused: int
    exit_code: int
    wall_s: float
    steps: tuple[SipStep, ...]
    errors: tuple[str, ...]
    log_dir: Path
    command: tuple[str, ...]
    stats: dict[str, str]

    def per_call(self) -> dict[str, list[SipStep]]:
        calls: dict[str, list[SipStep]] = {}
        for step in self.steps:
            calls.setdefault(step.call_id, []).append(step)
        return calls


ProgressCallback = Callable[[int, int], None]  # (calls ended, calls answered)


async def run_load(
    load: LoadSpec,
    *,
    on_progress: ProgressCallback | None = None,
    sipp: str | None = None,
) -> LoadReport:
    """Place `load.calls` calls at `load.rate_per_s` and collect sipp's counters and traces."""
    log_dir = load.call.log_dir or Path(tempfile.mkdtemp(prefix="hotline-load-"))
    spec = replace(load.call, record_to=None)
    prepared = prepare_call(
        spec,
        log_dir,
        sipp=sipp,
        calls=load.calls,
        rate_per_s=load.rate_per_s,
        max_concurrent=load.max_concurrent,
    )
    ended: set[str] = set()
    answered: set[str] = set()

    def on_step(step: SipStep) -> None:
        if step.cseq_method == "INVITE" and step.status == 200:
            answered.add(step.call_id)
        final_bye = step.cseq_method == "BYE" and step.status == 200
        refused = step.cseq_method == "INVITE" and (step.status or 0) >= 300
        if final_bye or refused:
            ended.add(step.call_id)
            if on_progress is not None:
                on_progress(len(ended), len(answered))

    follower = _Follower(log_dir / SHORTMSG, on_step)
    loop = asyncio.get_running_loop()
    started = loop.time()
    code = await _run(prepared, follower, prepared.expected_s + 2 * SLACK_S)
    wall = loop.time() - started
    steps = parse_shortmessages(_read(log_dir / SHORTMSG))
    if not steps and code in (254, 255):
        raise SippRunError(_fatal_message(prepared, code))
    stats = parse_stats(_read(log_dir / STATS))
    refused_ids = {s.call_id for s in steps if s.cseq_method == "INVITE" and (s.status or 0) >= 300}
    answered_ids = {s.call_id for s in steps if s.cseq_method == "INVITE" and s.status == 200}
    return LoadReport(
        calls=load.calls,
        created=_int(stats.get("TotalCallCreated")),
        successful=_int(stats.get("SuccessfulCall(C)")),
        failed=_int(stats.get("FailedCall(C)")),
        answered=len(answered_ids),
        refused=len(refused_ids),
        exit_code=code,
        wall_s=wall,
        steps=tuple(steps),
        errors=tuple(parse_errors(_read(log_dir / ERRORS))),
        log_dir=log_dir,
        command=prepared.command,
        stats=stats,
    )


def _int(value: str | None) -> int:
    try:
        return int(value or 0)
    except ValueError:
        return 0
