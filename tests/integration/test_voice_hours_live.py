"""Office hours on a real call: outside the hours of dialplans/province.yaml, the agent key says
so and offers what works without people; the agents' queue is never entered.

The controller reads "now" from its injected clock, set here to a public holiday of the real
schedule (2 September 2026, 10:00 in Cà Mau: a Wednesday, inside the weekly hours, so only the
holiday list closes the office). Inside the hours the same key enters the queue: that path is
shown live in tests/integration/test_agent_answers_live.py (an agent answers) and, with the
schedule off, tests/integration/test_call_flows.py (nobody answers).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from hotline.settings import load_settings
from hotline.wiring import load_province_voice
from ivr.ami import Event
from ivr.sipp import HangupParty, place_call
from tests.integration.test_call_flows import Hotline, _explain, _steps, engine, hotline

__all__ = ["engine", "hotline"]  # the fixtures, shared with the keypad call tests

pytestmark = [pytest.mark.asterisk, pytest.mark.slow]

HOLIDAY_MORNING = datetime(2026, 9, 2, 10, 0, tzinfo=ZoneInfo("Asia/Ho_Chi_Minh"))


async def test_outside_hours_the_agent_key_offers_a_callback_and_skips_the_queue(
    hotline: Hotline, tmp_path: Path
) -> None:
    schedule = load_province_voice(load_settings()).office_hours
    assert schedule is not None, "dialplans/province.yaml has no office_hours"
    assert not schedule.is_open(HOLIDAY_MORNING)
    assert schedule.is_open(HOLIDAY_MORNING.replace(day=9)), "a plain Wednesday 10:00 is open"
    hotline.controller.office_hours = schedule
    hotline.controller.clock = lambda: HOLIDAY_MORNING
    queue_events: list[Event] = []
    unsubscribe = hotline.ami.subscribe(
        queue_events.append, "QueueCallerJoin", "QueueCallerLeave", "AgentCalled"
    )
    caller = "0912100201"
    # 0 for an agent (during the welcome), then 4 (call-back) every 1.5 s: the first 4 comes
    # during the (long) read-back of the hours, stops it and answers the offer menu at once.
    spec = hotline.spec(tmp_path, caller, dtmf="0" + ",4" * 24, hangup_after_s=None)
    try:
        report = await place_call(spec)
        record = await hotline.closed_record(caller)
    finally:
        unsubscribe()
    assert report.ok, _explain(report, record, hotline.pbx)
    assert report.hung_up_by is HangupParty.REMOTE  # the flow said goodbye
    steps = _steps(record)
    assert "digits:main=0" in steps, steps
    hours = next(s for s in record.steps if s.kind == "note" and s.node == "agent_hours")
    assert hours.detail == {"office": "closed"}
    # what Asterisk was told to play: the closed notice with the real schedule, then the offer
    said = [s for s in record.steps if s.kind == "prompt" and s.prompt.startswith("tts/")]
    closed = said[0].detail["text"]
    assert "ngoài giờ làm việc" in closed and "trừ các ngày lễ, Tết" in closed, closed
    assert (hotline.pbx.config.prompts_dir / "calltest" / f"{said[0].prompt}.wav").is_file()
    assert "digits:closed_offer_keys=4" in steps, steps
    assert "prompt:closed_offer_keys:closed_offer_keys" not in steps, steps  # typed ahead
    callback = next(s for s in record.steps if s.kind == "case")
    assert callback.detail["action"] == "request_callback"
    assert callback.detail["outcome"] == "created"
    reference = callback.detail["case_reference"]
    assert any("gọi lại" in s.detail["text"] for s in said[1:]), [s.detail for s in said]
    assert steps[-1] == "prompt:goodbye:goodbye", steps
    # never the queue: no transfer step, and Asterisk saw no caller join it
    assert not [s for s in record.steps if s.kind == "transfer"], steps
    assert "node:agent" not in steps
    assert queue_events == [], [e.name for e in queue_events]
    assert record.outcome == "completed" and record.cause == "flow goodbye"
    assert reference
