"""The typed model of a call flow: nodes, choices, actions and read-back templates.

A flow is a graph of nodes keyed by id. Each node kind says what the caller hears and how the
call moves on:

- ``play``: play prompts, then go to ``next``;
- ``menu``: play a prompt, wait for one key, follow the matching choice; no input / a wrong key is
  re-prompted up to ``retries`` times, then ``on_failure``;
- ``collect``: play a prompt, collect several keys ended by a terminator (``#``) into a slot;
- ``record``: play a prompt, record the caller's voice into a slot (``RECORD FILE``);
- ``action``: ask a service (dossier lookup, case creation, case lookup); its outcome picks the
  next node and its values fill slots;
- ``say``: read a template back with slot values (digits, dates, numbers read the Vietnamese way);
- ``transfer``: hand the caller to the agents' queue; ``on_timeout`` when nobody answers;
- ``hangup``: a last prompt, then hang up.

- ``ask``: a prompt and a listening turn through the voice port: the caller speaks *or* presses
  keys. What is taken from the turn is the node's ``capture``: a ``choice`` (``intents`` — intent
  name -> Choice — and ``choices`` — key -> Choice — resolve to the same `Choice`), a complaint
  ``category``, a ``digits`` code, a ``place`` (always confirmed) or free ``text`` (the recorded
  description). A low-confidence answer gets a yes/no confirmation turn, a no-match a re-ask, and
  after ``speech_retries`` no-matches the caller goes to the node's keypad ``fallback`` (a plain
  ``menu``/``collect``/``record``/``play`` node). Without a voice port the ``ask`` node *is* its
  fallback (entered silently), so the keypad hotline runs on the same file;
- ``hours``: office hours (a schedule with holidays, decided per call) pick ``open`` or ``closed``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from pathlib import Path

#: Keys a caller can press (RFC 4733 DTMF events 0-11; A-D are not on phones).
KEYS = "0123456789*#"

#: What a slot holds: text, a date, a number or a flag (from services) or keys pressed.
SlotValue = str | int | date | bool


class Action(StrEnum):
    """Services the flow can ask; the runner executes them through ports."""

    LOOKUP_DOSSIER = "lookup_dossier"
    CREATE_CASE = "create_case"
    LOOKUP_CASE = "lookup_case"
    REQUEST_CALLBACK = "request_callback"


class ActionOutcome(StrEnum):
    FOUND = "found"
    NOT_FOUND = "not_found"
    INVALID = "invalid"
    CREATED = "created"
    ERROR = "error"


@dataclass(frozen=True, slots=True)
class ActionSpec:
    """What an action reads (slots that must be filled), its outcomes and the slots it fills."""

    inputs: tuple[str, ...]
    outcomes: tuple[ActionOutcome, ...]
    outputs: tuple[str, ...]


ACTIONS: Mapping[Action, ActionSpec] = {
    Action.LOOKUP_DOSSIER: ActionSpec(
        inputs=("dossier_code",),
        outcomes=(
            ActionOutcome.FOUND,
            ActionOutcome.NOT_FOUND,
            ActionOutcome.INVALID,
            ActionOutcome.ERROR,
        ),
        outputs=(
            "dossier_procedure",
            "dossier_status",
            "dossier_step",
            "dossier_due",
            "dossier_overdue",
            "dossier_needs_papers",
        ),
    ),
    Action.CREATE_CASE: ActionSpec(
        inputs=("category", "recording"),
        outcomes=(ActionOutcome.CREATED, ActionOutcome.ERROR),
        outputs=("case_reference",),
    ),
    Action.LOOKUP_CASE: ActionSpec(
        inputs=("case_code",),
        outcomes=(
            ActionOutcome.FOUND,
            ActionOutcome.NOT_FOUND,
            ActionOutcome.INVALID,
            ActionOutcome.ERROR,
        ),
        outputs=(
            "case_reference",
            "case_category",
            "case_status",
            "case_updated",
            "case_resolution",
        ),
    ),
    Action.REQUEST_CALLBACK: ActionSpec(
        inputs=(),
        outcomes=(ActionOutcome.CREATED, ActionOutcome.ERROR),
        outputs=("case_reference",),
    ),
}

#: Slots a CREATE_CASE reads when they are filled (a voice complaint), absent on the keypad.
CASE_OPTIONAL_INPUTS = ("place", "description")


@dataclass(frozen=True, slots=True)
class Choice:
    """Where a key (or a spoken intent) leads, and the slots it sets on the way (e.g. a complaint
    category). `label` is what a confirmation turn reads ("tra cứu hồ sơ")."""

    key: str
    target: str
    sets: Mapping[str, str] = field(default_factory=dict)
    label: str = ""


class Capture(StrEnum):
    """What an `ask` node takes from the caller's turn."""

    CHOICE = "choice"  # an intent or a key -> a Choice
    CATEGORY = "category"  # a complaint category (speech) or a key -> Choice setting it
    DIGITS = "digits"  # a code, keyed (ended by the terminator) or spoken
    PLACE = "place"  # a ward/commune of the province, spoken, always confirmed
    TEXT = "text"  # free speech, recorded and transcribed (a complaint's description)


