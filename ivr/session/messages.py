"""Commands the session machine returns and events it is fed: the runner's whole vocabulary.

Commands are imperatives (`Play`, `WaitDigit`, `Hangup`...). Each `step()` returns at most one
command that *awaits* a result (see `AWAITING`), always last; `Mark` and `Hangup` await nothing.
Events are past-tense facts (`PlaybackFinished`, `DigitPressed`...) — the result of the awaited
command, or something that happened to the call (`CallerHungUp`, `ShutdownRequested`).

`Say` carries typed segments, not text: the runner renders digits, numbers and dates the
Vietnamese way (speech.text) and synthesises the sentence, so the machine stays free of I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date

from ivr.flows.model import ActionOutcome, SlotValue
from ivr.ports import Outcome, StepKind

# --- segments of a dynamic sentence ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Text:
    text: str


@dataclass(frozen=True, slots=True)
class Digits:
    """Read one digit at a time ("một hai ba")."""

    digits: str


@dataclass(frozen=True, slots=True)
class Number:
    """Read as a number ("một trăm hai mươi ba")."""

    value: int


@dataclass(frozen=True, slots=True)
class Date:
    value: date


Segment = Text | Digits | Number | Date


# --- commands ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Play:
    """Play a prompt of prompts.yaml; a key of `keys` stops it (-> DigitPressed)."""

    prompt: str
    keys: str = ""


@dataclass(frozen=True, slots=True)
class Say:
    """Synthesise and play a dynamic sentence."""

    segments: tuple[Segment, ...]
    keys: str = ""


@dataclass(frozen=True, slots=True)
class WaitDigit:
    """Wait up to `timeout_ms` for one key (-> DigitPressed or DigitTimeout(elapsed_ms))."""

    timeout_ms: int


@dataclass(frozen=True, slots=True)
class Record:
    """Record the caller into recordings/<name>.wav (-> RecordingFinished)."""

    name: str
    max_s: int
    silence_s: int
    beep: bool = True
    escape: str = "#"


@dataclass(frozen=True, slots=True)
class LookupDossier:
    code: str


@dataclass(frozen=True, slots=True)
class LookupCase:
    reference: str


@dataclass(frozen=True, slots=True)
class CreateCase:
    category: str
    recording: str  # recording name (file recordings/<name>.wav) or the host path of one
    channel_note: str = ""
    place: str = ""  # a ward/commune name, confirmed by the caller (voice)
    description: str = ""  # the transcript of the caller's description (voice)


@dataclass(frozen=True, slots=True)
class RequestCallback:
    """Leave a call-back request for the agents (a record through the case desk)."""


@dataclass(frozen=True, slots=True)
class Listen:
    """Play `audio` with barge-in and hear the caller: speech or keys (-> TurnHeard).

    The runner hands this to the voice port (`ivr.voice.port.Listener`) and routes nothing: the
    machine interprets the transcript itself. `expect` is informative (logs, snapshots)."""

    audio: tuple[Play | Say, ...]
    no_input_ms: int
    max_speech_s: float = 15.0
    silence_s: float = 0.8  # end of the utterance after this much silence
    hints: tuple[str, ...] = ()
    keep_audio: bool = False
    max_digits: int = 0
    terminator: str = "#"
    expect: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Transfer:
    """Put the caller in the agents' queue (-> AgentConnected?, TransferEnded)."""

    queue: str
    timeout_s: int


@dataclass(frozen=True, slots=True)
class Hangup:
    outcome: Outcome
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Mark:
    """Write a step into the call record (no result)."""

    kind: StepKind
    node: str = ""
    prompt: str = ""
    digits: str = ""
    detail: Mapping[str, str] = field(default_factory=dict)


Request = LookupDossier | LookupCase | CreateCase | RequestCallback
Command = (
    Play
    | Say
    | WaitDigit
    | Record
    | Listen
    | LookupDossier
    | LookupCase
    | CreateCase
    | RequestCallback
    | Transfer
    | Hangup
    | Mark
)
#: Commands whose result comes back as the next event.
AWAITING: tuple[type, ...] = (
    Play,
    Say,
    WaitDigit,
    Record,
    Listen,
    LookupDossier,
    LookupCase,
    CreateCase,
    RequestCallback,
    Transfer,
)


# --- events ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CallAnswered:
    """The call entered our control (AsyncAGIStart)."""


@dataclass(frozen=True, slots=True)
class CallResumed:
    """We took the call over again after losing it (AMI reconnect, controller restart)."""


@dataclass(frozen=True, slots=True)
class PlaybackFinished:
    pass


@dataclass(frozen=True, slots=True)
class DigitPressed:
    digit: str


@dataclass(frozen=True, slots=True)
class DigitTimeout:
    elapsed_ms: int


@dataclass(frozen=True, slots=True)
class RecordingFinished:
    name: str
    duration_ms: int


@dataclass(frozen=True, slots=True)
class TurnHeard:
    """What a listening turn got (the voice port's `Heard`, with the recording as text)."""

    transcript: str = ""
    confidence: float = 0.0
    digits: str = ""
    barged_in: bool = False
    no_input: bool = False
    speech_s: float = 0.0
    latency_s: float = 0.0
    recording: str = ""  # host path of the kept audio, "" when none


@dataclass(frozen=True, slots=True)
class ServiceReplied:
    outcome: ActionOutcome
    values: Mapping[str, SlotValue] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class AgentConnected:
    agent: str = ""
    wait_s: int | None = None  # seconds the caller waited in the queue, when Asterisk said


@dataclass(frozen=True, slots=True)
class TransferEnded:
    answered: bool


@dataclass(frozen=True, slots=True)
class CallerHungUp:
    cause: str = ""


@dataclass(frozen=True, slots=True)
class ShutdownRequested:
    pass


@dataclass(frozen=True, slots=True)
class CallLost:
    """We lost the call without a hang-up from the caller (Asterisk died, AMI gone)."""

    reason: str


Event = (
    CallAnswered
    | CallResumed
    | PlaybackFinished
    | DigitPressed
    | DigitTimeout
    | RecordingFinished
    | TurnHeard
    | ServiceReplied
    | AgentConnected
    | TransferEnded
    | CallerHungUp
    | ShutdownRequested
    | CallLost
)
