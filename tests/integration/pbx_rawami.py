"""Just enough raw AMI for the PBX's own integration tests (no dependency on ivr.ami).

Owned by the ivr/pbx work. Other areas use the real client (ivr.ami.client.AmiClient).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from urllib.parse import unquote

from tests.fixtures.pbx import RunningPbx

Message = dict[str, str]


class RawAmi:
    """Just enough AMI to watch events and send an action (tests only)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.seen: list[Message] = []  # every message read, in order
        self._backlog: list[Message] = []  # read but not yet matched by wait_for
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

    async def wait_for(self, match: Callable[[Message], bool], timeout_s: float = 10) -> Message:
        """The first message (already read or new) that matches; it is consumed."""
        for index, message in enumerate(self._backlog):
            if match(message):
                return self._backlog.pop(index)
        async with asyncio.timeout(timeout_s):
            while True:
                message = await self._read()
                self.seen.append(message)
                if match(message):
                    return message
                self._backlog.append(message)

    async def action(self, name: str, **headers: str) -> Message:
        self._counter += 1
        action_id = f"t{self._counter}"
        lines = [f"Action: {name}", f"ActionID: {action_id}"]
        lines += [f"{k}: {v}" for k, v in headers.items()]
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
        await self.writer.drain()
        return await self.wait_for(lambda m: m.get("ActionID") == action_id and "Response" in m)

    async def agi(self, channel: str, command: str) -> str:
        """Run an AsyncAGI command on a channel parked in AGI(agi:async); its decoded result."""
        self._counter += 1
        command_id = f"c{self._counter}"
        reply = await self.action("AGI", Channel=channel, Command=command, CommandID=command_id)
        assert reply["Response"] == "Success", reply
        done = await self.wait_for(
            lambda m: (
                m.get("Event") == "AsyncAGIExec"
                and command_id in (m.get("CommandID"), m.get("CommandId"))
            )
        )
        return unquote(done["Result"]).strip()

    async def close(self) -> None:
        self.writer.close()
        await self.writer.wait_closed()
