"""Replay of AMI transcripts recorded from a real Asterisk 22.10.1 (AsyncAGI over AMI).

Two replays per transcript:
1. the codec alone: what Asterisk sent, fed whole, one byte at a time and split at every
   boundary, gives exactly the expected message list;
2. the client: a scripted server plays Asterisk's side of the transcript in lockstep with what
   our `AmiClient` sends (checking each action against the recorded one, mapping the recorded
   ActionID/CommandID onto ours), while the test drives the call with `client.agi()` - so the
   correlation, the parsing of results and the event delivery are checked on real traffic.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable

import pytest

from ivr.ami.agi import AgiResult, parse_agi_result
from ivr.ami.client import AmiClient
from ivr.ami.codec import NEED_DATA, AmiCodec
from ivr.ami.events import (
    Action,
    AmiMessage,
    AsyncAGIExec,
    AsyncAGIStart,
    ConnectionClosed,
    DTMFBegin,
    DTMFEnd,
    Event,
    Hangup,
    Response,
)
from tests.protocol.ami_transcript import Block, load, received_wire

Summary = tuple[str, ...]


def summarise(message: AmiMessage) -> Summary:
    """The facts of a message the call path relies on (every header is checked separately)."""
    if isinstance(message, Response):
        return ("Response", message.status, message.action_id or "", message.message or "")
    if isinstance(message, AsyncAGIExec):
        return ("AsyncAGIExec", message.channel or "", message.command_id or "", message.result)
    if isinstance(message, DTMFBegin | DTMFEnd):
        return (message.name, message.channel or "", message.digit or "")
    if isinstance(message, Hangup):
        return ("Hangup", message.channel or "", str(message.cause), message.cause_txt or "")
    if isinstance(message, Event):
        return (type(message).__name__, message.channel or "", message.uniqueid or "")
    return (type(message).__name__,)


CH0, U0 = "PJSIP/sipp-00000000", "1795599729.0"
CH1, U1 = "PJSIP/sipp-00000001", "1795599775.1"
CH2, U2 = "PJSIP/sipp-00000000", "1795600172.0"
QUEUED = "Added AGI command to queue"
EXPECTED: dict[str, list[Summary]] = {
    "congrats.txt": [
        ("Response", "Success", "a1", "Authentication accepted"),
        ("AsyncAGIStart", CH0, U0),
        ("Response", "Success", "a3", QUEUED),
        ("DTMFBegin", CH0, "1"),
        ("DTMFEnd", CH0, "1"),
        ("DTMFEnd", CH0, "5"),
        ("AsyncAGIExec", CH0, "c2", "200 result=0 endpos=242214\n"),
        ("Response", "Success", "a5", QUEUED),
        ("AsyncAGIExec", CH0, "c4", "200 result=1\n"),
        ("AsyncAGIEnd", CH0, U0),
        ("Hangup", CH0, "0", "Unknown"),
        ("ConnectionClosed",),
    ],
    "ivr.txt": [
        ("Response", "Success", "a1", "Authentication accepted"),
        ("AsyncAGIStart", CH1, U1),
        ("Response", "Success", "a3", QUEUED),
        ("AsyncAGIExec", CH1, "c2", "200 result=0 endpos=3404\n"),
        ("Response", "Success", "a5", QUEUED),
        ("AsyncAGIExec", CH1, "c4", "200 result=0 (timeout) endpos=40160\n"),
        ("Response", "Success", "a7", QUEUED),
        ("DTMFBegin", CH1, "1"),
        ("DTMFEnd", CH1, "1"),
        ("AsyncAGIExec", CH1, "c6", "200 result=49\n"),
        ("Response", "Success", "a9", QUEUED),
        ("DTMFEnd", CH1, "5"),
        ("AsyncAGIExec", CH1, "c8", "200 result=5\n"),
        ("Response", "Success", "a11", QUEUED),
        ("AsyncAGIExec", CH1, "c10", "200 result=0 endpos=44140\n"),
        ("Response", "Success", "a13", QUEUED),
        ("AsyncAGIExec", CH1, "c12", "200 result=1\n"),
        ("AsyncAGIEnd", CH1, U1),
        ("Hangup", CH1, "0", "Unknown"),
        ("ConnectionClosed",),
    ],
    "exec.txt": [
        ("Response", "Success", "a1", "Authentication accepted"),
        ("AsyncAGIStart", CH2, U2),
        ("Response", "Success", "a3", QUEUED),
        ("AsyncAGIExec", CH2, "c2", "200 result=0\n"),
        ("Response", "Success", "a5", QUEUED),
        ("AsyncAGIExec", CH2, "c4", "200 result=1\n"),
        ("Response", "Success", "a7", QUEUED),
        ("AsyncAGIExec", CH2, "c6", "200 result=1 (done)\n"),
        ("Response", "Success", "a9", QUEUED),
        ("AsyncAGIExec", CH2, "c8", "200 result=1\n"),
        ("AsyncAGIEnd", CH2, U2),
        ("Hangup", CH2, "0", "Unknown"),
        ("ConnectionClosed",),
    ],
}

# What `client.agi()` returns for each AGI command of the transcript, in order.
EXPECTED_AGI: dict[str, list[tuple[str, str, str | None, dict[str, str]]]] = {
    "congrats.txt": [
        ('STREAM FILE demo-congrats ""', "0", None, {"endpos": "242214"}),
        ("HANGUP", "1", None, {}),
    ],
    "ivr.txt": [
        ('STREAM FILE beep ""', "0", None, {"endpos": "3404"}),
        (
            'RECORD FILE /var/spool/asterisk/recording/probe-1795599775_1 wav "#" 6000',
            "0",
            "timeout",
            {"endpos": "40160"},
        ),
        ("WAIT FOR DIGIT 8000", "49", None, {}),
        ("GET DATA beep 6000 1", "5", None, {}),
        ('STREAM FILE demo-thanks ""', "0", None, {"endpos": "44140"}),
        ("HANGUP", "1", None, {}),
    ],
    "exec.txt": [
        ("EXEC Playback demo-thanks", "0", None, {}),
        ('SET VARIABLE IVR_STEP "done"', "1", None, {}),
        ("GET VARIABLE IVR_STEP", "1", "done", {}),
        ("HANGUP", "1", None, {}),
    ],
}

NAMES = sorted(EXPECTED)


def feed(chunks: Iterable[bytes]) -> list[AmiMessage]:
    codec = AmiCodec()
    out: list[AmiMessage] = []

    def drain() -> None:
        while (message := codec.next_event()) is not NEED_DATA:
            out.append(message)
            if isinstance(message, ConnectionClosed):
                return

    for chunk in chunks:
        if chunk:
            codec.receive_data(chunk)
            drain()
    codec.receive_data(b"")
    drain()
    return out


@pytest.mark.parametrize("name", NAMES)
def test_codec_whole(name: str) -> None:
    messages = feed([received_wire(name)])
    assert [summarise(m) for m in messages] == EXPECTED[name]
    # every header of every block is kept, in order
    recv = [b for b in load(name) if b.direction == "RECV"]
    for block, message in zip(recv, messages, strict=False):
        assert isinstance(message, Response | Event)
        assert message.headers.items() == block.headers


@pytest.mark.parametrize("name", NAMES)
def test_codec_one_byte_at_a_time(name: str) -> None:
    data = received_wire(name)
    assert feed(data[i : i + 1] for i in range(len(data))) == feed([data])


@pytest.mark.parametrize("name", NAMES)
def test_codec_split_at_every_boundary(name: str) -> None:
    # Every cut point of the stream, each fed inside a window of the message it falls in and
    # its two neighbours (the codec carries nothing across messages but the line ending, so
    # this is the whole-stream check at a tenth of the cost).
    wires = [b.wire for b in load(name) if b.direction == "RECV"]
    whole = feed([b"".join(wires)])[:-1]  # without ConnectionClosed
    starts = [0]
    for wire in wires:
        starts.append(starts[-1] + len(wire))
    for i in range(len(wires)):
        lo, hi = max(0, i - 1), min(len(wires), i + 2)
        window = b"".join(wires[lo:hi])
        expected = [*whole[lo:hi], ConnectionClosed()]
        first = starts[i] - starts[lo]
        for cut in range(first, first + len(wires[i])):
            assert feed([window[:cut], window[cut:]]) == expected, f"{name} message {i} cut {cut}"


@pytest.mark.parametrize("name", NAMES)
def test_codec_as_recorded_with_bare_lf(name: str) -> None:
    data = received_wire(name).replace(b"\r\n", b"\n")
    assert [summarise(m) for m in feed([data])] == EXPECTED[name]


def test_async_agi_start_env_is_decoded() -> None:
    start = feed([received_wire("ivr.txt")])[1]
    assert isinstance(start, AsyncAGIStart)
    env = start.env
    assert env["agi_channel"] == CH1
    assert env["agi_dnid"] == "19009120"
    assert env["agi_calleridname"] == "Caller 1"
    assert env["agi_version"] == "22.10.1+dfsg+~cs6.17.60671434-1"


def test_our_encoder_reproduces_the_recorded_actions() -> None:
    codec = AmiCodec()
    for name in NAMES:
        for block in load(name):
            if block.direction != "SENT":
                continue
            name_header, *rest = block.headers
            assert codec.send(Action(name_header[1], tuple(rest))) == block.wire


# -- the client on replayed traffic ------------------------------------------------------------


class Replayer:
    """Plays Asterisk's side of a transcript, in lockstep with the client's actions."""

    def __init__(self, blocks: list[Block]) -> None:
        self.blocks = blocks
        self.ids: dict[str, str] = {}
        self.mismatches: list[str] = []
        self.done = asyncio.Event()

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            for block in self.blocks:
                if block.direction == "SENT":
                    raw = await reader.readuntil(b"\r\n\r\n")
                    self._check(block, raw)
                else:
                    writer.write(self._substitute(block))
                    await writer.drain()
        finally:
            self.done.set()
            writer.close()

    def _check(self, recorded: Block, raw: bytes) -> None:
        lines = raw.decode().split("\r\n")
        sent = Block("SENT", tuple(line for line in lines if line))
        for key in ("ActionID", "CommandID"):
            if recorded.get(key) is not None:
                self.ids[recorded.get(key) or ""] = sent.get(key) or ""
        ignore = {"actionid", "commandid", "secret"}
        want = [(k, v) for k, v in recorded.headers if k.lower() not in ignore]
        got = [(k, v) for k, v in sent.headers if k.lower() not in ignore]
        if want != got:
            self.mismatches.append(f"expected {want}, client sent {got}")

    def _substitute(self, block: Block) -> bytes:
        lines = []
        for key, value in block.headers:
            if key.lower() in ("actionid", "commandid"):
                value = self.ids.get(value, value)
            lines.append(f"{key}: {value}")
        return Block("RECV", tuple(lines)).wire


@pytest.mark.parametrize("name", NAMES)
async def test_client_drives_the_recorded_call(name: str) -> None:
    blocks = load(name)
    replayer = Replayer(blocks)
    server = await asyncio.start_server(replayer.serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    client = AmiClient("127.0.0.1", port, "ivr", "secret", events="call,agi,dtmf", keepalive_s=None)
    started: asyncio.Queue[AsyncAGIStart] = asyncio.Queue()
    seen: list[str] = []
    hung_up = asyncio.Event()
    client.subscribe(lambda e: seen.append(e.name))
    client.subscribe(lambda e: hung_up.set(), "Hangup")
    client.subscribe(lambda e: started.put_nowait(e) if isinstance(e, AsyncAGIStart) else None)
    try:
        await client.connect()
        start = await asyncio.wait_for(started.get(), 2.0)
        assert start.channel is not None
        results: list[AgiResult] = []
        for command, *_ in EXPECTED_AGI[name]:
            results.append(await asyncio.wait_for(client.agi(start.channel, command), 2.0))
        await asyncio.wait_for(hung_up.wait(), 2.0)
        await client.close()
        await asyncio.wait_for(replayer.done.wait(), 2.0)
    finally:
        with contextlib.suppress(Exception):
            await client.close()
        server.close()
        await server.wait_closed()
    assert replayer.mismatches == []
    assert [(r.result, r.data, r.extras) for r in results] == [
        (result, data, extras) for _, result, data, extras in EXPECTED_AGI[name]
    ]
    assert all(r == parse_agi_result(r.raw) for r in results)
    expected_events = [s[0] for s in EXPECTED[name] if s[0] not in ("Response", "ConnectionClosed")]
    assert seen == expected_events
