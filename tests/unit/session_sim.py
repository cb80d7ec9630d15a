"""A scripted caller that drives `CallSession` with no event loop, and flow snapshots.

Script tokens, consumed one per input opportunity:
- ``"1"`` ... ``"#"``: the caller presses that key when we wait for a digit;
- ``"~1"``: the caller presses 1 while a prompt that accepts keys is playing (barge-in);
- ``"."``: silence for the whole wait (DigitTimeout with the full timeout);
- ``"hangup"``: the caller hangs up when we wait for a digit; ``"~hangup"`` during the next prompt.
When the script runs out, the caller stays silent.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from ivr.flows import Flow, load_flow
from ivr.session import (
    AWAITING,
    AgentConnected,
    CallAnswered,
    CallerHungUp,
    CallSession,
    Command,
    CreateCase,
    DigitPressed,
    DigitTimeout,
    Event,
    LookupCase,
    LookupDossier,
    Play,
    PlaybackFinished,
    Record,
    RecordingFinished,
    Say,
    ServiceReplied,
    Transfer,
    TransferEnded,
    WaitDigit,
)
from ivr.session.describe import describe_command, describe_event

REPO = Path(__file__).resolve().parents[2]
SNAPSHOTS = Path(__file__).resolve().parent / "snapshots"


def menu_flow() -> Flow:
    return load_flow(REPO / "dialplans" / "menu.yaml")


Reply = Callable[[Command], Event]


@dataclass
class Caller:
    script: Iterable[str] = ()
    recording_ms: int = 8000
    agent_answers: bool = False
    services: dict[type, ServiceReplied] = field(default_factory=dict)
    _tokens: deque[str] = field(default_factory=deque)

    def __post_init__(self) -> None:
        self._tokens = deque(self.script)

    def respond(self, cmd: Command) -> list[Event]:
        token = self._tokens[0] if self._tokens else "."
        if isinstance(cmd, Play | Say):
            if token == "~hangup":
                self._tokens.popleft()
                return [CallerHungUp("16 Normal Clearing")]
            if token.startswith("~") and token[1:] in cmd.keys:
                self._tokens.popleft()
                return [DigitPressed(token[1:])]
            return [PlaybackFinished()]
        if isinstance(cmd, WaitDigit):
            if self._tokens:
                self._tokens.popleft()
            if token == ".":
                return [DigitTimeout(cmd.timeout_ms)]
            if token == "hangup":
                return [CallerHungUp("16 Normal Clearing")]
            return [DigitPressed(token.lstrip("~"))]
        if isinstance(cmd, Record):
            return [RecordingFinished(cmd.name, self.recording_ms)]
        if isinstance(cmd, LookupDossier | LookupCase | CreateCase):
            return [self.services[type(cmd)]]
        if isinstance(cmd, Transfer):
            if self.agent_answers:
                return [AgentConnected("PJSIP/agent-1"), TransferEnded(answered=True)]
            return [TransferEnded(answered=False)]
        raise AssertionError(f"nothing awaits {cmd}")


def run_call(
    session: CallSession, caller: Caller, first: Event | None = None, max_steps: int = 400
) -> list[str]:
    """Play a whole call; return the transcript (one line per event and command)."""
    lines: list[str] = []
    pending: deque[Event] = deque([first or CallAnswered()])
    for _ in range(max_steps):
        event = pending.popleft()
        lines.append(f"> {describe_event(event)}")
        commands = session.step(event)
        lines.extend(f"    {describe_command(c)}" for c in commands)
        awaited = [c for c in commands if isinstance(c, AWAITING)]
        assert len(awaited) <= 1, f"more than one awaited command: {awaited}"
        assert not awaited or commands[-1] is awaited[0], "the awaited command must come last"
        if session.ended:
            assert not pending
            lines.append(f"= ended: {session.outcome} ({session.end_reason})")
            return lines
        if pending:
            continue
        assert awaited, f"session stuck in {session.state} at {session.node_id}: {commands}"
        pending.extend(caller.respond(awaited[0]))
    raise AssertionError(f"call did not end within {max_steps} steps")


def check_snapshot(name: str, lines: list[str]) -> None:
    """Compare with tests/unit/snapshots/<name>.txt; HOTLINE_UPDATE_SNAPSHOTS=1 rewrites it."""
    path = SNAPSHOTS / f"{name}.txt"
    text = "\n".join(lines) + "\n"
    if os.environ.get("HOTLINE_UPDATE_SNAPSHOTS") == "1" or not path.exists():
        path.write_text(text, encoding="utf-8")
        if os.environ.get("HOTLINE_UPDATE_SNAPSHOTS") != "1":
            raise AssertionError(f"snapshot {path} was missing: written now; review and commit it")
        return
    expected = path.read_text(encoding="utf-8")
    assert text == expected, (
        f"flow snapshot {path.name} changed; review the diff and rerun with "
        "HOTLINE_UPDATE_SNAPSHOTS=1 if the change is intended"
    )
