"""The call-session state machine: everything that moves a call from one state to the next.

Everything that affects the session's state lives in this file: the `State` enum, the
transition table `_TRANSITIONS` (state -> event type -> handler) and the handlers. `step(event)`
looks the handler up, raises `IllegalEventError` naming the state when there is none, and
returns the commands for the runner. Every change of state goes through `_set_state()`, which
logs ``old -> new``.

Strategy: a node is entered by queueing its audio (prompts, read-backs) and a continuation
(`_Then`: wait for a key, record, ask a service, transfer, go to a node, hang up). Audio is
handed out one item at a time, so a key that interrupts a prompt drops the rest of the queue.
Silence is counted from the elapsed time the runner reports (`DigitTimeout.elapsed_ms`), never
from a clock; a node's failures (no input, no match) are counted per visit.

Voice (`ask` nodes): a node's audio and its listening turn go out as ONE `Listen` command (the
voice port plays with barge-in, then hears speech or keys) and come back as `TurnHeard`. The
machine itself interprets the turn — the transcript through the pure intent router it is given
(`IntentRoute`, i.e. `speech.intent.IntentRouter`), keys through the node's `choices` — and
decides: accept, confirm (a yes/no turn reading the candidate back), re-ask, and after
`speech_retries` no-matches the node's keypad `fallback`. No input is counted like a keypad
menu's (`retries`, then `on_failure`). Every turn is written to the call record as a SPEECH step.
Without voice (`SessionConfig.voice` false) an `ask` node is silently its fallback.

No asyncio, sockets, files or clocks here: a whole call runs in a unit test by feeding events.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from pathlib import PurePath
from typing import Any, Protocol

from ivr.flows.hours import OfficeHours
from ivr.flows.model import (
    KEYS,
    Action,
    ActionNode,
    ActionOutcome,
    AskNode,
    Capture,
    Choice,
    CollectNode,
    Flow,
    HangupNode,
    HoursNode,
    MenuNode,
    PlayNode,
    RecordNode,
    SayNode,
    SlotRef,
    SlotValue,
    TransferNode,
)
from ivr.ports import Outcome, StepKind
from ivr.session.errors import IllegalEventError, SessionError
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
from speech.intent.model import Decision, IntentResult, Thresholds

log = logging.getLogger(__name__)

DIGITS = "0123456789"
#: The recogniser's vocabulary in a yes/no confirmation turn.
CONFIRM_HINTS = ("có", "không", "đúng", "đúng rồi", "không phải")


class State(StrEnum):
    IDLE = "idle"  # created, call not yet handed over
    PLAYING = "playing"  # a prompt or read-back is playing
    WAITING_DIGIT = "waiting_digit"  # listening for a key
    LISTENING = "listening"  # a voice turn: prompts with barge-in, then speech or keys
    RECORDING = "recording"
    REQUESTING = "requesting"  # waiting for a service (dossier, case)
    TRANSFERRING = "transferring"  # in the agents' queue / with an agent
    ENDED = "ended"


@dataclass(frozen=True, slots=True)
class SessionConfig:
    """Knobs from settings that the flow file leaves open."""

    digit_timeout_ms: int = 5000
    record_max_s: int = 120
    agent_queue: str = "hotline-agents"
    transfer_after_failures: bool = False
    voice: bool = False  # a Listener is wired: `ask` nodes listen (else their keypad fallback)
    office_open: bool = True  # decided per call from `schedule` (by the controller)
    office_hours: str = ""  # the schedule as said to callers (slot `office_hours`)
    schedule: OfficeHours | None = None  # agents' office hours; None: always there
    place_hints: tuple[str, ...] = ()  # the served wards' names: the recogniser's vocabulary
    thresholds: Thresholds = field(default_factory=Thresholds)
    asr_confirm_below: float = 0.35  # a sure intent heard this unsurely is confirmed anyway
    speech_max_s: float = 15.0  # longest answer of a non-text turn
    answer_silence_s: float = 0.6  # a pause this long ends a short answer (menu, yes/no, place)
    description_silence_s: float = 1.5  # a pause this long ends a spoken description


class IntentRoute(Protocol):
    """The pure intent router (`speech.intent.IntentRouter` fits)."""

    def route(self, text: str, *, expect: Collection[str] | None = None) -> IntentResult: ...


@dataclass(frozen=True, slots=True)
class _Pending:
    """An answer heard unsurely, waiting for the caller's yes/no."""

    choice: Choice
    how: str  # what was heard: intent name, category, place...


