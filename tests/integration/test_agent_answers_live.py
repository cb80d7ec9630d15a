"""An agent answers: inside office hours the agent key puts the caller in the real queue, the
agent's phone (sipp as a UAS on the static contact of `agent-test` in pjsip.conf) rings and
answers, Asterisk bridges the two, and the caller's hang-up ends both calls cleanly.

The agent joins the queue the way an agent's desktop will: AMI ``QueueAdd`` (and leaves with
``QueueRemove``). The controller's clock says Wednesday 25 November 2026, 09:00 in Cà Mau:
inside the hours of dialplans/province.yaml.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine

from hotline.settings import load_settings
from hotline.wiring import load_province_voice
from ivr.ami import Event
from ivr.sipp import HangupParty, place_call
from ivr.sipp.agent import AgentSpec, AnsweringAgent
from tests.fixtures.pbx import TEST_AGENT, RunningPbx
from tests.integration.test_call_flows import _explain, _steps, engine, running_hotline

__all__ = ["engine"]  # the fixture, shared with the keypad call tests

pytestmark = [pytest.mark.asterisk, pytest.mark.slow]

WEDNESDAY_MORNING = datetime(2026, 11, 25, 9, 0, tzinfo=ZoneInfo("Asia/Ho_Chi_Minh"))
EVENTS = ("QueueCallerJoin", "AgentCalled", "AgentConnect", "BridgeEnter", "AgentComplete")


async def test_inside_hours_an_agent_answers_and_the_caller_hangs_up(
    pbx: RunningPbx, engine: Engine, tmp_path: Path
) -> None:
    phone = next(a for a in pbx.config.agent_phones if a.name == TEST_AGENT)
    schedule = load_province_voice(load_settings()).office_hours
    assert schedule is not None and schedule.is_open(WEDNESDAY_MORNING)
    async with running_hotline(pbx, engine, {"agent": {"timeout_s": 20}}) as hotline:
        hotline.controller.office_hours = schedule
        hotline.controller.clock = lambda: WEDNESDAY_MORNING
        events: list[Event] = []
        unsubscribe = hotline.ami.subscribe(events.append, *EVENTS)
        queue = pbx.config.agent_queue
        await hotline.ami.action(
            "QueueAdd", Queue=queue, Interface=phone.interface, MemberName=phone.name
        )
        caller = "0912100301"
        agent = AnsweringAgent(AgentSpec(port=phone.port, ring_s=1.0, log_dir=tmp_path / "agent"))
        try:
            async with agent:
                # 0 during the welcome; talk with the agent, then hang up
                spec = hotline.spec(tmp_path, caller, dtmf="0", hangup_after_s=7.0)
                report = await place_call(spec)
            record = await hotline.closed_record(caller)
        finally:
            unsubscribe()
            await hotline.ami.action("QueueRemove", Queue=queue, Interface=phone.interface)
        assert report.ok, _explain(report, record, pbx)
        assert report.hung_up_by is HangupParty.CALLER
        assert agent.report.ok, agent.report.summary()
        # the agent's phone: rang, answered, got the BYE Asterisk passed on from the caller
        got = [s.describe() for s in agent.report.steps]
        assert got[0] == "← INVITE" and "→ 200 OK (INVITE)" in got, got
        assert "← BYE" in got and got[-1] == "→ 200 OK (BYE)", got

        steps = _steps(record)
        assert "digits:main=0" in steps, steps
        hours = next(s for s in record.steps if s.kind == "note" and s.node == "agent_hours")
        assert hours.detail == {"office": "open"}
        transfers = [s.detail for s in record.steps if s.kind == "transfer"]
        assert transfers[0] == {"queue": queue}, transfers
        answered = next(d for d in transfers if "agent" in d)
        assert answered["agent"] == phone.name
        assert 0 <= int(answered["wait_s"]) <= 5, answered  # rang ~1 s, then answered
        assert record.outcome == "transferred"
        assert "Normal Clearing" in record.cause, record.cause

        # what Asterisk said: the caller joined, the agent was called, answered, both bridged
        await asyncio.sleep(0.2)
        names = [e.name for e in events]
        assert "QueueCallerJoin" in names and "AgentCalled" in names, names
        connect = next(e for e in events if e.name == "AgentConnect")
        channel = connect.channel or ""
        assert channel == record.channel
        assert (connect.get("DestChannel") or "").startswith(f"PJSIP/{phone.name}-")
        assert connect.get("MemberName") == phone.name
        bridges = [e for e in events if e.name == "BridgeEnter"]
        ours = {e.get("BridgeUniqueid") for e in bridges if e.channel == channel}
        theirs = {
            e.get("BridgeUniqueid") for e in bridges if (e.channel or "").startswith("PJSIP/agent")
        }
        assert ours & theirs, [(e.channel, e.get("BridgeUniqueid")) for e in bridges]
        complete = next(e for e in events if e.name == "AgentComplete")
        assert complete.get("Reason") == "caller", complete
