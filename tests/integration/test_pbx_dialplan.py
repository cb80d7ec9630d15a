"""The dialplan on the real Asterisk: unknown numbers are refused, the hotline number reaches
AsyncAGI, and the controller's way into the agents' queue hands the call back to AsyncAGI with
QUEUE_RESULT set (JOINEMPTY: no agent logged in).

AMI is spoken raw here (a dozen lines) so this test depends on the PBX only.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from ivr.sipp import CallSpec, place_call
from tests.fixtures.pbx import RunningPbx

pytestmark = [pytest.mark.asterisk]

Message = dict[str, str]


class RawAmi:
    """Just enough AMI to watch events and send an action (tests only)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.seen: list[Message] = []
        self._counter = 0

    @classmethod
    async def login(cls, pbx: RunningPbx) -> RawAmi:
        reader, writer = await asyncio.open_connection(*pbx.ami_address)
        await reader.readline()  # banner
        ami = cls(reader, writer)
        reply = await ami.action(
            "Login", Username=pbx.config.ami_user, Secret=pbx.config.ami_secret
        )
        assert reply.get("Response") == "Success", reply
        return ami

    async def _read(self) -> Message:
        block = await self.reader.readuntil(b"\r\n\r\n")
        message: Message = {}
        for line in block.decode("utf-8").split("\r\n"):
            key, sep, value = line.partition(": ")
            if sep:
                message[key] = value
        return message

    async def wait_for(self, match: Callable[[Message], bool]) -> Message:
        async with asyncio.timeout(10):
            while True:
                message = await self._read()
                self.seen.append(message)
                if match(message):
                    return message

    async def action(self, name: str, **headers: str) -> Message:
        self._counter += 1
        action_id = f"t{self._counter}"
        lines = [f"Action: {name}", f"ActionID: {action_id}"]
        lines += [f"{k}: {v}" for k, v in headers.items()]
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
        await self.writer.drain()
        return await self.wait_for(lambda m: m.get("ActionID") == action_id and "Response" in m)

    async def close(self) -> None:
        self.writer.close()
        await self.writer.wait_closed()


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