class _Then(StrEnum):
    """What happens when the queued audio has played."""

    WAIT_KEY = "wait_key"
    RECORD = "record"
    REQUEST = "request"
    TRANSFER = "transfer"
    GOTO = "goto"
    HANGUP = "hangup"


Audio = Play | Say


class CallSession:
    """One call walking through a `Flow`. Feed events with `step()`; execute what it returns."""

    def __init__(
        self,
        flow: Flow,
        call_id: str,
        config: SessionConfig | None = None,
        router: IntentRoute | None = None,
    ) -> None:
        self.flow = flow
        self.call_id = call_id
        self.config = config or SessionConfig()
        self.router = router
        if self.config.voice and router is None:
            raise SessionError(f"call {call_id}: voice is on but no intent router was given")
        self.state = State.IDLE
        self.node_id = ""
        self.slots: dict[str, SlotValue] = {}
        self.outcome: Outcome | None = None
        self.end_reason = ""
        self.agent_answered = False
        self.served = False  # a service answered the caller's request
        # per node visit
        self._audio: deque[Audio] = deque()
        self._then = _Then.GOTO
        self._goto = ""
        self._failures = 0
        self._silence_ms = 0
        self._buffer = ""
        self._recordings = 0
        self._failure_transferred = False
        self._hangup_outcome = Outcome.COMPLETED
        self._hangup_reason = ""
        self._nomatch = 0
        self._pending: _Pending | None = None
        if self.config.office_hours:
            self.slots["office_hours"] = self.config.office_hours

    # --- public -----------------------------------------------------------------------------

    @property
    def ended(self) -> bool:
        return self.state is State.ENDED

    def outcome_if_caller_hangs_up(self) -> Outcome:
        """What the record says when the channel disappears now: a caller who leaves after
        being served (a dossier or case read back, a complaint filed) completed the call;
        one who leaves before abandoned it."""
        if self.outcome is not None:
            return self.outcome
        if self.agent_answered:
            return Outcome.TRANSFERRED
        if self.served:
            return Outcome.COMPLETED
        return Outcome.ABANDONED

    def step(self, event: Event) -> list[Command]:
        handler = _TRANSITIONS[self.state].get(type(event))
        if handler is None:
            raise IllegalEventError(self.call_id, self.state.value, event, self.node_id)
        commands: list[Command] = handler(self, event)
        return commands

    # --- state and nodes --------------------------------------------------------------------

    def _set_state(self, new: State) -> None:
        if new is not self.state:
            log.debug("call %s: %s -> %s (node %s)", self.call_id, self.state, new, self.node_id)
            self.state = new

    def _enter(
        self, node_id: str, key: str | None = None, preface: tuple[Audio, ...] = ()
    ) -> list[Command]:
        """Enter a node; `key` is a key typed ahead during the previous prompt, `preface` audio
        played before the node's own (an apology)."""
        node = self.flow.nodes[node_id]
        if isinstance(node, AskNode) and not self.config.voice:
            return self._enter(node.fallback, key, preface)  # the keypad hotline: silently
        self.node_id = node_id
        self._audio.clear()
        self._failures = 0
        self._nomatch = 0
        self._pending = None
        self._silence_ms = 0
        self._buffer = ""
        out: list[Command] = [Mark(StepKind.NODE, node=node_id)]
        match node:
            case HoursNode():
                is_open = self.config.office_open
                target = node.open if is_open else node.closed
                note = Mark(StepKind.NOTE, node=node_id, detail={"office": _open_word(is_open)})
                return [*out, note, *self._enter(target, key, preface)]
            case AskNode():
                for slot in node.clear:
                    self.slots.pop(slot, None)
                filled = node.skip_if is not None and self.slots.get(node.skip_if) not in (None, "")
                if filled and node.next:
                    value = str(self.slots.get(node.skip_if or ""))
                    note = Mark(StepKind.NOTE, node=node_id, detail={"already": value})
                    return [*out, note, *self._enter(node.next, key, preface)]
                if key is not None:
                    return out + self._ask_keys(node, key)
                return out + self._listen(node, [*preface, *self._ask_audio(node)])
            case PlayNode():
                keys = KEYS if node.interruptible else ""
                self._queue([Play(p, keys) for p in node.prompts], _Then.GOTO, node.next)
            case MenuNode():
                if key is not None:
                    return out + self._menu_key(node, key)
                self._queue([Play(node.prompt, KEYS)], _Then.WAIT_KEY)
            case CollectNode():
                if key is not None:
                    return out + self._collect_key(node, key)
                self._queue([Play(node.prompt, KEYS)], _Then.WAIT_KEY)
            case RecordNode():
                self._queue([Play(node.prompt)], _Then.RECORD)
            case ActionNode():
                return out + self._request(node)
            case SayNode():
                segments = self._render(node.readback)
                keys = KEYS if node.interruptible else ""
                self._queue([Say(segments, keys)] if segments else [], _Then.GOTO, node.next)
            case TransferNode():
                self._queue([Play(node.prompt)] if node.prompt else [], _Then.TRANSFER)
            case HangupNode():
                self._hangup_outcome, self._hangup_reason = Outcome.COMPLETED, f"flow {node_id}"
                self._queue([Play(node.prompt)] if node.prompt else [], _Then.HANGUP)
        self._audio.extendleft(reversed(preface))
        return out + self._continue()

    def _queue(self, audio: list[Audio], then: _Then, goto: str = "") -> None:
        self._audio.extend(audio)
        self._then = then
        self._goto = goto

    def _continue(self) -> list[Command]:
        """Hand out the next audio item, or do what comes after the audio."""
        if self._audio:
            item = self._audio.popleft()
            self._set_state(State.PLAYING)
            return [item]  # the runner records each prompt it plays
        node = self.flow.nodes[self.node_id]
        match self._then:
            case _Then.GOTO:
                return self._enter(self._goto)
            case _Then.WAIT_KEY:
                return self._wait(node)
            case _Then.RECORD:
                assert isinstance(node, RecordNode)
                self._recordings += 1
                self._set_state(State.RECORDING)
                return [
                    Record(
                        name=f"{_safe(self.call_id)}-{node.id}-{self._recordings}",
                        max_s=node.max_s or self.config.record_max_s,
                        silence_s=node.silence_s,
                        beep=node.beep,
                        escape=node.escape,
                    )
                ]
            case _Then.TRANSFER:
                assert isinstance(node, TransferNode)
                queue = node.queue or self.config.agent_queue
                self._set_state(State.TRANSFERRING)
                return [
                    Mark(StepKind.TRANSFER, node=node.id, detail={"queue": queue}),
                    Transfer(queue=queue, timeout_s=node.timeout_s),
                ]
            case _Then.HANGUP:
                self.outcome = self._hangup_outcome
                self.end_reason = self._hangup_reason
                self._set_state(State.ENDED)
                return [Hangup(self._hangup_outcome, self._hangup_reason)]
            case _Then.REQUEST:  # pragma: no cover - requests are issued directly
                raise SessionError(f"call {self.call_id}: nothing queued at {self.node_id!r}")

    def _wait(self, node: Any) -> list[Command]:
        timeout = getattr(node, "timeout_ms", None) or self.config.digit_timeout_ms
        self._set_state(State.WAITING_DIGIT)
        return [WaitDigit(max(timeout - self._silence_ms, 1))]

    # --- menus and digit collection ----------------------------------------------------------

    def _menu_key(self, node: MenuNode, key: str) -> list[Command]:
        choice = node.choices.get(key)
        if choice is None:
            mark = Mark(StepKind.NO_MATCH, node=node.id, digits=key)
            return [mark, *self._fail(node, node.no_match)]
        self.slots.update(choice.sets)
        detail = dict(choice.sets)
        return [
            Mark(StepKind.DIGITS, node=node.id, digits=key, detail=detail),
            *self._enter(choice.target),
        ]

    def _collect_key(self, node: CollectNode, key: str) -> list[Command]:
        if key == node.terminator:
            return self._collect_done(node)
        if key in DIGITS:
            self._buffer += key
            self._silence_ms = 0
            if len(self._buffer) >= node.max_digits:
                return self._collect_done(node)
        # '*' and other keys are ignored while typing a code.
        return self._wait(node)

    def _collect_done(self, node: CollectNode) -> list[Command]:
        digits, self._buffer = self._buffer, ""
        if len(digits) < node.min_digits:
            mark = Mark(StepKind.NO_INPUT if not digits else StepKind.NO_MATCH, node.id, "", digits)
            return [mark, *self._fail(node, node.no_input)]
        self.slots[node.slot] = digits
        return [Mark(StepKind.DIGITS, node=node.id, digits=digits), *self._enter(node.next)]

    def _fail(self, node: MenuNode | CollectNode, apology: str | None) -> list[Command]:
        """Count a failure; re-prompt (`retries` times), then leave by on_failure."""
        self._failures += 1
        self._silence_ms = 0
        if self._failures > node.retries:
            target = self._failure_target(node.on_failure)
            detail = {"failures": str(self._failures), "to": target}
            return [Mark(StepKind.NOTE, node=node.id, detail=detail), *self._enter(target)]
        audio: list[Audio] = [Play(apology, KEYS)] if apology else []
        self._queue([*audio, Play(node.prompt, KEYS)], _Then.WAIT_KEY)
        return self._continue()

    # --- voice turns (ask nodes) --------------------------------------------------------------

    def _ask_audio(self, node: AskNode, apology: str | None = None) -> list[Audio]:
        audio: list[Audio] = []
        if apology:
            audio.append(Play(apology))
        elif node.readback:
            segments = self._render(node.readback)
            if segments:
                audio.append(Say(segments))
        audio.append(Play(node.prompt))
        return audio

    def _listen(
        self, node: AskNode, audio: list[Audio], *, confirming: bool = False
    ) -> list[Command]:
        self._set_state(State.LISTENING)
        timeout = node.timeout_ms or self.config.digit_timeout_ms
        if confirming:
            return [
                Listen(
                    tuple(audio),
                    timeout,
                    self.config.speech_max_s,
                    silence_s=self.config.answer_silence_s,
                    hints=CONFIRM_HINTS,
                    max_digits=1,
                    expect=("yes", "no"),
                )
            ]
        text = node.capture is Capture.TEXT
        max_speech = node.max_speech_s or (
            self.config.record_max_s if text else self.config.speech_max_s
        )
        keys = 1 if node.choices else 0
        max_digits = node.max_digits if node.capture is Capture.DIGITS else keys
        return [
            Listen(
                audio=tuple(audio),
                no_input_ms=timeout,
                max_speech_s=float(max_speech),
                silence_s=(
                    self.config.description_silence_s if text else self.config.answer_silence_s
                ),
                hints=node.hints
                + (self.config.place_hints if node.capture is Capture.PLACE else ()),
                keep_audio=text,
                max_digits=max_digits,
                terminator=node.terminator,
                expect=node.expect(),
            )
        ]

    def _turn_mark(
        self, node: AskNode, heard: TurnHeard, decision: str, result: IntentResult | None = None
    ) -> Mark:
        detail = {
            "transcript": heard.transcript,
            "asr_confidence": f"{heard.confidence:.2f}",
            "decision": decision,
            "speech_s": f"{heard.speech_s:.2f}",
            "latency_s": f"{heard.latency_s:.2f}",
        }
        if heard.barged_in:
            detail["barged_in"] = "yes"
        if heard.recording:
            detail["recording"] = PurePath(heard.recording).name
        if result is not None:
            detail["intent"] = result.intent or ""
            detail["intent_confidence"] = f"{result.confidence:.2f}"
            for name, value in result.slots.as_dict().items():
                if value:
                    detail[name] = value
        return Mark(StepKind.SPEECH, node=node.id, digits=heard.digits, detail=detail)

    def _ask_keys(self, node: AskNode, digits: str) -> list[Command]:
        if node.capture is Capture.DIGITS:
            code = "".join(ch for ch in digits if ch in DIGITS)
            if node.min_digits <= len(code) <= node.max_digits:
                self.slots[node.slot or ""] = code
                mark = Mark(StepKind.DIGITS, node=node.id, digits=code)
                return [mark, *self._enter(node.next or "")]
            return [Mark(StepKind.NO_MATCH, node=node.id, digits=digits), *self._reask(node)]
        choice = node.choices.get(digits[:1])
        if choice is None:
            return [Mark(StepKind.NO_MATCH, node=node.id, digits=digits), *self._reask(node)]
        self.slots.update(choice.sets)
        mark = Mark(StepKind.DIGITS, node=node.id, digits=choice.key, detail=dict(choice.sets))
        return [mark, *self._enter(choice.target)]

    def _on_heard(self, event: TurnHeard) -> list[Command]:
        node = self.flow.nodes[self.node_id]
        if not isinstance(node, AskNode):
            raise IllegalEventError(self.call_id, self.state.value, event, self.node_id)
        if self._pending is not None:
            return self._on_confirmation(node, event)
        if event.digits:
            return [self._turn_mark(node, event, "keys"), *self._ask_keys(node, event.digits)]
        text = event.transcript.strip()
        spoke = event.recording != "" and event.speech_s >= 1.0
        if event.no_input or not (text or (node.capture is Capture.TEXT and spoke)):
            return [self._turn_mark(node, event, "no_input"), *self._no_input(node)]
        if node.capture is Capture.TEXT:
            self.slots[node.slot or "description"] = text
            self.slots["recording"] = event.recording
            mark = self._turn_mark(node, event, Decision.ACCEPT.value)
            return [mark, *self._enter(node.next or "")]
        assert self.router is not None  # checked at construction when voice is on
        result = self.router.route(text, expect=node.expect())
        decision = result.decision(self.config.thresholds)
        choice: Choice | None = None
        label = ""
        match node.capture:
            case Capture.CHOICE:
                choice = node.intents.get(result.intent or "")
                if choice is not None:
                    label = choice.label or (result.intent or "")
                    if result.intent == "complaint" and result.slots.category:
                        # "tôi muốn phản ánh về rác thải": the category question is skipped
                        sets = {**choice.sets, "category": result.slots.category}
                        choice = Choice(choice.key, choice.target, sets, choice.label)
            case Capture.CATEGORY:
                category = result.slots.category
                if category is not None:
                    choice = Choice(category, node.next or "", {node.slot or "category": category})
                    label = self.flow.labels.get(node.slot or "category", {}).get(
                        category, category
                    )
            case Capture.PLACE:
                place = result.slots.place
                if place is not None:
                    choice = Choice(place, node.next or "", {node.slot or "place": place})
                    label = place
                    decision = Decision.CONFIRM  # a place is always read back
            case Capture.DIGITS:
                code = result.slots.digits or ""
                if node.min_digits <= len(code) <= node.max_digits:
                    choice = Choice(code, node.next or "", {node.slot or "code": code})
                    decision = Decision.ACCEPT  # the lookup tells invalid and unknown apart
            case Capture.TEXT:  # pragma: no cover - handled above
                pass
        if choice is None:
            decision = Decision.REASK
        elif decision is Decision.ACCEPT and event.confidence < self.config.asr_confirm_below:
            decision = Decision.CONFIRM
        mark = self._turn_mark(node, event, decision.value, result)
        if decision is Decision.REASK or choice is None:
            return [mark, Mark(StepKind.NO_MATCH, node=node.id), *self._reask(node)]
        if decision is Decision.CONFIRM:
            self._pending = _Pending(choice, label)
            self.slots["candidate"] = label
            segments = self._render(node.confirm)
            return [mark, *self._listen(node, [Say(segments)], confirming=True)]
        self.slots.update(choice.sets)
        return [mark, *self._enter(choice.target)]

    def _on_confirmation(self, node: AskNode, event: TurnHeard) -> list[Command]:
        pending, self._pending = self._pending, None
        assert pending is not None
        yes: bool | None = None
        result: IntentResult | None = None
        if event.digits:
            yes = {"1": True, "2": False}.get(event.digits[:1])
        elif event.transcript.strip() and not event.no_input:
            assert self.router is not None
            result = self.router.route(event.transcript, expect=("yes", "no"))
            if result.decision(self.config.thresholds) is not Decision.REASK:
                yes = {"yes": True, "no": False}.get(result.intent or "")
        word = {True: "confirmed", False: "denied", None: "unclear"}[yes]
        mark = self._turn_mark(node, event, word, result)
        if yes:
            self.slots.update(pending.choice.sets)
            return [mark, *self._enter(pending.choice.target)]
        return [mark, Mark(StepKind.NO_MATCH, node=node.id), *self._reask(node)]

    def _reask(self, node: AskNode) -> list[Command]:
        """A no-match: ask again, or after `speech_retries` go to the keypad fallback."""
        self._nomatch += 1
        if self._nomatch >= node.speech_retries:
            detail = {"keypad_fallback": node.fallback, "no_matches": str(self._nomatch)}
            return [Mark(StepKind.NOTE, node=node.id, detail=detail), *self._enter(node.fallback)]
        return self._listen(node, self._ask_audio(node, node.no_match))

    def _no_input(self, node: AskNode) -> list[Command]:
        """No input is counted like a keypad menu's: `retries` re-prompts, then on_failure."""
        self._failures += 1
        if self._failures > node.retries:
            target = self._failure_target(node.on_failure)
            detail = {"failures": str(self._failures), "to": target}
            return [Mark(StepKind.NOTE, node=node.id, detail=detail), *self._enter(target)]
        return [
            Mark(StepKind.NO_INPUT, node=node.id),
            *self._listen(node, self._ask_audio(node, node.no_input)),
        ]

    def _failure_target(self, on_failure: str) -> str:
        # Transfer after failures once per call: a caller who stays silent after a busy
        # queue would otherwise loop menu -> queue -> menu for ever.
        if (
            self.config.transfer_after_failures
            and self.flow.failure_transfer
            and not self._failure_transferred
        ):
            self._failure_transferred = True
            return self.flow.failure_transfer
        return on_failure

    # --- services ---------------------------------------------------------------------------

    def _request(self, node: ActionNode) -> list[Command]:
        command: Command
        try:
            match node.action:
                case Action.LOOKUP_DOSSIER:
                    command = LookupDossier(code=str(self.slots["dossier_code"]))
                case Action.LOOKUP_CASE:
                    command = LookupCase(reference=str(self.slots["case_code"]))
                case Action.CREATE_CASE:
                    command = CreateCase(
                        category=str(self.slots["category"]),
                        recording=str(self.slots["recording"]),
                        place=str(self.slots.get("place", "")),
                        description=str(self.slots.get("description", "")),
                    )
                case Action.REQUEST_CALLBACK:
                    command = RequestCallback()
        except KeyError as exc:
            raise SessionError(
                f"call {self.call_id}: action {node.action} at node {node.id!r} needs slot "
                f"{exc.args[0]!r}, which this call has not filled"
            ) from exc
        self._set_state(State.REQUESTING)
        return [command]

    def _render(self, readback_id: str) -> tuple[Segment, ...]:
        out: list[Segment] = []
        for line in self.flow.readbacks[readback_id].lines:
            if line.when is not None and not self.slots.get(line.when):
                continue
            refs = [p for p in line.parts if isinstance(p, SlotRef)]
            if any(self.slots.get(r.slot) in (None, "") for r in refs):
                continue
            if out:
                out.append(Text(" "))
            for part in line.parts:
                out.append(
                    Text(part)
                    if isinstance(part, str)
                    else _segment(part, self.slots, self.flow.labels)
                )
        return tuple(_merge_text(out))

    # --- handlers (the transition table's cells) ---------------------------------------------

    def _on_answered(self, event: CallAnswered) -> list[Command]:
        return self._enter(self.flow.start)

    def _on_resumed(self, event: CallResumed) -> list[Command]:
        mark = Mark(StepKind.NOTE, node=self.node_id, detail={"event": "resumed"})
        return [mark, *self._enter(self.flow.main, preface=(Play("reconnect_apology"),))]

    def _on_playback_finished(self, event: PlaybackFinished) -> list[Command]:
        return self._continue()

    def _on_key_during_playback(self, event: DigitPressed) -> list[Command]:
        node = self.flow.nodes[self.node_id]
        self._audio.clear()
        match node:
            case MenuNode():
                return self._menu_key(node, event.digit)
            case CollectNode():
                return self._collect_key(node, event.digit)
            case PlayNode() | SayNode():  # typed ahead: give the key to the next node
                return self._enter(node.next, key=event.digit)
            case _:
                raise IllegalEventError(self.call_id, self.state.value, event, self.node_id)

    def _on_key(self, event: DigitPressed) -> list[Command]:
        node = self.flow.nodes[self.node_id]
        if isinstance(node, MenuNode):
            return self._menu_key(node, event.digit)
        if isinstance(node, CollectNode):
            return self._collect_key(node, event.digit)
        raise IllegalEventError(self.call_id, self.state.value, event, self.node_id)

    def _on_digit_timeout(self, event: DigitTimeout) -> list[Command]:
        node = self.flow.nodes[self.node_id]
        if not isinstance(node, MenuNode | CollectNode):
            raise IllegalEventError(self.call_id, self.state.value, event, self.node_id)
        self._silence_ms += max(event.elapsed_ms, 0)
        timeout = node.timeout_ms or self.config.digit_timeout_ms
        if self._silence_ms < timeout:
            return self._wait(node)
        if isinstance(node, CollectNode) and self._buffer:
            return self._collect_done(node)  # the caller forgot '#'
        mark = Mark(StepKind.NO_INPUT, node=node.id, detail={"silence_ms": str(self._silence_ms)})
        return [mark, *self._fail(node, node.no_input)]

    def _on_recording_finished(self, event: RecordingFinished) -> list[Command]:
        node = self.flow.nodes[self.node_id]
        assert isinstance(node, RecordNode)
        detail = {"name": event.name, "duration_ms": str(event.duration_ms)}
        mark = Mark(StepKind.RECORDING, node=node.id, detail=detail)
        if event.duration_ms < node.min_ms:
            return [mark, *self._enter(node.on_empty)]
        self.slots[node.slot] = event.name
        return [mark, *self._enter(node.next)]

    def _on_service_replied(self, event: ServiceReplied) -> list[Command]:
        node = self.flow.nodes[self.node_id]
        assert isinstance(node, ActionNode)
        target = node.outcomes.get(event.outcome)
        if target is None:
            raise SessionError(
                f"call {self.call_id}: action {node.action} at node {node.id!r} has no outcome "
                f"{event.outcome!r}"
            )
        self.slots.update(event.values)
        if event.outcome in (ActionOutcome.FOUND, ActionOutcome.CREATED):
            self.served = True
        kind = StepKind.LOOKUP if node.action is Action.LOOKUP_DOSSIER else StepKind.CASE
        detail = {"action": node.action.value, "outcome": event.outcome.value}
        detail.update({k: str(v) for k, v in event.values.items() if k.endswith("reference")})
        return [Mark(kind, node=node.id, detail=detail), *self._enter(target)]

    def _on_agent_connected(self, event: AgentConnected) -> list[Command]:
        self.agent_answered = True
        detail = {"agent": event.agent}
        if event.wait_s is not None:
            detail["wait_s"] = str(event.wait_s)
        return [Mark(StepKind.TRANSFER, node=self.node_id, detail=detail)]

    def _on_transfer_ended(self, event: TransferEnded) -> list[Command]:
        node = self.flow.nodes[self.node_id]
        assert isinstance(node, TransferNode)
        if event.answered or self.agent_answered:
            self.agent_answered = True
            self.outcome = Outcome.TRANSFERRED
            self.end_reason = "agent finished"
            self._set_state(State.ENDED)
            return [Hangup(Outcome.TRANSFERRED, "agent finished")]
        mark = Mark(StepKind.NOTE, node=node.id, detail={"queue": "timeout"})
        return [mark, *self._enter(node.on_timeout)]

    def _on_hung_up(self, event: CallerHungUp) -> list[Command]:
        if self.state is State.ENDED:
            return []
        self.outcome = self.outcome_if_caller_hangs_up()
        self.end_reason = event.cause or "caller hung up"
        self._audio.clear()
        self._set_state(State.ENDED)
        return []

    def _on_lost(self, event: CallLost) -> list[Command]:
        self.outcome = Outcome.ERROR
        self.end_reason = event.reason
        self._audio.clear()
        self._set_state(State.ENDED)
        return []

    def _on_shutdown(self, event: ShutdownRequested) -> list[Command]:
        self._audio.clear()
        self._hangup_outcome, self._hangup_reason = Outcome.COMPLETED, "controller shutdown"
        self._queue([Play("shutdown_goodbye")], _Then.HANGUP)
        mark = Mark(StepKind.NOTE, node=self.node_id, detail={"event": "shutdown"})
        return [mark, *self._continue()]


