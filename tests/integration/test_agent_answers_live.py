"""An agent answers: inside office hours the agent key puts the caller in the real queue, the
agent's phone (sipp as a UAS on the static contact of `agent-test` in pjsip.conf) rings and
answers, Asterisk bridges the two, and the caller's hang-up ends both calls cleanly.

The agent joins the queue the way an agent's desktop will: AMI ``QueueAdd`` (and leaves with
``QueueRemove``). The controller's clock says Wednesday 25 November 2026, 09:00 in Cà Mau:
inside the hours of dialplans/province.yaml.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine

from cases.models import CallRecord
from hotline.settings import load_settings
from hotline.wiring import load_province_voice
from ivr.ami import AmiError, Event
from ivr.sipp import CallReport, HangupParty, place_call
from ivr.sipp.agent import AgentReport, AgentSpec, AnsweringAgent
from tests.fixtures.pbx import TEST_AGENT, RunningPbx
from tests.integration.test_call_flows import _explain, _steps, engine, running_hotline

__all__ = ["engine"]  # the fixture, shared with the keypad call tests

pytestmark = [pytest.mark.asterisk, pytest.mark.slow]

WEDNESDAY_MORNING = datetime(2026, 11, 25, 9, 0, tzinfo=ZoneInfo("Asia/Ho_Chi_Minh"))
EVENTS = ("QueueCallerJoin", "AgentCalled", "AgentConnect", "BridgeEnter", "AgentComplete")


@dataclasses.dataclass
class AgentCall:
    report: CallReport  # the caller's sipp
    agent: AgentReport  # the agent's sipp
    record: CallRecord
    events: list[Event]  # the queue's AMI events (EVENTS)


async def call_the_agent(
    pbx: RunningPbx,
    engine: Engine,
    tmp_path: Path,
    caller: str,
    agent_spec: dict[str, Any],
    **call: Any,
) -> AgentCall:
    """Inside office hours: the agent's phone listens, the agent logs in (QueueAdd), `caller`
    presses 0 during the welcome; then the agent logs out (QueueRemove)."""
    phone = next(a for a in pbx.config.agent_phones if a.name == TEST_AGENT)
    schedule = load_province_voice(load_settings()).office_hours
    assert schedule is not None and schedule.is_open(WEDNESDAY_MORNING)
    async with running_hotline(pbx, engine, {"agent": {"timeout_s": 20}}) as hotline:
        hotline.controller.office_hours = schedule
        hotline.controller.clock = lambda: WEDNESDAY_MORNING
        events: list[Event] = []
        unsubscribe = hotline.ami.subscribe(events.append, *EVENTS)
        queue = pbx.config.agent_queue
        spec = AgentSpec(port=phone.port, log_dir=tmp_path / f"agent-{caller}", **agent_spec)
        agent = AnsweringAgent(spec)
        try:
            async with agent:  # the phone listens; then the agent logs in
                await hotline.ami.action(
                    "QueueAdd", Queue=queue, Interface=phone.interface, MemberName=phone.name
                )
                report = await place_call(hotline.spec(tmp_path, caller, dtmf="0", **call))
            record = await hotline.closed_record(caller)
        finally:
            unsubscribe()
            with contextlib.suppress(AmiError):  # not a member if QueueAdd never ran
                await hotline.ami.action("QueueRemove", Queue=queue, Interface=phone.interface)
        await asyncio.sleep(0.2)  # the last AMI events of the call
        assert report.ok, _explain(report, record, pbx)
        assert agent.report.ok, agent.report.summary()
        return AgentCall(report, agent.report, record, events)


def check_answered(call: AgentCall, queue: str) -> None:
    """The record and Asterisk agree: the queue, the agent's answer, the bridge."""
    record = call.record
    steps = _steps(record)
    assert "digits:main=0" in steps, steps
    hours = next(s for s in record.steps if s.kind == "note" and s.node == "agent_hours")
    assert hours.detail == {"office": "open"}
    transfers = [s.detail for s in record.steps if s.kind == "transfer"]
    assert transfers[0] == {"queue": queue}, transfers
    answered = next(d for d in transfers if "agent" in d)
    assert answered["agent"] == TEST_AGENT
    assert 0 <= int(answered["wait_s"]) <= 5, answered  # rang ~1 s, then answered
    assert record.outcome == "transferred"
    names = [e.name for e in call.events]
    assert "QueueCallerJoin" in names and "AgentCalled" in names, names
    connect = next(e for e in call.events if e.name == "AgentConnect")
    channel = connect.channel or ""
    assert channel == record.channel
    assert (connect.get("DestChannel") or "").startswith(f"PJSIP/{TEST_AGENT}-")
    assert connect.get("MemberName") == TEST_AGENT
    bridges = [e for e in call.events if e.name == "BridgeEnter"]
    ours = {e.get("BridgeUniqueid") for e in bridges if e.channel == channel}
    agents = {e.get("BridgeUniqueid") for e in bridges if e.channel != channel}
    assert ours & agents, [(e.channel, e.get("BridgeUniqueid")) for e in bridges]
    # the agent's phone rang, then answered
    got = [s.describe() for s in call.agent.steps]
    assert got[:3] == ["← INVITE", "→ 180 Ringing (INVITE)", "→ 200 OK (INVITE)"], got


async def test_inside_hours_an_agent_answers_and_the_caller_hangs_up(
    pbx: RunningPbx, engine: Engine, tmp_path: Path
) -> None:
    call = await call_the_agent(pbx, engine, tmp_path, "0912100301", {}, hangup_after_s=7.0)
    check_answered(call, pbx.config.agent_queue)
    assert call.report.hung_up_by is HangupParty.CALLER
    # the caller's BYE reached the agent through Asterisk
    got = [s.describe() for s in call.agent.steps]
    assert got[-2:] == ["← BYE", "→ 200 OK (BYE)"], got
    assert "Normal Clearing" in call.record.cause, call.record.cause
    complete = next(e for e in call.events if e.name == "AgentComplete")
    assert complete.get("Reason") == "caller", complete


async def test_when_the_agent_hangs_up_first_the_flow_says_goodbye_to_the_caller(
    pbx: RunningPbx, engine: Engine, tmp_path: Path
) -> None:
    call = await call_the_agent(
        pbx, engine, tmp_path, "0912100302", {"hangup_after_s": 3.0}, hangup_after_s=None
    )
    check_answered(call, pbx.config.agent_queue)
    got = [s.describe() for s in call.agent.steps]
    assert got[-2:] == ["→ BYE", "← 200 OK (BYE)"], got
    complete = next(e for e in call.events if e.name == "AgentComplete")
    assert complete.get("Reason") == "agent", complete
    # Queue(...,c) hands the caller back to the controller, which ends the call
    assert call.report.hung_up_by is HangupParty.REMOTE
    back = [
        s.detail for s in call.record.steps if s.kind == "transfer" and "queue_result" in s.detail
    ]
    assert back, _steps(call.record)
    assert call.record.cause == "agent finished"
