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

Strategy for what comes next (speech): a later ``ask`` node kind takes the caller's answer by
speech *or* keys — it will carry ``choices`` (keys, exactly as a ``menu``) plus ``intents``
(intent name -> Choice). Keys and intents then resolve to the same `Choice`, so the session
machine only gains one listening state and one "recognised" event.
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
}


@dataclass(frozen=True, slots=True)
class Choice:
    """Where a key leads, and the slots it sets on the way (e.g. a complaint category)."""

    key: str
    target: str
    sets: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class PlayNode:
    id: str
    prompts: tuple[str, ...]
    next: str
    interruptible: bool = False  # a key skips the rest (and is dropped)


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
class ActionNode:
    id: str
    action: Action
    outcomes: Mapping[ActionOutcome, str]


@dataclass(frozen=True, slots=True)
class SayNode:
    id: str
    readback: str
    next: str


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
    ``{slot:number}``."""

    slot: str
    fmt: str = "text"


FORMATS = ("text", "digits", "date", "number")


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

    def node(self, node_id: str) -> Node:
        return self.nodes[node_id]