# --- helpers ---------------------------------------------------------------------------------


def _safe(call_id: str) -> str:
    return "".join(ch if ch.isalnum() else "_" for ch in call_id)


def _open_word(is_open: bool) -> str:
    return "open" if is_open else "closed"


def _segment(
    ref: SlotRef, slots: Mapping[str, SlotValue], labels: Mapping[str, Mapping[str, str]]
) -> Segment:
    value = slots[ref.slot]
    if ref.fmt == "label":
        return Text(labels.get(ref.slot, {}).get(str(value), str(value)))
    if ref.fmt == "digits":
        return Digits(str(value))
    if ref.fmt == "number" and isinstance(value, int) and not isinstance(value, bool):
        return Number(value)
    if ref.fmt == "date" and isinstance(value, date):
        return Date(value)
    return Text(str(value))


def _merge_text(segments: list[Segment]) -> list[Segment]:
    merged: list[Segment] = []
    for seg in segments:
        if isinstance(seg, Text) and merged and isinstance(merged[-1], Text):
            merged[-1] = Text(merged[-1].text + seg.text)
        else:
            merged.append(seg)
    return merged


# --- the transition table: state -> event type -> handler ------------------------------------

_Handler = Callable[[CallSession, Any], list[Command]]

_ALWAYS: dict[type, _Handler] = {
    CallerHungUp: CallSession._on_hung_up,
    CallLost: CallSession._on_lost,
    ShutdownRequested: CallSession._on_shutdown,
    CallResumed: CallSession._on_resumed,
}

