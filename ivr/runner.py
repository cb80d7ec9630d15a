"""The runner: executes one call's session commands over AsyncAGI and feeds the results back.

Owns the mapping from the machine's commands to Asterisk (res_agi, Asterisk 22):

- `Play`   -> ``STREAM FILE /var/lib/hotline/prompts/<id> "<keys>"`` (a key stops the prompt:
  result = the key's ASCII code);
- `Say`    -> text rendered with speech.text (digits, numbers, dates read the Vietnamese way),
  synthesised by the `Synthesizer` port in a worker thread, played from ``prompts/tts/<hash>``;
- `WaitDigit` -> ``WAIT FOR DIGIT <ms>`` in chunks of at most `wait_chunk_ms`, so a shutdown
  is noticed within a second; the elapsed time goes back to the machine, which counts silence;
- `Listen` -> the voice port (`ivr.voice.port.Listener`): the turn's prompts (static ones by
  path, `Say` synthesised first) played with barge-in, then the caller's speech or keys, back
  as `TurnHeard` (the machine interprets it);
- `Record` -> ``RECORD FILE /var/lib/hotline/recordings/<name> wav "#" <ms> 0 BEEP s=<n>``;
- `Transfer` -> ``SET VARIABLE QUEUE_WAIT_S`` then AMI ``Redirect`` to ``hotline-queue,s,1``;
  the dialplan runs Queue() and parks the call in ``AGI(agi:async)`` again, whose new
  AsyncAGIStart the controller hands us (`AgiRestarted`), and ``QUEUE_RESULT`` says how it went;
- service requests -> the ports of `ivr.services`, in a worker thread;
- `Mark` -> a step of the call record (through `CallLog`'s writer thread);
- `Hangup` -> ``HANGUP``.

Things that happen to the call arrive in `inbox` from the controller (`ChannelHungUp`,
`AgiRestarted`, `AgentAnswered`, `ConnectionRestored`). A dead channel (`ChannelGoneError`)
becomes `CallerHungUp`; a lost AMI connection suspends the call until the controller says
whether the channel survived (then `CallResumed`: apology and the menu again) or not (the
record is closed with outcome error). Whatever happens, `run()` closes the call record.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping
from concurrent.futures import Executor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from ivr.ami.agi import AgiResult
from ivr.ami.errors import AgiCommandError, AmiError, ChannelGoneError, ConnectionLostError
from ivr.calllog import CallLog, mask_number, utcnow
from ivr.flows.model import ActionOutcome, SlotValue
from ivr.ports import CallEnded, CallStarted, CallStep, Outcome, StepKind
from ivr.services import (
    CallbackRequest,
    CaseAnswer,
    CaseDesk,
    Complaint,
    DossierAnswer,
    DossierDirectory,
    LookupStatus,
    Synthesizer,
)
from ivr.session import (
    AWAITING,
    AgentConnected,
    CallerHungUp,
    CallLost,
    CallResumed,
    CallSession,
    Command,
    CreateCase,
    Date,
    DigitPressed,
    Digits,
    DigitTimeout,
    Event,
    Hangup,
    IntentRoute,
    Listen,
    LookupCase,
    LookupDossier,
    Mark,
    Number,
    Play,
    PlaybackFinished,
    Record,
    RecordingFinished,
    RequestCallback,
    Say,
    Segment,
    ServiceReplied,
    ShutdownRequested,
    Text,
    Transfer,
    TransferEnded,
    TurnHeard,
    WaitDigit,
)
from ivr.session.describe import describe_command, describe_event
from ivr.voice.port import Listener
from speech.text import read_date, read_digits, read_number

log = logging.getLogger(__name__)

#: Queue() results (app_queue QUEUESTATUS) that mean nobody answered.
QUEUE_NOT_ANSWERED = frozenset(
    {"TIMEOUT", "FULL", "JOINEMPTY", "LEAVEEMPTY", "JOINUNAVAIL", "LEAVEUNAVAIL", ""}
)


class AmiPort(Protocol):
    """What the runner needs of `ivr.ami.AmiClient`."""

    async def agi(self, channel: str, command: str, timeout: float | None = None) -> AgiResult: ...  # noqa: ASYNC109

    async def action(
        self, name: str, /, *, timeout_s: float | None = None, **headers: Any
    ) -> Any: ...


# --- what the controller tells a running call --------------------------------------------------


@dataclass(frozen=True, slots=True)
class ChannelHungUp:
    cause: str = ""


@dataclass(frozen=True, slots=True)
class AgiRestarted:
    """AsyncAGIStart again for our channel (back from the queue)."""

    env: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class AgentAnswered:
    agent: str = ""
    wait_s: int | None = None  # how long the caller waited in the queue (AgentConnect HoldTime)


@dataclass(frozen=True, slots=True)
class ConnectionRestored:
    """After an AMI reconnect: is our channel still parked in AsyncAGI?"""

    alive: bool


Notice = ChannelHungUp | AgiRestarted | AgentAnswered | ConnectionRestored


@dataclass(frozen=True, slots=True)
class RunnerConfig:
    prompts_dir: Path  # host side of /var/lib/hotline/prompts
    recordings_dir: Path  # host side of /var/lib/hotline/recordings
    pbx_prompts: str = "/var/lib/hotline/prompts"
    pbx_recordings: str = "/var/lib/hotline/recordings"
    queue_context: str = "hotline-queue"
    wait_chunk_ms: int = 1000
    reconnect_grace_s: float = 30.0
    transfer_margin_s: float = 30.0  # beyond the queue timeout, before we give up waiting
    southern: bool = False  # numbers read the southern way ("lẻ", "ngàn")


@dataclass(frozen=True, slots=True)
class CallServices:
    dossiers: DossierDirectory
    cases: CaseDesk
    tts: Synthesizer
    listener: Listener | None = None  # voice turns; None: the keypad hotline
    router: IntentRoute | None = None  # what voice turns mean (speech.intent.IntentRouter)


class _Suspended(Exception):
    """The AMI connection dropped in the middle of a command."""


class CallRunner:
    """Runs one call to its end. `run()` returns the outcome written to the call record."""

    def __init__(
        self,
        *,
        ami: AmiPort,
        session: CallSession,
        call: CallStarted,
        services: CallServices,
        calllog: CallLog,
        config: RunnerConfig,
        executor: Executor | None = None,
    ) -> None:
        self.ami = ami
        self.session = session
        self.call = call
        self.channel = call.channel
        self.services = services
        self.calllog = calllog
        self.config = config
        self.executor = executor
        self.inbox: asyncio.Queue[Notice] = asyncio.Queue()
        self._shutdown = False
        self._shutdown_fed = False
        self._hangup_cause = ""
        self._ended = False
        self.commands_run = 0

    # --- controller side ----------------------------------------------------------------------

    def notify(self, notice: Notice) -> None:
        if isinstance(notice, ChannelHungUp) and notice.cause:
            self._hangup_cause = notice.cause
        self.inbox.put_nowait(notice)

    def request_shutdown(self) -> None:
        self._shutdown = True

    # --- the call -----------------------------------------------------------------------------

    async def run(self, first: Event) -> Outcome:
        tag = f"call {self.call.uniqueid} ({mask_number(self.call.caller)})"
        self.calllog.started(self.call)
        outcome = Outcome.ERROR
        cause = ""
        try:
            outcome, cause = await self._drive(first)
        except asyncio.CancelledError:
            outcome = self.session.outcome or Outcome.ERROR
            cause = "controller stopped"
            raise
        except Exception as exc:
            log.exception("%s: failed in %s at %s", tag, self.session.state, self.session.node_id)
            outcome, cause = Outcome.ERROR, f"controller error: {type(exc).__name__}: {exc}"
            with contextlib.suppress(AmiError):
                await self.ami.agi(self.channel, "HANGUP", timeout=5)
        finally:
            self.calllog.ended(
                self.call.uniqueid, CallEnded(outcome=outcome, ended_at=utcnow(), cause=cause)
            )
            log.info("%s ended: %s (%s)", tag, outcome, cause)
        return outcome

    async def _drive(self, first: Event) -> tuple[Outcome, str]:
        pending: list[Event] = [first]
        while pending:
            event = pending.pop(0)
            if self._shutdown and not self._shutdown_fed and not self.session.ended:
                self._shutdown_fed = True
                if not isinstance(event, CallerHungUp | CallLost):
                    event = ShutdownRequested()
            debug = log.isEnabledFor(logging.DEBUG)
            if debug:
                log.debug("call %s > %s", self.call.uniqueid, describe_event(event))
            commands = self.session.step(event)
            for command in commands:
                if debug:
                    log.debug("call %s   %s", self.call.uniqueid, describe_command(command))
                if isinstance(command, Mark):
                    self._mark(command)
                elif isinstance(command, Hangup):
                    with contextlib.suppress(AmiError):
                        await self.ami.agi(self.channel, "HANGUP", timeout=5)
                elif isinstance(command, AWAITING):
                    pending.extend(await self._execute_safely(command))
            if self.session.ended:
                break
        outcome = self.session.outcome or Outcome.ERROR
        return outcome, self.session.end_reason or self._hangup_cause

    async def _execute_safely(self, command: Command) -> list[Event]:
        self.commands_run += 1
        try:
            return await self._execute(command)
        except ChannelGoneError as exc:
            await asyncio.sleep(0)  # let the Hangup event (with its cause) reach the inbox
            self._drain_inbox()
            return [CallerHungUp(self._hangup_cause or str(exc))]
        except ConnectionLostError:
            return await self._suspend()

    def _drain_inbox(self) -> list[Notice]:
        notices: list[Notice] = []
        while not self.inbox.empty():
            notices.append(self.inbox.get_nowait())
        return notices

    async def _suspend(self) -> list[Event]:
        """The AMI connection dropped: wait for the controller's verdict on our channel."""
        log.warning("call %s: AMI connection lost, waiting to resume", self.call.uniqueid)
        # Notices from before the drop are stale (an earlier reconnect), except a hang-up.
        for old in self._drain_inbox():
            if isinstance(old, ChannelHungUp):
                return [CallerHungUp(old.cause or "hung up while AMI was down")]
        deadline = asyncio.get_running_loop().time() + self.config.reconnect_grace_s
        while True:
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                break
            try:
                notice = await asyncio.wait_for(self.inbox.get(), remaining)
            except TimeoutError:
                break
            if isinstance(notice, ChannelHungUp):
                return [CallerHungUp(notice.cause or "hung up while AMI was down")]
            if isinstance(notice, ConnectionRestored):
                if notice.alive:
                    self._mark(
                        Mark(
                            StepKind.NOTE,
                            node=self.session.node_id,
                            detail={"event": "ami reconnected"},
                        )
                    )
                    return [CallResumed()]
                break
        return [CallLost("Asterisk connection lost; channel gone after reconnect")]

    # --- commands -----------------------------------------------------------------------------

    async def _execute(self, command: Command) -> list[Event]:
        match command:
            case Play():
                self._step(StepKind.PROMPT, prompt=command.prompt)
                target = f"{self.config.pbx_prompts}/{command.prompt}"
                host = self.config.prompts_dir / f"{command.prompt}.wav"
                return await self._stream(target, command.keys, host)
            case Say():
                return await self._say(command)
            case WaitDigit():
                return await self._wait_digit(command)
            case Record():
                return await self._record(command)
            case Listen():
                return [await self._listen(command)]
            case LookupDossier() | LookupCase() | CreateCase() | RequestCallback():
                return [await self._request(command)]
            case Transfer():
                return await self._transfer(command)
        raise AssertionError(f"not an awaited command: {command}")  # pragma: no cover

    async def _stream(self, target: str, keys: str, host_file: Path) -> list[Event]:
        result = await self.ami.agi(self.channel, f'STREAM FILE {target} "{keys}"')
        value = result.value
        if value is not None and value > 0:
            return [DigitPressed(chr(value))]
        if value is not None and value < 0:
            # res_agi answers -1 both for a file it cannot open and for a caller who hung up
            # during the prompt: the file on our side of the bind mount tells them apart.
            if host_file.is_file():  # noqa: ASYNC240 - one stat, after a failed prompt
                raise ChannelGoneError(self.channel, f"caller hung up during {target}")
            log.error(
                "call %s: prompt file %s is missing (%s); run `hotline prompts build`",
                self.call.uniqueid,
                host_file,
                result.raw,
            )
            self._step(StepKind.ERROR, prompt=host_file.stem, detail={"missing": str(host_file)})
        return [PlaybackFinished()]

    async def _synthesise(self, command: Say) -> tuple[str, Path] | None:
        """The sentence's audio as (prompt path relative to the prompts dir, host file)."""
        text = render_segments(command.segments, southern=self.config.southern)
        loop = asyncio.get_running_loop()
        try:
            path = await loop.run_in_executor(self.executor, self.services.tts.ensure, text)
        except Exception as exc:
            log.error("call %s: synthesis failed for %r: %s", self.call.uniqueid, text[:60], exc)
            self._step(StepKind.ERROR, detail={"tts": str(exc)[:200]})
            return None
        relative = _relative_audio(path, self.config.prompts_dir)
        self._step(StepKind.PROMPT, prompt=relative, detail={"text": text})
        return relative, path

    async def _say(self, command: Say) -> list[Event]:
        audio = await self._synthesise(command)
        if audio is None:
            return [PlaybackFinished()]
        relative, path = audio
        return await self._stream(f"{self.config.pbx_prompts}/{relative}", command.keys, path)

    async def _listen(self, command: Listen) -> Event:
        listener = self.services.listener
        if listener is None:
            raise RuntimeError(
                f"call {self.call.uniqueid}: the flow asked for a voice turn at "
                f"{self.session.node_id!r} but no Listener is wired"
            )
        prompts: list[str] = []
        for item in command.audio:
            if isinstance(item, Play):
                self._step(StepKind.PROMPT, prompt=item.prompt)
                prompts.append(f"{self.config.pbx_prompts}/{item.prompt}")
            else:
                audio = await self._synthesise(item)
                if audio is not None:
                    prompts.append(f"{self.config.pbx_prompts}/{audio[0]}")
        heard = await listener.listen(
            channel=self.channel,
            uniqueid=self.call.uniqueid,
            prompts=prompts,
            no_input_s=command.no_input_ms / 1000,
            silence_s=command.silence_s,
            max_speech_s=command.max_speech_s,
            hints=command.hints,
            keep_audio=command.keep_audio,
            max_digits=command.max_digits,
            terminator=command.terminator,
        )
        return TurnHeard(
            transcript=heard.transcript,
            confidence=heard.confidence,
            digits=heard.digits,
            barged_in=heard.barged_in,
            no_input=heard.no_input,
            speech_s=heard.speech_s,
            latency_s=heard.latency_s,
            recording=str(heard.recording) if heard.recording else "",
        )

    async def _wait_digit(self, command: WaitDigit) -> list[Event]:
        loop = asyncio.get_running_loop()
        chunk = max(1, min(command.timeout_ms, self.config.wait_chunk_ms))
        started = loop.time()
        result = await self.ami.agi(self.channel, f"WAIT FOR DIGIT {chunk}")
        digit = result.digit
        if digit is not None:
            return [DigitPressed(digit)]
        if result.value == -1:  # res_agi: -1 when the channel hung up during the wait
            raise ChannelGoneError(self.channel, f"caller hung up during WAIT FOR DIGIT {chunk}")
        # Asterisk waited the whole chunk (or longer, with the command's pickup delay).
        elapsed = int((loop.time() - started) * 1000)
        return [DigitTimeout(max(chunk, elapsed))]

    async def _record(self, command: Record) -> list[Event]:
        target = f"{self.config.pbx_recordings}/{command.name}"
        beep = " BEEP" if command.beep else ""
        line = (
            f'RECORD FILE {target} wav "{command.escape}" {command.max_s * 1000} 0'
            f"{beep} s={command.silence_s}"
        )
        result = await self.ami.agi(self.channel, line, timeout=command.max_s + 30)
        if result.value == -1:
            raise ChannelGoneError(self.channel, f"caller hung up while recording {command.name}")
        host = self.config.recordings_dir / f"{command.name}.wav"
        duration = 0
        if host.exists():
            duration = max(0, (host.stat().st_size - 44) // 16)  # 8 kHz s16 mono: 16 bytes/ms
        elif result.endpos is not None:
            duration = result.endpos // 8
        return [RecordingFinished(command.name, duration)]

    async def _request(
        self, command: LookupDossier | LookupCase | CreateCase | RequestCallback
    ) -> Event:
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self.executor, self._call_service, command)
        except Exception as exc:
            log.error("call %s: %s failed: %s", self.call.uniqueid, describe_command(command), exc)
            self._step(StepKind.ERROR, detail={"service": type(exc).__name__})
            return ServiceReplied(ActionOutcome.ERROR)

    def _call_service(
        self, command: LookupDossier | LookupCase | CreateCase | RequestCallback
    ) -> ServiceReplied:
        """Runs in a worker thread."""
        if isinstance(command, LookupDossier):
            return dossier_reply(self.services.dossiers.lookup(command.code))
        if isinstance(command, LookupCase):
            return case_reply(self.services.cases.complaint_status(command.reference))
        if isinstance(command, RequestCallback):
            reference = self.services.cases.request_callback(
                CallbackRequest(caller=self.call.caller, call_uniqueid=self.call.uniqueid)
            )
            return ServiceReplied(ActionOutcome.CREATED, {"case_reference": reference})
        reference = self.services.cases.file_complaint(
            Complaint(
                category=command.category,
                recording=command.recording,
                caller=self.call.caller,
                call_uniqueid=self.call.uniqueid,
                place=command.place,
                transcript=command.description,
            )
        )
        return ServiceReplied(ActionOutcome.CREATED, {"case_reference": reference})

    async def _transfer(self, command: Transfer) -> list[Event]:
        self._drain_inbox()
        await self.ami.agi(self.channel, f"SET VARIABLE QUEUE_WAIT_S {command.timeout_s}")
        try:
            await self.ami.action(
                "Redirect",
                Channel=self.channel,
                Context=self.config.queue_context,
                Exten="s",
                Priority="1",
            )
        except AmiError as exc:
            log.error("call %s: redirect to the queue failed: %s", self.call.uniqueid, exc)
            return [TransferEnded(answered=False)]
        events: list[Event] = []
        answered = False
        loop = asyncio.get_running_loop()
        deadline = loop.time() + command.timeout_s + self.config.transfer_margin_s
        while True:
            timeout = None if answered else max(0.0, deadline - loop.time())
            try:
                notice = await asyncio.wait_for(self.inbox.get(), timeout)
            except TimeoutError:
                log.error("call %s: no word from the queue in time", self.call.uniqueid)
                raise ChannelGoneError(self.channel, "lost in the queue") from None
            if isinstance(notice, AgentAnswered):
                answered = True
                events.append(AgentConnected(notice.agent, notice.wait_s))
            elif isinstance(notice, ChannelHungUp):
                return [*events, CallerHungUp(notice.cause)]
            elif isinstance(notice, ConnectionRestored):
                if not notice.alive:
                    return [*events, CallLost("Asterisk connection lost during the transfer")]
            elif isinstance(notice, AgiRestarted):
                result = await self.ami.agi(self.channel, "GET VARIABLE QUEUE_RESULT")
                status = (result.data or "").strip().upper() if result.value == 1 else ""
                self._step(StepKind.TRANSFER, detail={"queue_result": status or "unknown"})
                answered = answered or status not in QUEUE_NOT_ANSWERED
                return [*events, TransferEnded(answered=answered)]

    # --- call record --------------------------------------------------------------------------

    def _mark(self, mark: Mark) -> None:
        self.calllog.step(
            self.call.uniqueid,
            CallStep(
                kind=mark.kind,
                at=utcnow(),
                node=mark.node,
                prompt=mark.prompt,
                digits=mark.digits,
                detail=dict(mark.detail),
            ),
        )

    def _step(
        self, kind: StepKind, *, prompt: str = "", detail: dict[str, str] | None = None
    ) -> None:
        self.calllog.step(
            self.call.uniqueid,
            CallStep(
                kind=kind,
                at=utcnow(),
                node=self.session.node_id,
                prompt=prompt,
                detail=detail or {},
            ),
        )


