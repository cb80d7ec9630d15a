"""The dialplan on the real Asterisk: unknown numbers are refused, the hotline number reaches
AsyncAGI, and the controller's way into the agents' queue hands the call back to AsyncAGI with
QUEUE_RESULT set (JOINEMPTY: no agent logged in).

AMI is spoken raw here (a dozen lines) so this test depends on the PBX only.
"""

from __future__ import annotations

import asyncio

import pytest

from ivr.sipp import CallSpec, place_call
from tests.fixtures.pbx import RunningPbx
from tests.integration.pbx_rawami import Message, RawAmi

pytestmark = [pytest.mark.asterisk]


@pytest.mark.parametrize("number", ["0912345678", "19009121", "112", "9", "*99#"])
async def test_an_unknown_number_is_refused_with_404(pbx: RunningPbx, number: str) -> None:
    report = await place_call(
        CallSpec(sip_port=pbx.config.sip_port, number=number, hangup_after_s=1.0)
    )
    assert report.refused, (report, pbx.logs(20))
    assert report.final_status == 404
    assert not report.answered


async def test_the_hotline_number_reaches_asyncagi_and_the_queue_hands_it_back(
    pbx: RunningPbx,
) -> None:
    ami = await RawAmi.login(pbx)
    caller = "0900000042"
    try:
        call = asyncio.create_task(
            place_call(
                CallSpec(
                    sip_port=pbx.config.sip_port,
                    number=pbx.config.hotline_number,
                    caller_id=caller,
                    hangup_after_s=4.0,
                )
            )
        )

        def agi_start(m: Message) -> bool:
            return m.get("Event") == "AsyncAGIStart" and m.get("CallerIDNum") == caller

        first = await ami.wait_for(agi_start)
        channel = first["Channel"]
        assert "agi_extension%3A%2019009120" in first["Env"]
        assert first["Context"] == "hotline-in"

        redirect = await ami.action(
            "Redirect", Channel=channel, Context="hotline-queue", Exten="s", Priority="1"
        )
        assert redirect["Response"] == "Success", redirect
        second = await ami.wait_for(agi_start)
        assert second["Channel"] == channel
        assert second["Context"] == "hotline-queue"
        result = await ami.action("Getvar", Channel=channel, Variable="QUEUE_RESULT")
        assert result.get("Value") == "JOINEMPTY", result

        report = await call
        assert report.answered
    finally:
        await ami.close()