_TRANSITIONS: dict[State, dict[type, _Handler]] = {
    State.IDLE: {
        CallAnswered: CallSession._on_answered,
        CallResumed: CallSession._on_resumed,
        CallerHungUp: CallSession._on_hung_up,
        CallLost: CallSession._on_lost,
        ShutdownRequested: CallSession._on_shutdown,
    },
    State.PLAYING: {
        PlaybackFinished: CallSession._on_playback_finished,
        DigitPressed: CallSession._on_key_during_playback,
        **_ALWAYS,
    },
    State.WAITING_DIGIT: {
        DigitPressed: CallSession._on_key,
        DigitTimeout: CallSession._on_digit_timeout,
        **_ALWAYS,
    },
    State.LISTENING: {TurnHeard: CallSession._on_heard, **_ALWAYS},
    State.RECORDING: {RecordingFinished: CallSession._on_recording_finished, **_ALWAYS},
    State.REQUESTING: {ServiceReplied: CallSession._on_service_replied, **_ALWAYS},
    State.TRANSFERRING: {
        AgentConnected: CallSession._on_agent_connected,
        TransferEnded: CallSession._on_transfer_ended,
        CallerHungUp: CallSession._on_hung_up,
        CallLost: CallSession._on_lost,
        ShutdownRequested: CallSession._on_shutdown,
        CallResumed: CallSession._on_resumed,
    },
    State.ENDED: {CallerHungUp: CallSession._on_hung_up},
}
