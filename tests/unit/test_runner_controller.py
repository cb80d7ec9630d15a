"""The controller against a fake AMI client: one call per AsyncAGIStart, hang-ups routed to the
right call, channels parked in AsyncAGI adopted after a login, orphaned records closed."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from ivr.ami.agi import AgiResult, parse_agi_result
from ivr.ami.errors import ChannelGoneError
from ivr.ami.events import Event, Headers, make_event
from ivr.calllog import CallLog
from ivr.controller import Controller
from ivr.flows.hours import parse_office_hours
from ivr.runner import AgentAnswered, CallServices, RunnerConfig
from ivr.services import CallbackRequest, CaseAnswer, Complaint, DossierAnswer, LookupStatus
from ivr.session import SessionConfig
from tests.unit.session_sim import menu_flow
from tests.unit.test_runner_commands import FakeRecorder


def event(name: str, **headers: str) -> Event:
    return make_event(name, Headers(tuple(headers.items())))


class FakeAmi:
    """Each channel answers AGI commands with 'played' until it is hung up."""

    def __init__(self, channels: list[Event] | None = None) -> None:
        self.subscribers: list[Callable[[Event], object]] = []
        self.connected_callbacks: list[Callable[[], Any]] = []
        self.commands: list[tuple[str, str]] = []
        self.gone: set[str] = set()
        self.channels = channels or []

    def subscribe(self, callback: Callable[[Event], object], *names: str) -> Callable[[], None]:
        self.subscribers.append(callback)
        return lambda: None

    def on_connected(self, callback: Callable[[], Any]) -> Callable[[], None]:
        self.connected_callbacks.append(callback)
        return lambda: None

    async def login(self) -> None:
        for callback in self.connected_callbacks:
            await callback()

    def emit(self, ev: Event) -> None:
        for callback in self.subscribers:
            callback(ev)

    async def action_list(self, name: str, /, **kwargs: Any) -> list[Event]:
        assert name == "CoreShowChannels"
        return self.channels

    async def action(self, name: str, /, *, timeout_s: float | None = None, **h: Any) -> Any:
        return None

    async def agi(self, channel: str, command: str, timeout: float | None = None) -> AgiResult:  # noqa: ASYNC109
        self.commands.append((channel, command))
        await asyncio.sleep(0.01)
        if channel in self.gone:
            raise ChannelGoneError(channel, f"{channel} hung up")
        if command.startswith("WAIT FOR DIGIT"):
            return parse_agi_result("200 result=0")
        return parse_agi_result("200 result=0 endpos=100")


class Nothing:
    def lookup(self, code: str) -> DossierAnswer:
        return DossierAnswer(LookupStatus.NOT_FOUND)

    def file_complaint(self, complaint: Complaint) -> str:
        return "48213576"

    def complaint_status(self, reference: str) -> CaseAnswer:
        return CaseAnswer(LookupStatus.NOT_FOUND)

    def request_callback(self, request: CallbackRequest) -> str:
        return "50000017"

    def ensure(self, text: str) -> Path:
        return Path("/nonexistent/tts/x.wav")


class OrphanRecorder(FakeRecorder):
    def __init__(self) -> None:
        super().__init__()
        self.keeps: list[frozenset[str]] = []

    def close_orphans(self, now: datetime, keep: frozenset[str] = frozenset()) -> int:
        self.keeps.append(keep)
        return 1


def make(tmp_path: Path, ami: FakeAmi) -> tuple[Controller, OrphanRecorder, CallLog]:
    recorder = OrphanRecorder()
    calllog = CallLog(recorder)
    controller = Controller(
        ami=ami,
        flow=menu_flow(),
        session_config=SessionConfig(digit_timeout_ms=60_000),
        services=CallServices(dossiers=Nothing(), cases=Nothing(), tts=Nothing()),
        calllog=calllog,
        runner_config=RunnerConfig(prompts_dir=tmp_path, recordings_dir=tmp_path),
        hotline_number="19009120",
    )
    controller.attach()
    return controller, recorder, calllog


async def settle(predicate: Callable[[], bool]) -> None:
    for _ in range(200):
        if predicate():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition not reached")


async def test_one_call_per_channel_and_hangup_closes_it(tmp_path: Path) -> None:
    ami = FakeAmi()
    controller, recorder, calllog = make(tmp_path, ami)
    await ami.login()
    for n in (1, 2):
        ami.emit(
            event(
                "AsyncAGIStart",
                Channel=f"PJSIP/sipp-{n}",
                Uniqueid=f"17.{n}",
                Linkedid=f"17.{n}",
                CallerIDNum=f"091234567{n}",
                Env="agi_extension%3A%2019009120%0A",
            )
        )
    await settle(lambda: len(controller.calls) == 2)
    await asyncio.sleep(0.05)
    ami.gone.add("PJSIP/sipp-1")
    ami.emit(event("Hangup", Channel="PJSIP/sipp-1", Cause="16", **{"Cause-txt": "Normal"}))
    await settle(lambda: "17.1" in controller.finished)
    assert controller.finished == {"17.1": "abandoned"}
    assert list(controller.calls) == ["PJSIP/sipp-2"]
    await controller.stop(timeout_s=5)
    await calllog.flush()
    calllog.close()
    assert controller.finished["17.2"] == "completed"  # SIGTERM: goodbye, then hang up
    assert [c.dialed for c in recorder.started] == ["19009120", "19009120"]
    assert ("PJSIP/sipp-2", 'STREAM FILE /var/lib/hotline/prompts/shutdown_goodbye ""') in (
        ami.commands
    )
    causes = sorted(e.cause for e in recorder.ended)
    assert causes == ["16 Normal", "controller shutdown"]


async def test_login_adopts_parked_channels_and_closes_orphans(tmp_path: Path) -> None:
    parked = event(
        "CoreShowChannel",
        Channel="PJSIP/sipp-7",
        Uniqueid="17.7",
        Linkedid="17.7",
        CallerIDNum="0912000007",
        Application="AGI",
        ApplicationData="agi:async",
    )
    in_queue = event(
        "CoreShowChannel", Channel="PJSIP/sipp-8", Uniqueid="17.8", Application="Queue"
    )
    ami = FakeAmi([parked, in_queue])
    controller, recorder, calllog = make(tmp_path, ami)
    await ami.login()
    await settle(lambda: any(c == "PJSIP/sipp-7" for c, _ in ami.commands))
    assert list(controller.calls) == ["PJSIP/sipp-7"]  # the queued call is not ours to take
    first = next(cmd for c, cmd in ami.commands if c == "PJSIP/sipp-7")
    assert first == 'STREAM FILE /var/lib/hotline/prompts/reconnect_apology ""'
    assert recorder.keeps == [frozenset({"17.7", "17.8"})]
    await controller.stop(timeout_s=5)
    calllog.close()


async def test_a_malformed_event_is_logged_not_raised(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    ami = FakeAmi()
    controller, _recorder, calllog = make(tmp_path, ami)
    ami.emit(event("AsyncAGIStart", Channel="PJSIP/x-1", Uniqueid="1.1", Env="agi_x%ZZ"))
    assert "could not handle AMI event AsyncAGIStart on PJSIP/x-1" in caplog.text
    assert not controller.calls
    calllog.close()


async def test_office_hours_are_decided_per_call(tmp_path: Path) -> None:
    ami = FakeAmi()
    controller, _recorder, calllog = make(tmp_path, ami)
    never = parse_office_hours({"weekly": {}})  # closed every day
    controller.office_hours = never
    await ami.login()
    ami.emit(
        event(
            "AsyncAGIStart",
            Channel="PJSIP/sipp-9",
            Uniqueid="17.9",
            CallerIDNum="0912000009",
            Env="agi_extension%3A%2019009120%0A",
        )
    )
    await settle(lambda: "PJSIP/sipp-9" in controller.calls)
    session = controller.calls["PJSIP/sipp-9"].runner.session
    assert session.config.office_open is False
    assert controller.session_config.office_open is True  # the shared config is untouched
    await controller.stop(timeout_s=5)
    calllog.close()


async def test_the_injected_clock_decides_the_hours_and_agent_connect_carries_the_wait(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ami = FakeAmi()
    controller, _recorder, calllog = make(tmp_path, ami)
    hours = {"timezone": "Asia/Ho_Chi_Minh", "weekly": {"wed": ["08:00-17:00"]}}
    controller.office_hours = parse_office_hours(hours)
    controller.clock = lambda: datetime(2026, 11, 25, 2, 0, tzinfo=UTC)  # Wednesday 09:00 there
    await ami.login()
    ami.emit(
        event(
            "AsyncAGIStart",
            Channel="PJSIP/sipp-10",
            Uniqueid="17.10",
            CallerIDNum="0912000010",
            Env="agi_extension%3A%2019009120%0A",
        )
    )
    await settle(lambda: "PJSIP/sipp-10" in controller.calls)
    runner = controller.calls["PJSIP/sipp-10"].runner
    assert runner.session.config.office_open is True
    notices: list[object] = []
    monkeypatch.setattr(runner, "notify", notices.append)
    ami.emit(
        event(
            "AgentConnect",
            Channel="PJSIP/sipp-10",
            DestChannel="PJSIP/agent-101-00000001",
            MemberName="agent-101",
            HoldTime="7",
            RingTime="1",
        )
    )
    assert notices == [AgentAnswered("agent-101", 7)]
    monkeypatch.undo()
    controller.clock = lambda: datetime(2026, 11, 25, 12, 0, tzinfo=UTC)  # 19:00 there: closed
    ami.emit(event("AsyncAGIStart", Channel="PJSIP/sipp-11", Uniqueid="17.11", Env=""))
    await settle(lambda: "PJSIP/sipp-11" in controller.calls)
    assert controller.calls["PJSIP/sipp-11"].runner.session.config.office_open is False
    await controller.stop(timeout_s=5)
    calllog.close()
