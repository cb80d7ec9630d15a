"""Record an AMI transcript from the real Asterisk, for tests/protocol/test_ami_live_recording.py.

Owned by the ivr/ami work. Starts a private Asterisk (ivr.pbx, free ports), logs in with
`AmiClient` tapping every byte, calls the hotline number with sipp, and drives the call over
AsyncAGI through what the hotline meets: a Vietnamese caller name set on the channel (so later
events carry UTF-8 CallerIDName), SET/GET VARIABLE with Vietnamese text (URL-encoded UTF-8 in
AsyncAGIExec), a 510 and a 520 reply, the CoreShowChannels EventList, HANGUP. Writes

  tests/protocol/transcripts/live-vietnamese.recv   what Asterisk sent, raw bytes, as read
  tests/protocol/transcripts/live-vietnamese.sent   what we sent (Secret redacted), annotated

Run as root (the private Asterisk needs a chroot):  .venv/bin/python -m tests.protocol.record_live
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import sys
import tempfile
from pathlib import Path

from ivr.ami.client import AmiClient
from ivr.ami.errors import AgiCommandError
from ivr.ami.events import AsyncAGIStart, Event, Hangup
from ivr.pbx import LocalPbx
from ivr.pbx.cache import remove_tree
from ivr.sipp import CallSpec, place_call
from tests.fixtures.pbx import make_private_config

OUT = Path(__file__).parent / "transcripts"
CALLER_NAME = "Nguyễn Thị Ánh Tuyết"
SPOKEN = "Xin chào, đây là tổng đài 1900 9120"
CALLER_NUMBER = "0912000777"


async def record(base: Path) -> None:
    config = make_private_config(base)
    config.prompts_dir.mkdir(parents=True, exist_ok=True)
    local = LocalPbx(config)
    local.up()
    received = bytearray()
    sent: list[str] = []

    def tap(direction: str, data: bytes) -> None:
        if direction == "RECV":
            received.extend(data)
        else:
            text = re.sub(r"(?m)^Secret: .*$", "Secret: <redacted>", data.decode("utf-8"))
            sent.append(text)

    host, port = config.ami_address
    client = AmiClient(
        host, port, config.ami_user, config.ami_secret, keepalive_s=None, wire_tap=tap
    )
    starts: asyncio.Queue[AsyncAGIStart] = asyncio.Queue()
    hung_up = asyncio.Event()

    def on_event(event: Event) -> None:
        if isinstance(event, AsyncAGIStart):
            starts.put_nowait(event)
        if isinstance(event, Hangup):
            hung_up.set()

    client.subscribe(on_event)
    try:
        await client.connect()
        sip_host, sip_port = config.sip_address
        spec = CallSpec(
            sip_host=sip_host,
            sip_port=sip_port,
            number=config.hotline_number,
            caller_id=CALLER_NUMBER,
            wait_before_s=0.2,
            hangup_after_s=20.0,
            max_call_s=30.0,
            log_dir=base / "sipp",
        )
        call = asyncio.create_task(place_call(spec))
        start = await asyncio.wait_for(starts.get(), 15)
        channel = start.channel
        assert channel is not None
        await client.action("Setvar", Channel=channel, Variable="CALLERID(name)", Value=CALLER_NAME)
        await client.agi(channel, f'SET VARIABLE HOTLINE_GREETING "{SPOKEN}"')
        await client.agi(channel, "GET VARIABLE HOTLINE_GREETING")
        await client.agi(channel, "GET VARIABLE CALLERID(name)")
        for bad in ("NO SUCH COMMAND", "WAIT FOR DIGIT"):
            with contextlib.suppress(AgiCommandError):
                await client.agi(channel, bad)
        await client.action_list("CoreShowChannels")
        await client.agi(channel, "HANGUP")
        await asyncio.wait_for(hung_up.wait(), 10)
        await asyncio.sleep(0.5)
        await client.close()
        await asyncio.wait_for(call, 30)
    finally:
        await client.close()
        local.down()
        remove_tree(config.root)
    (OUT / "live-vietnamese.recv").write_bytes(bytes(received))
    (OUT / "live-vietnamese.sent").write_text(
        "".join(f"### >>> SENT\n{block}" for block in sent), encoding="utf-8"
    )
    print(f"recorded {len(received)} bytes received, {len(sent)} actions sent into {OUT}")


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="ami-record-") as tmp:
        asyncio.run(record(Path(tmp)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