@dataclass(frozen=True, slots=True)
class PlayNode:
    id: str
    prompts: tuple[str, ...]
    next: str
    interruptible: bool = False  # a key skips the rest and is the next node's first key


@dataclass(frozen=True, slots=True)
class MenuNode:
    id: str
    prompt: str
    choices: Mapping[str, Choice]
    on_failure: str
    no_input: str | None = None
    no_match: str | None = None
    retries: int = 3
    timeout_ms: int | None = None  # None: settings.digit_timeout_ms


@dataclass(frozen=True, slots=True)
class CollectNode:
    id: str
    prompt: str
    slot: str
    next: str
    on_failure: str
    min_digits: int = 1
    max_digits: int = 20
    terminator: str = "#"
    no_input: str | None = None
    retries: int = 3
    timeout_ms: int | None = None


@dataclass(frozen=True, slots=True)
class RecordNode:
    id: str
    prompt: str
    slot: str
    next: str
    on_empty: str
    max_s: int | None = None  # None: settings.record_max_s
    silence_s: int = 5
    min_ms: int = 1000  # shorter than this counts as empty
    beep: bool = True
    escape: str = "#"


@dataclass(frozen=True, slots=True)
class AskNode:
    id: str
    prompt: str
    fallback: str  # the keypad node: after `speech_retries` no-matches, and without voice
    on_failure: str  # after `retries` no-inputs
    capture: Capture = Capture.CHOICE
    intents: Mapping[str, Choice] = field(default_factory=dict)
    choices: Mapping[str, Choice] = field(default_factory=dict)
    slot: str | None = None  # category/digits/place/text captures fill it
    next: str | None = None  # ... and go on here
    skip_if: str | None = None  # a slot: when already filled, go straight to `next`
    readback: str | None = None  # said before the prompt (a summary to confirm)
    confirm: str = "confirm"  # read-back of the yes/no confirmation turn ({candidate})
    no_input: str | None = None
    no_match: str | None = None
    retries: int = 3
    speech_retries: int = 2
    min_digits: int = 1
    max_digits: int = 20
    terminator: str = "#"
    timeout_ms: int | None = None  # no-input timeout; None: settings.digit_timeout_ms
    max_speech_s: int | None = None  # None: 15 s, or settings.record_max_s for text
    hints: tuple[str, ...] = ()
    clear: tuple[str, ...] = ()  # slots emptied on entry (a new request starts afresh)

    def expect(self) -> tuple[str, ...]:
        """The intents the router may answer with at this node."""
        if self.capture is Capture.CHOICE:
            return tuple(self.intents)
        if self.capture is Capture.CATEGORY:
            return ("complaint",)
        return ()


@dataclass(frozen=True, slots=True)
class HoursNode:
    id: str
    open: str
    closed: str


@dataclass(frozen=True, slots=True)
class ActionNode:
    id: str
    action: Action
    outcomes: Mapping[ActionOutcome, str]


@dataclass(frozen=True, slots=True)
class SayNode:
    id: str
    readback: str
    next: str
    interruptible: bool = False  # a key skips the rest and is the next node's first key


@dataclass(frozen=True, slots=True)
class TransferNode:
    id: str
    on_timeout: str
    prompt: str | None = None
    queue: str | None = None  # None: settings.agent_queue
    timeout_s: int = 30


@dataclass(frozen=True, slots=True)
class HangupNode:
    id: str
    prompt: str | None = None


Node = (
    PlayNode
    | MenuNode
    | AskNode
    | HoursNode
    | CollectNode
    | RecordNode
    | ActionNode
    | SayNode
    | TransferNode
    | HangupNode
)


@dataclass(frozen=True, slots=True)
class SlotRef:
    """A placeholder of a read-back: ``{slot}`` (text), ``{slot:digits}``, ``{slot:date}``,
    ``{slot:number}``, ``{slot:label}`` (the flow's `labels[slot][value]`, e.g. a category's
    Vietnamese name)."""

    slot: str
    fmt: str = "text"


FORMATS = ("text", "digits", "date", "number", "label")


@dataclass(frozen=True, slots=True)
class ReadbackLine:
    """One sentence of a read-back. It is left out when `when` names a slot that is not truthy,
    or when one of its placeholders has no value (a dossier without an appointment date)."""

    parts: tuple[str | SlotRef, ...]
    when: str | None = None


@dataclass(frozen=True, slots=True)
class Readback:
    id: str
    lines: tuple[ReadbackLine, ...]


@dataclass(frozen=True, slots=True)
class Flow:
    """A validated call flow. `failure_transfer` is where callers go after too many failures when
    settings.transfer_after_failures is on (instead of each menu's `on_failure`)."""

    source: Path
    start: str
    nodes: Mapping[str, Node]
    readbacks: Mapping[str, Readback]
    prompts: Mapping[str, str]
    main: str  # the node that "back to the menu" returns to (after an apology, on resume)
    failure_transfer: str | None = None
    labels: Mapping[str, Mapping[str, str]] = field(default_factory=dict)

    def node(self, node_id: str) -> Node:
        return self.nodes[node_id]
