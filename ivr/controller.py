"""The call controller: one session task per channel that Asterisk parks in AsyncAGI.

Owns the life of every call on this controller:

- ``AsyncAGIStart`` for a new channel -> a `CallSession` + `CallRunner` task; for a channel we
  already run (back from the agents' queue) -> `AgiRestarted` to its runner;
- ``Hangup`` -> `ChannelHungUp` to the runner (which closes the record: abandoned unless the
  flow had ended it); ``AgentConnect`` -> `AgentAnswered`;
- after every AMI login (`on_connected`): ``CoreShowChannels``; runners whose channel survived
  resume (apology, then the menu), the others close their record with outcome error; channels
  parked in AsyncAGI that nobody runs (a controller restart, Asterisk does not replay
  AsyncAGIStart) are adopted the same way; records left open by a previous run or a dead
  Asterisk are closed (`close_orphans`, keeping the live channels);
- `stop()` (SIGTERM): every live caller hears a polite goodbye and is hung up, then we stop.

Call records go through `CallLog` (one writer thread); caller numbers are masked in logs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Protocol

from ivr.ami.errors import AmiError
from ivr.ami.events import AsyncAGIStart, CoreShowChannel, Event, Hangup
from ivr.calllog import CallLog, mask_number, utcnow
from ivr.flows import Flow
from ivr.flows.hours import OfficeHours
from ivr.ports import CallStarted
from ivr.runner import (
    AgentAnswered,
    AgiRestarted,
    AmiPort,
    CallRunner,
    CallServices,
    ChannelHungUp,
    ConnectionRestored,
    RunnerConfig,
)
from ivr.session import CallAnswered, CallResumed, CallSession, IntentRoute, SessionConfig
from ivr.session import Event as SessionEvent

log = logging.getLogger(__name__)

# Q.850 texts as Asterisk prints them (main/causes.c), for causes we take from SoftHangupRequest,
# which carries the number only.
CAUSE_TEXT = {
    1: "Unallocated (unassigned) number",
    16: "Normal Clearing",
    17: "User busy",
    18: "No user responding",
    19: "User alerting, no answer",
    21: "Call Rejected",
    27: "Destination out of order",
    31: "Normal, unspecified",
    34: "Circuit/channel congestion",
    38: "Network out of order",
    41: "Temporary failure",
    127: "Interworking, unspecified",
}

FINISHED_KEPT = 1000


class AmiControl(AmiPort, Protocol):
    """What the controller needs of `ivr.ami.AmiClient`."""

    def subscribe(self, callback: Callable[[Event], object], *names: str) -> Callable[[], None]: ...

    def on_connected(self, callback: Callable[[], Any]) -> Callable[[], None]: ...

    async def action_list(
        self, name: str, /, *, timeout_s: float | None = None, **headers: Any
    ) -> list[Event]: ...


@dataclass
class _Call:
    runner: CallRunner
    task: asyncio.Task[Any]


class Controller:
    def __init__(
        self,
        *,
        ami: AmiControl,
        flow: Flow,
        session_config: SessionConfig,
        services: CallServices,
        calllog: CallLog,
        runner_config: RunnerConfig,
        executor: Executor | None = None,
        hotline_number: str = "",
        router: IntentRoute | None = None,
        office_hours: OfficeHours | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.ami = ami
        # voice: the intent router of every call's session; office hours decided per call
        self.router = router or services.router
        self.office_hours = office_hours or session_config.schedule
        self.clock = clock  # "now" for the office hours (tests inject a fixed moment)
        self.flow = flow
        self.session_config = session_config
        self.services = services
        self.calllog = calllog
        self.runner_config = runner_config
        self.executor = executor
        self.hotline_number = hotline_number
        self.calls: dict[str, _Call] = {}  # by channel name
        self._soft_causes: dict[str, str] = {}  # channel -> cause of its SoftHangupRequest
        # the latest calls' outcomes (uniqueid -> outcome), bounded: for tests and status
        self.finished: OrderedDict[str, str] = OrderedDict()
        self.connections = 0
        self._stopping = False
        self._unsubscribe: list[Callable[[], None]] = []
        self._connected = asyncio.Event()

    # --- lifecycle ----------------------------------------------------------------------------

    def attach(self) -> None:
        """Subscribe to the AMI client; call before `connect()` so the first login is seen."""
        self._unsubscribe.append(self.ami.subscribe(self._on_event))
        self._unsubscribe.append(self.ami.on_connected(self._on_connected))

    async def wait_connected(self) -> None:
        await self._connected.wait()

    async def stop(self, timeout_s: float = 30.0) -> None:
        """Say goodbye to every live caller (also those arriving meanwhile), hang up, wait for
        their records, stop. Calls still running after `timeout_s` are cancelled and hung up."""
        self._stopping = True
        log.info("stopping: saying goodbye to %d live call(s)", len(self.calls))
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while self.calls and loop.time() < deadline:
            calls = list(self.calls.values())
            for call in calls:
                call.runner.request_shutdown()
            await asyncio.wait([c.task for c in calls], timeout=deadline - loop.time())
        leftovers = list(self.calls.values())
        for call in leftovers:
            call.task.cancel()
            with contextlib.suppress(AmiError):
                await self.ami.action("Hangup", Channel=call.runner.channel, Cause="16")
        if leftovers:
            await asyncio.wait([c.task for c in leftovers], timeout=5)
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        await self.calllog.flush()

    # --- AMI events ---------------------------------------------------------------------------

    def _on_event(self, event: Event) -> None:
        # Runs in the AMI client's reader task: a surprise here must not stop event delivery.
        try:
            self._dispatch(event)
        except Exception:
            log.exception("could not handle AMI event %s on %s", event.name, event.channel)

    def _dispatch(self, event: Event) -> None:
        if isinstance(event, AsyncAGIStart):
            self._on_agi_start(event)
        elif event.name.lower() == "softhanguprequest":
            # Asterisk 22 reports a caller's BYE as Hangup "Cause: 0 (Unknown)"; the precise
            # cause (16, Normal Clearing) travels on the SoftHangupRequest just before it.
            if event.channel in self.calls and (event.get("Cause") or "0") != "0":
                self._soft_causes[event.channel] = event.get("Cause") or ""
        elif isinstance(event, Hangup):
            channel = event.channel or ""
            soft = self._soft_causes.pop(channel, "")
            call = self.calls.get(channel)
            if call is not None:
                if not event.cause and soft.isdigit():
                    cause = f"{soft} {CAUSE_TEXT.get(int(soft), '')}".strip()
                else:
                    cause = f"{event.cause} {event.cause_txt or ''}".strip()
                call.runner.notify(ChannelHungUp(cause))
        elif event.name.lower() == "agentconnect":
            call = self.calls.get(event.channel or "")
            if call is not None:
                agent = event.get("MemberName") or event.get("DestChannel") or ""
                hold = event.get("HoldTime") or ""
                call.runner.notify(AgentAnswered(agent, int(hold) if hold.isdigit() else None))

    def _on_agi_start(self, event: AsyncAGIStart) -> None:
        channel = event.channel or ""
        env = event.env
        existing = self.calls.get(channel)
        if existing is not None:
            existing.runner.notify(AgiRestarted(env))
            return
        returning = env.get("agi_context", "") == self.runner_config.queue_context
        call = CallStarted(
            uniqueid=event.uniqueid or env.get("agi_uniqueid", channel),
            linkedid=event.linkedid or event.uniqueid or "",
            channel=channel,
            caller=event.get("CallerIDNum") or env.get("agi_callerid", ""),
            dialed=env.get("agi_extension", "") or self.hotline_number,
            started_at=utcnow(),
            answered_at=utcnow(),
        )
        self._start_call(call, CallResumed() if returning else CallAnswered())

    def _start_call(self, call: CallStarted, first: SessionEvent) -> None:
        config = self.session_config
        if self.office_hours is not None:  # decided once per call, when it arrives
            config = replace(config, office_open=self.office_hours.is_open(self.clock()))
        session = CallSession(self.flow, call.uniqueid, config, self.router)
        runner = CallRunner(
            ami=self.ami,
            session=session,
            call=call,
            services=self.services,
            calllog=self.calllog,
            config=self.runner_config,
            executor=self.executor,
        )
        if self._stopping:
            runner.request_shutdown()
        log.info(
            "call %s from %s on %s: %s",
            call.uniqueid,
            mask_number(call.caller),
            call.channel,
            "adopted" if isinstance(first, CallResumed) else "started",
        )
        task = asyncio.get_running_loop().create_task(
            self._run(runner, first), name=f"call-{call.uniqueid}"
        )
        self.calls[call.channel] = _Call(runner, task)

    async def _run(self, runner: CallRunner, first: SessionEvent) -> None:
        try:
            outcome = await runner.run(first)
            self.finished[runner.call.uniqueid] = outcome.value
            while len(self.finished) > FINISHED_KEPT:
                self.finished.popitem(last=False)
        finally:
            current = self.calls.get(runner.channel)
            if current is not None and current.runner is runner:
                del self.calls[runner.channel]

    # --- (re)connection -----------------------------------------------------------------------

    async def _on_connected(self) -> None:
        self.connections += 1
        try:
            listed = await self.ami.action_list("CoreShowChannels")
        except AmiError as exc:
            log.error("cannot list channels after login: %s", exc)
            return
        channels = {e.channel: e for e in listed if isinstance(e, CoreShowChannel) and e.channel}
        for channel, call in list(self.calls.items()):
            call.runner.notify(ConnectionRestored(alive=channel in channels))
        adopted = 0
        for channel, info in channels.items():
            if channel in self.calls or not info.in_async_agi:
                continue
            self._start_call(_started_from(info, self.hotline_number), CallResumed())
            adopted += 1
        # Our own runners close their records themselves (with the precise cause).
        live = {e.uniqueid for e in channels.values() if e.uniqueid}
        keep = frozenset(live | {c.runner.call.uniqueid for c in self.calls.values()})
        closed = await self.calllog.close_orphans(utcnow(), keep)
        log.info(
            "AMI connected (#%d): %d channel(s) live, %d adopted, %d orphaned record(s) closed",
            self.connections,
            len(channels),
            adopted,
            closed,
        )
        self._connected.set()


def _started_from(info: CoreShowChannel, hotline_number: str) -> CallStarted:
    now: datetime = utcnow()
    return CallStarted(
        uniqueid=info.uniqueid or info.channel or "",
        linkedid=info.linkedid or info.uniqueid or "",
        channel=info.channel or "",
        caller=info.get("CallerIDNum") or "",
        dialed=info.get("Exten") or hotline_number,
        started_at=now,
        answered_at=now,
    )
