"""AmiClient against the real private Asterisk (tests/fixtures/pbx.py): login, Ping, the
CoreShowChannels EventList, a refused action, and AsyncAGI on a real channel: sipp calls the
hotline number, the call sits in AGI(agi:async), and this test drives it (our AMI user may not
Originate, and the CLI originate module is not loaded: manager.conf, modules.conf)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from ivr.ami.client import AmiClient
from ivr.ami.errors import ActionFailedError, AgiCommandError, ChannelGoneError
from ivr.ami.events import AsyncAGIEnd, AsyncAGIStart, CoreShowChannel, Event, Hangup
from ivr.sipp import CallReport, CallSpec, place_call
from tests.fixtures.pbx import RunningPbx

pytestmark = [pytest.mark.asterisk]


@pytest.fixture
async def ami(pbx: RunningPbx) -> AsyncIterator[AmiClient]:
    host, port = pbx.ami_address
    client = AmiClient(host, port, pbx.config.ami_user, pbx.config.ami_secret, keepalive_s=None)
    await client.connect()
    yield client
    await client.close()


class Events:
    """Every event the client delivers, and a way to wait for one."""

    def __init__(self, client: AmiClient) -> None:
        self.queue: asyncio.Queue[Event] = asyncio.Queue()
        client.subscribe(self.queue.put_nowait)

    async def wait_for(self, match: Callable[[Event], bool], timeout_s: float = 10.0) -> Event:
        async with asyncio.timeout(timeout_s):
            while True:
                event = await self.queue.get()
                if match(event):
                    return event


async def call_in(
    pbx: RunningPbx, events: Events, tmp_path: Path, caller_id: str
) -> tuple[AsyncAGIStart, asyncio.Task[CallReport]]:
    """sipp calls the hotline number (and stays up to 20 s); the call enters AsyncAGI."""
    host, port = pbx.sip_address
    spec = CallSpec(
        sip_host=host,
        sip_port=port,
        number=pbx.config.hotline_number,
        caller_id=caller_id,
        wait_before_s=0.2,
        hangup_after_s=20.0,
        max_call_s=30.0,
        log_dir=tmp_path / "sipp",
    )
    call = asyncio.create_task(place_call(spec))
    start = await events.wait_for(
        lambda e: isinstance(e, AsyncAGIStart) and e.get("CallerIDNum") == caller_id
    )
    assert isinstance(start, AsyncAGIStart)
    return start, call


async def test_login_ping_list_and_a_refused_action(ami: AmiClient) -> None:
    assert ami.banner is not None and ami.banner.line.startswith("Asterisk Call Manager/")
    pong = await ami.action("Ping")
    assert pong.get("Ping") == "Pong"
    channels = await ami.action_list("CoreShowChannels")
    assert all(isinstance(e, CoreShowChannel) for e in channels)
    with pytest.raises(
        ActionFailedError, match=r"AMI action Originate .* failed: Permission denied"
    ):
        await ami.action("Originate", Channel="Local/1@hotline-in", Application="NoOp")


async def test_async_agi_on_a_real_channel(pbx: RunningPbx, ami: AmiClient, tmp_path: Path) -> None:
    events = Events(ami)
    start, call = await call_in(pbx, events, tmp_path, "0912000101")
    channel = start.channel
    assert channel is not None
    env = start.env
    assert (env["agi_request"], env["agi_extension"], env["agi_context"]) == (
        "async",
        pbx.config.hotline_number,
        "hotline-in",
    )
    assert env["agi_callerid"] == "0912000101"

    # Vietnamese text through AGI and back (our UTF-8 out, the URL-encoded Result in).
    name = "Nguyễn Thị Ánh Tuyết"
    assert (await ami.agi(channel, f'SET VARIABLE HOTLINE_NAME "{name}"')).value == 1
    got = await ami.agi(channel, "GET VARIABLE HOTLINE_NAME")
    assert (got.value, got.data) == (1, name)

    # The channel is listed as parked in AsyncAGI (what adoption after a reconnect relies on).
    listed = [e for e in await ami.action_list("CoreShowChannels") if e.channel == channel]
    assert len(listed) == 1 and isinstance(listed[0], CoreShowChannel)
    assert listed[0].in_async_agi

    with pytest.raises(AgiCommandError) as unknown:
        await ami.agi(channel, "NO SUCH COMMAND")
    assert unknown.value.result.code == 510
    with pytest.raises(AgiCommandError) as usage:
        await ami.agi(channel, "WAIT FOR DIGIT")
    assert usage.value.result.code == 520
    # Asterisk 22: "520-Invalid command syntax.  Proper usage follows:" + the XML doc text
    lines = usage.value.result.message.splitlines()
    assert lines[0] == "Invalid command syntax.  Proper usage follows:"
    assert lines[-1] == "520 End of proper usage."
    assert len(lines) > 2

    assert (await ami.agi(channel, "HANGUP")).value == 1
    await events.wait_for(lambda e: isinstance(e, AsyncAGIEnd) and e.channel == channel)
    with pytest.raises(ChannelGoneError, match=rf"on channel {channel} refused"):
        await ami.agi(channel, "ANSWER")
    report = await asyncio.wait_for(call, 30)
    assert report.answered and not report.refused


async def test_hangup_during_a_command_ends_it(
    pbx: RunningPbx, ami: AmiClient, tmp_path: Path
) -> None:
    events = Events(ami)
    start, call = await call_in(pbx, events, tmp_path, "0912000102")
    channel = start.channel
    assert channel is not None
    waiting = asyncio.create_task(ami.agi(channel, "WAIT FOR DIGIT 20000"))
    await asyncio.sleep(0.3)
    await ami.action("Hangup", Channel=channel, Cause="16")
    # Asterisk 22 answers the running command with result=-1 (hang-up), then AsyncAGIEnd.
    result = await asyncio.wait_for(waiting, 10)
    assert result.value == -1
    await events.wait_for(lambda e: isinstance(e, Hangup) and e.channel == channel)
    await asyncio.wait_for(call, 30)
