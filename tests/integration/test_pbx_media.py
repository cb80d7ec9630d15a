"""The PBX's media plumbing, live: a prompt from the read-only prompts mount plays, MixMonitor
writes into the host's recordings dir through the read-write mount, and app_audiosocket
connects to 127.0.0.1:<audiosocket_port> and introduces the call by its UUID.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import struct
import uuid
import wave
from pathlib import Path

import pytest

from ivr.sipp import CallSpec, place_call
from tests.fixtures.pbx import RunningPbx
from tests.integration.pbx_rawami import Message, RawAmi

pytestmark = [pytest.mark.asterisk]

AUDIOSOCKET_UUID = 0x01


def write_tone(path: Path, seconds: float = 0.4, hz: float = 440.0) -> None:
    """An 8 kHz mono 16-bit WAV, the prompt format of the contract."""
    frames = b"".join(
        struct.pack("<h", int(8000 * math.sin(2 * math.pi * hz * n / 8000)))
        for n in range(int(8000 * seconds))
    )
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(8000)
        out.writeframes(frames)


async def test_prompt_recording_and_audiosocket_through_the_mounts(pbx: RunningPbx) -> None:
    write_tone(pbx.config.prompts_dir / "pbxtest-beep.wav")
    introduced: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()

    async def audiosocket(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        kind, length = struct.unpack(">BH", await reader.readexactly(3))
        payload = await reader.readexactly(length)
        if not introduced.done():
            introduced.set_result(bytes([kind]) + payload)
        writer.write(b"\x00\x00\x00")  # kind 0x00: terminate
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(audiosocket, "127.0.0.1", pbx.config.audiosocket_port)
    ami = await RawAmi.login(pbx)
    caller = "0900000077"
    try:
        call = asyncio.create_task(
            place_call(
                CallSpec(
                    sip_port=pbx.config.sip_port,
                    number=pbx.config.hotline_number,
                    caller_id=caller,
                    hangup_after_s=8.0,
                )
            )
        )

        def started(m: Message) -> bool:
            return m.get("Event") == "AsyncAGIStart" and m.get("CallerIDNum") == caller

        start = await ami.wait_for(started)
        channel, uniqueid = start["Channel"], start["Uniqueid"]
        name = f"pbxtest-{uniqueid}"

        mixmonitor = await ami.agi(
            channel, f"EXEC MixMonitor /var/lib/hotline/recordings/{name}.wav"
        )
        assert mixmonitor.startswith("200 result=0"), mixmonitor
        played = await ami.agi(channel, 'STREAM FILE /var/lib/hotline/prompts/pbxtest-beep ""')
        assert played.startswith("200 result=0"), played
        assert int(played.split("endpos=")[1]) >= 3000, played  # ~3200 samples of 8 kHz

        call_uuid = uuid.uuid4()
        socket_result = await ami.agi(
            channel, f"EXEC AudioSocket {call_uuid},127.0.0.1:{pbx.config.audiosocket_port}"
        )
        assert socket_result.startswith("200"), socket_result
        assert await asyncio.wait_for(introduced, 5) == bytes([AUDIOSOCKET_UUID]) + call_uuid.bytes

        with contextlib.suppress(AssertionError, TimeoutError):
            await ami.agi(channel, "HANGUP")
        report = await call
        assert report.answered

        recording = pbx.config.recordings_dir / f"{name}.wav"
        for _ in range(50):  # MixMonitor closes the file when the channel goes
            if recording.is_file() and recording.stat().st_size > 44:
                break
            await asyncio.sleep(0.1)
        assert recording.is_file(), (sorted(pbx.config.recordings_dir.iterdir()), pbx.logs(30))
        with wave.open(str(recording)) as written:
            assert (written.getframerate(), written.getnchannels()) == (8000, 1)
            assert written.getnframes() >= 3000  # at least the beep it heard itself play
    finally:
        await ami.close()
        server.close()
        await server.wait_closed()
