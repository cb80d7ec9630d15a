"""A scripted caller for the session machine: whole calls with no event loop.

Used by the flow snapshots in tests and by `hotline flow` to show a menu author what a caller
hears for a given sequence of keys. Script tokens, consumed one per input opportunity:

- ``"1"`` ... ``"#"``: the caller presses that key when we wait for a digit;
- ``"~1"``: the caller presses 1 while a prompt that accepts keys is playing (barge-in);
- ``"."``: silence for the whole wait (DigitTimeout with the full timeout);
- ``"hangup"``: the caller hangs up when we wait for a digit; ``"~hangup"`` during the next prompt.

In a voice turn (`Listen`): ``"say:tôi muốn phản ánh về rác thải"`` (optionally ending in
``"@0.3"``, the recogniser's confidence; 0.9 otherwise) is speech; ``"123#"``/``"1"`` keys;
``"."`` silence; ``"hangup"`` a hang-up. A turn that keeps audio gets a recording path.

When the script runs out, the caller stays silent. Services answer from `services` (by command
type); a transfer is answered by an agent when `agent_answers`.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field

from ivr.session.describe import describe_command, describe_event
from ivr.session.machine import CallSession
from ivr.session.messages import (
    AWAITING,
    AgentConnected,
    CallAnswered,
    CallerHungUp,
    Command,
    CreateCase,
    DigitPressed,
    DigitTimeout,
    Event,
    Listen,
    LookupCase,
    LookupDossier,
    Play,
    PlaybackFinished,
    Record,
    RecordingFinished,
    RequestCallback,
    Say,
    ServiceReplied,
    Transfer,
    TransferEnded,
    TurnHeard,
    WaitDigit,
)


class SimulationError(AssertionError):
    """The simulated call broke a rule of the runner contract or did not end."""


@dataclass
class Caller:
    script: Iterable[str] = ()
    recording_ms: int = 8000
    agent_answers: bool = False
    services: dict[type, ServiceReplied] = field(default_factory=dict)
    _tokens: deque[str] = field(default_factory=deque)
    _turns: int = 0

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
        if isinstance(cmd, Listen):
            return [self._turn(cmd, token)]
        if isinstance(cmd, Record):
            return [RecordingFinished(cmd.name, self.recording_ms)]
        if isinstance(cmd, LookupDossier | LookupCase | CreateCase | RequestCallback):
            try:
                return [self.services[type(cmd)]]
            except KeyError:
                raise SimulationError(f"no simulated answer for {cmd}") from None
        if isinstance(cmd, Transfer):
            if self.agent_answers:
                return [AgentConnected("agent-1", wait_s=4), TransferEnded(answered=True)]
            return [TransferEnded(answered=False)]
        raise SimulationError(f"nothing awaits {cmd}")

    def _turn(self, cmd: Listen, token: str) -> Event:
        if self._tokens:
            self._tokens.popleft()
        if token.lstrip("~") == "hangup":
            return CallerHungUp("16 Normal Clearing")
        if token == ".":
            return TurnHeard(no_input=True)
        barged = token.startswith("~")
        token = token.lstrip("~")
        if token.startswith("say:"):
            text, _, conf = token[4:].rpartition("@") if "@" in token else ("", "", "")
            text = text or token[4:]
            confidence = float(conf) if conf else 0.9
            words = len(text.split())
            self._turns += 1
            recording = f"/recordings/turn-{self._turns}.wav" if cmd.keep_audio else ""
            return TurnHeard(
                transcript=text,
                confidence=confidence,
                barged_in=barged,
                speech_s=round(0.4 * words, 2),
                latency_s=0.3,
                recording=recording,
            )
        return TurnHeard(digits=token, barged_in=barged)


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
        if len(awaited) > 1:
            raise SimulationError(f"more than one awaited command: {awaited}")
        if awaited and commands[-1] is not awaited[0]:
            raise SimulationError("the awaited command must come last")
        if session.ended:
            lines.append(f"= ended: {session.outcome} ({session.end_reason})")
            return lines
        if pending:
            continue
        if not awaited:
            raise SimulationError(f"session stuck in {session.state} at {session.node_id}")
        pending.extend(caller.respond(awaited[0]))
    raise SimulationError(f"call did not end within {max_steps} steps")
