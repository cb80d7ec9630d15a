"""One readable line per command or event: for logs and for the flow snapshots in tests."""

from __future__ import annotations

from pathlib import PurePath

from ivr.session.messages import (
    AgentConnected,
    CallAnswered,
    CallerHungUp,
    CallLost,
    CallResumed,
    Command,
    CreateCase,
    Date,
    DigitPressed,
    Digits,
    DigitTimeout,
    Event,
    Hangup,
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


def describe_segment(seg: Segment) -> str:
    match seg:
        case Text():
            return f'"{seg.text}"'
        case Digits():
            return f"<digits {seg.digits}>"
        case Number():
            return f"<number {seg.value}>"
        case Date():
            return f"<date {seg.value.isoformat()}>"


def _keys(keys: str) -> str:
    return f" [keys {keys}]" if keys else ""


def describe_command(cmd: Command) -> str:
    match cmd:
        case Play():
            return f"play {cmd.prompt}{_keys(cmd.keys)}"
        case Say():
            return "say " + " ".join(describe_segment(s) for s in cmd.segments) + _keys(cmd.keys)
        case WaitDigit():
            return f"wait for a digit {cmd.timeout_ms} ms"
        case Listen():
            audio = ", ".join(describe_command(a) for a in cmd.audio)
            extra = []
            if cmd.expect:
                extra.append("expect " + "/".join(cmd.expect))
            if cmd.max_digits:
                extra.append(f"keys up to {cmd.max_digits}")
            if cmd.keep_audio:
                extra.append(f"keep audio, max {cmd.max_speech_s:g} s")
            tail = f" ({'; '.join(extra)})" if extra else ""
            return f"listen [{audio}]{tail}"
        case Record():
            beep = " beep" if cmd.beep else ""
            return (
                f"record {cmd.name} max {cmd.max_s} s, silence {cmd.silence_s} s{beep}, "
                f"ends on [{cmd.escape}]"
            )
        case LookupDossier():
            return f"lookup dossier {cmd.code}"
        case LookupCase():
            return f"lookup case {cmd.reference}"
        case CreateCase():
            text = f"create case category={cmd.category} recording={cmd.recording}"
            if cmd.place:
                text += f" place={cmd.place}"
            if cmd.description:
                text += f' description="{cmd.description}"'
            return text
        case RequestCallback():
            return "request a call-back"
        case Transfer():
            return f"transfer to queue {cmd.queue}, timeout {cmd.timeout_s} s"
        case Hangup():
            return f"hang up: {cmd.outcome.value} ({cmd.reason})"
        case Mark():
            parts = [f"· {cmd.kind.value}", cmd.node]
            if cmd.prompt:
                parts.append(f"prompt={cmd.prompt}")
            if cmd.digits:
                parts.append(f"digits={cmd.digits}")
            parts.extend(f"{k}={v}" for k, v in sorted(cmd.detail.items()))
            return " ".join(p for p in parts if p)


def describe_event(event: Event) -> str:
    match event:
        case CallAnswered():
            return "call answered"
        case CallResumed():
            return "call resumed"
        case PlaybackFinished():
            return "playback finished"
        case DigitPressed():
            return f"digit {event.digit}"
        case DigitTimeout():
            return f"no digit after {event.elapsed_ms} ms"
        case TurnHeard():
            if event.no_input:
                return "heard nothing"
            parts = []
            if event.transcript:
                parts.append(f'"{event.transcript}" ({event.confidence:.2f})')
            if event.digits:
                parts.append(f"keys {event.digits}")
            if event.recording:
                parts.append(f"audio {PurePath(event.recording).name}")
            return "heard " + ", ".join(parts or ["nothing"])
        case RecordingFinished():
            return f"recording {event.name} finished, {event.duration_ms} ms"
        case ServiceReplied():
            values = ", ".join(f"{k}={v}" for k, v in sorted(event.values.items()))
            return f"service replied {event.outcome.value}" + (f": {values}" if values else "")
        case AgentConnected():
            waited = f" after {event.wait_s} s" if event.wait_s is not None else ""
            return f"agent {event.agent} connected{waited}"
        case TransferEnded():
            return "transfer ended, " + ("answered" if event.answered else "not answered")
        case CallerHungUp():
            return f"caller hung up ({event.cause})" if event.cause else "caller hung up"
        case ShutdownRequested():
            return "shutdown requested"
        case CallLost():
            return f"call lost ({event.reason})"