# --- pure helpers ----------------------------------------------------------------------------


def render_segments(segments: tuple[Segment, ...], *, southern: bool = False) -> str:
    """The sentence to synthesise: digits one by one, numbers and dates the Vietnamese way
    (`southern`: "lẻ"/"ngàn" for southern listeners)."""
    parts: list[str] = []
    for seg in segments:
        match seg:
            case Text():
                parts.append(seg.text)
            case Digits():
                groups = (4, 4) if len(seg.digits) == 8 else ()  # case numbers: 2 groups of 4
                parts.append(read_digits(seg.digits, groups=groups))
            case Number():
                parts.append(read_number(seg.value, southern=southern))
            case Date():
                parts.append(read_date(seg.value, southern=southern))
    return " ".join("".join(parts).split())


def _relative_audio(path: Path, prompts_dir: Path) -> str:
    """``<prompts_dir>/tts/ab12.wav`` -> ``tts/ab12`` (what STREAM FILE wants, no extension)."""
    try:
        rel = path.resolve().relative_to(prompts_dir.resolve())
    except ValueError:
        rel = Path("tts") / path.name
    return str(rel.with_suffix(""))


def dossier_reply(answer: DossierAnswer) -> ServiceReplied:
    if answer.status is LookupStatus.NOT_FOUND:
        return ServiceReplied(ActionOutcome.NOT_FOUND)
    if answer.status is LookupStatus.INVALID:
        return ServiceReplied(ActionOutcome.INVALID)
    values: dict[str, SlotValue] = {
        "dossier_procedure": answer.procedure,
        "dossier_status": answer.status_text,
        "dossier_step": answer.step,
        "dossier_due": answer.due or "",
        "dossier_overdue": answer.overdue,
        "dossier_needs_papers": answer.needs_papers,
    }
    return ServiceReplied(ActionOutcome.FOUND, values)


def case_reply(answer: CaseAnswer) -> ServiceReplied:
    if answer.status is LookupStatus.NOT_FOUND:
        return ServiceReplied(ActionOutcome.NOT_FOUND)
    if answer.status is LookupStatus.INVALID:
        return ServiceReplied(ActionOutcome.INVALID)
    values: dict[str, SlotValue] = {
        "case_reference": answer.reference,
        "case_category": answer.category,
        "case_status": answer.status_text,
        "case_updated": answer.updated or "",
        "case_resolution": answer.resolution,
    }
    return ServiceReplied(ActionOutcome.FOUND, values)


__all__ = [
    "AgentAnswered",
    "AgiCommandError",
    "AgiRestarted",
    "AmiPort",
    "CallRunner",
    "CallServices",
    "ChannelHungUp",
    "ConnectionRestored",
    "Notice",
    "RunnerConfig",
    "case_reply",
    "dossier_reply",
    "render_segments",
]
