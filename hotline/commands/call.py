"""Place a test call into the local Asterisk with sipp and print what happened, step by step.

The call dials the hotline number (HOTLINE_HOTLINE_NUMBER) at HOTLINE_SIP_HOST:HOTLINE_SIP_PORT,
waits --wait seconds after the answer, presses the --dtmf keys (RFC 4733 events in the RTP
stream, or SIP INFO with --dtmf-mode info; ',' in the keys is a one-second pause), then speaks
(--say "Vietnamese text", synthesised with HOTLINE_TTS_BACKEND, or --play FILE.wav), presses the
--then keys after the speech (e.g. ",,,1": three seconds, then 1 to confirm what was heard) and
hangs up --hangup-after seconds later ('never' waits for Asterisk to hang up). The welcome lasts
about 12 s and hears keys only, so speak after it (--wait 14); keys may come during it.
With --observe (default) it also logs in to AMI and prints what Asterisk did with the call:
prompts played by the controller, keys received, the hang-up cause.

Examples:
  hotline call --dtmf 1                       press 1 at the main menu
  hotline call --dtmf "2" --say "Đèn đường ở phố Huế bị hỏng" --hangup-after 15
  hotline call --wait 14 --say "tôi muốn phản ánh về rác thải" --then ",,,1" --hangup-after 20
  hotline call --number 19001234              an unknown number: refused (404)
  hotline call --hangup-after never --record /tmp/heard.wav   hear the whole menu

Needs: sipp (apt-get install sip-tester; make system), root (sipp plays RTP from a raw
socket), a running Asterisk (hotline pbx up) and, for the menus, the controller (hotline run).
Exit code 0 when the call was answered and ended cleanly (or, with --expect-refusal, refused).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import heapq
import logging
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.console import Console

from hotline.errors import HotlineError
from hotline.settings import Settings
from ivr.calllog import mask_number
from ivr.sipp import CallReport, CallSpec, Keys, SippError, SipStep, Speech, Step, place_call

HELP = "place a test call with sipp (keys, speech) and print what happened"

_OBSERVED = frozenset(
    {"newchannel", "asyncagistart", "agiexecstart", "dtmfend", "hangup", "asyncagiend"}
)


def _seconds_or_never(value: str) -> float | None:
    if value.lower() in ("never", "remote", "none"):
        return None
    try:
        seconds = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{value!r} is not a number of seconds or 'never'"
        ) from None
    if seconds < 0:
        raise argparse.ArgumentTypeError(f"{value!r} is negative")
    return seconds


def register(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--number", help="number to dial (default: $HOTLINE_HOTLINE_NUMBER)")
    parser.add_argument("--dtmf", default="", help="keys to press, e.g. '1' or '2,1#'")
    parser.add_argument(
        "--dtmf-mode",
        choices=("rfc2833", "info"),
        default="rfc2833",
        help="RTP telephone-events (RFC 4733, default) or SIP INFO",
    )
    speech = parser.add_mutually_exclusive_group()
    speech.add_argument("--say", metavar="TEXT", help="Vietnamese text the caller speaks")
    speech.add_argument("--play", type=Path, metavar="WAV", help="a WAV the caller speaks")
    parser.add_argument(
        "--then",
        default="",
        metavar="KEYS",
        help="keys pressed after the speech, e.g. ',,,1' (',' = one second); RFC 4733 only",
    )
    parser.add_argument(
        "--wait",
        type=float,
        default=1.0,
        metavar="S",
        help="seconds after answer before input (speech: after the ~12 s welcome, e.g. 14)",
    )
    parser.add_argument(
        "--hangup-after",
        type=_seconds_or_never,
        default=10.0,
        metavar="S|never",
        help="seconds after the input to hang up (default 10); 'never' waits for Asterisk",
    )
    parser.add_argument(
        "--max-call",
        type=float,
        default=120.0,
        metavar="S",
        help="with --hangup-after never: hang up after this long anyway",
    )
    parser.add_argument("--caller", default="0912345678", help="caller number (From user)")
    parser.add_argument("--host", help="SIP host (default: $HOTLINE_SIP_HOST)")
    parser.add_argument("--port", type=int, help="SIP port (default: $HOTLINE_SIP_PORT)")
    parser.add_argument(
        "--record", type=Path, metavar="WAV", help="save the audio Asterisk sent to the caller"
    )
    parser.add_argument("--log-dir", type=Path, help="keep sipp's scenario and traces here")
    parser.add_argument(
        "--observe",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="follow the call over AMI (prompts, keys, hang-up cause); default on",
    )
    parser.add_argument(
        "--expect-refusal", action="store_true", help="exit 0 when the call is refused"
    )


# The caller's espeak voice: of the voices and rates tried on live calls, `vi+m3` at 120 words a
# minute is the one Whisper base understood every time (the default 150 wpm `vi` was misheard);
# tests/integration/test_voice_synth.py speaks with it too.
SAY_VOICE = "vi+m3"
SAY_WPM = 120


def _synthesise(text: str, settings: Settings, out: Path) -> Path:
    from speech.audio import write_wav
    from speech.errors import SpeechError
    from speech.tts import EspeakSynthesizer, make_synthesizer

    try:
        if settings.tts_backend == "espeak":
            audio = EspeakSynthesizer(SAY_VOICE, words_per_minute=SAY_WPM).synthesize(text)
        else:
            audio = make_synthesizer(settings.tts_backend, settings.prompts_path).synthesize(text)
    except SpeechError as exc:
        raise HotlineError(f"cannot synthesise the caller's speech: {exc}") from exc
    return write_wav(out, audio)


class _Printer:
    """Prints SIP steps and AMI observations in time order, stamped from the call's start.

    SIP steps reach us from sipp's trace file a poll later than AMI events reach us from the
    socket, so lines wait `HOLD_S` in a buffer and are printed sorted by their own clocks
    (sipp's and Asterisk's, both wall time on this machine).
    """

    HOLD_S = 0.25

    def __init__(self, console: Console) -> None:
        self.console = console
        self.t0 = time.time()
        self._pending: list[tuple[float, int, str]] = []
        self._count = 0

    def _add(self, at: float, text: str) -> None:
        self._count += 1
        heapq.heappush(self._pending, (at, self._count, text))

    def sip(self, step: SipStep) -> None:
        colour = "cyan" if step.direction.value == "sent" else "green"
        self._add(step.at.timestamp(), f"[{colour}]SIP {step.describe()}[/{colour}]")

    def ami(self, at: float, text: str) -> None:
        self._add(at, f"[magenta]AMI {text}[/magenta]")

    def flush(self, *, everything: bool = False) -> None:
        horizon = time.time() - self.HOLD_S
        while self._pending and (everything or self._pending[0][0] <= horizon):
            at, _, text = heapq.heappop(self._pending)
            self.console.print(f"[dim]{at - self.t0:7.3f}s[/dim] {text}")

    async def run(self) -> None:
        while True:
            await asyncio.sleep(0.05)
            self.flush()


def _describe_event(event: Any, channels: set[str], caller: str) -> str | None:
    name = event.name.lower()
    channel = event.get("Channel") or ""
    if name == "newchannel":
        if event.get("CallerIDNum") != caller:
            return None
        channels.add(channel)
        return f"channel {channel} created in {event.get('Context')}/{event.get('Exten')}"
    if channel not in channels:
        return None
    if name == "asyncagistart":
        return "the call is parked in AsyncAGI (waiting for the controller)"
    if name == "agiexecstart":
        command = event.get("Command") or ""
        if command.upper().startswith("STREAM FILE"):
            target = command.split()[2] if len(command.split()) > 2 else "?"
            return f"plays prompt {target.rsplit('/', 1)[-1]}"
        if command.upper().startswith("EXEC AUDIOSOCKET"):
            return "listens: prompt streamed over AudioSocket, speech or keys (barge-in)"
        return f"AGI {command}"
    if name == "dtmfend":
        if (event.get("Direction") or "").lower() != "received":
            return None
        return f"Asterisk received key {event.get('Digit')} ({event.get('DurationMs')} ms)"
    if name == "asyncagiend":
        return "the call left AsyncAGI"
    if name == "softhanguprequest":
        # Asterisk 22 puts the real cause of a BYE here; the Hangup after it says 0 (Unknown)
        return f"hang-up requested: cause {event.get('Cause')}"
    if name == "hangup":
        return f"hang-up: cause {event.get('Cause')} ({event.get('Cause-txt')})"
    return None


async def _observe(settings: Settings, caller: str, printer: _Printer) -> Callable[[], Any] | None:
    from ivr.ami.client import AmiClient
    from ivr.ami.errors import AmiError

    client = AmiClient(
        settings.ami_host,
        settings.ami_port,
        settings.ami_user,
        settings.ami_secret,
        reconnect=False,
        keepalive_s=None,
    )
    channels: set[str] = set()

    def on_event(event: Any) -> None:
        if event.name.lower() not in _OBSERVED:
            return
        text = _describe_event(event, channels, caller)
        if text:
            stamp = event.get("Timestamp")
            printer.ami(float(stamp) if stamp else time.time(), text)

    client.subscribe(on_event)
    try:
        await client.connect()
    except (AmiError, OSError) as exc:
        printer.console.print(
            f"[yellow]not observing over AMI ({settings.ami_host}:{settings.ami_port}): "
            f"{exc}[/yellow]"
        )
        return None
    return client.close


async def _call(spec: CallSpec, settings: Settings, observe: bool, console: Console) -> CallReport:
    printer = _Printer(console)
    ticker = asyncio.create_task(printer.run())
    closer = await _observe(settings, spec.caller_id, printer) if observe else None
    try:
        return await place_call(spec, on_step=printer.sip)
    finally:
        if closer is not None:
            await asyncio.sleep(0.3)  # let the Hangup event arrive
            with contextlib.suppress(Exception):
                await closer()
        ticker.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await ticker
        printer.flush(everything=True)


def _script(dtmf: str, wav: Path | None, then: str) -> list[Step]:
    """Keys, speech, then keys in one RTP stream; empty when there are no keys after speech."""
    if not then:
        return []
    steps: list[Step] = [Keys(dtmf)] if dtmf else []
    if wav is not None:
        steps.append(Speech(wav))
    return [*steps, Keys(then)]


def run(args: argparse.Namespace, settings: Settings) -> int:
    console = Console(highlight=False, soft_wrap=True)
    if not getattr(args, "verbose", False):
        logging.getLogger("ivr.ami").setLevel(logging.WARNING)  # the login line is noise here
    with tempfile.TemporaryDirectory(prefix="hotline-say-") as tmp:
        wav: Path | None = args.play
        if args.say:
            wav = _synthesise(args.say, settings, Path(tmp) / "say.wav")
        try:
            script = _script(args.dtmf, wav, args.then)
            spec = CallSpec(
                sip_host=args.host or settings.sip_host,
                sip_port=args.port or settings.sip_port,
                number=args.number or settings.hotline_number,
                dtmf="" if script else args.dtmf,
                dtmf_mode=args.dtmf_mode,
                wav=None if script else wav,
                script=script,
                wait_before_s=args.wait,
                hangup_after_s=args.hangup_after,
                caller_id=args.caller,
                max_call_s=args.max_call,
                log_dir=args.log_dir,
                record_to=args.record,
            )
        except SippError as exc:
            raise HotlineError(str(exc)) from exc
        console.print(
            f"calling {spec.number} at {spec.sip_host}:{spec.sip_port} "
            f"as {mask_number(spec.caller_id)}"
            + (f", keys {args.dtmf!r} ({spec.mode})" if args.dtmf else "")
            + (f", speech {wav.name}" if wav else "")
            + (f", then keys {args.then!r}" if args.then else "")
        )
        try:
            report = asyncio.run(_call(spec, settings, args.observe, console))
        except SippError as exc:
            raise HotlineError(str(exc)) from exc
    style = "green" if report.ok else ("yellow" if report.refused else "red")
    console.print(f"[{style}]{report.summary()}[/{style}]")
    for error in report.errors[:5]:
        console.print(f"[red]sipp: {error}[/red]")
    if report.rtp_capture:
        console.print(f"audio from Asterisk saved to {report.rtp_capture}")
    console.print(f"[dim]traces: {report.log_dir}[/dim]")
    if args.expect_refusal:
        return 0 if report.refused else 1
    return 0 if report.ok else 1
