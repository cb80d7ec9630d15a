"""Replay of our own recording from the real Asterisk 22 (tests/protocol/record_live.py):
the raw bytes Asterisk sent, as read from the socket, with UTF-8 Vietnamese in CallerIDName and
in AGI results, real 510/520 replies, unknown events and the CoreShowChannels EventList.

Fed whole, one byte at a time, and cut at every byte; the exact message list is asserted.
"""

from __future__ import annotations

from collections.abc import Iterable

from ivr.ami.agi import parse_agi_result
from ivr.ami.codec import NEED_DATA, AmiCodec
from ivr.ami.events import (
    AmiMessage,
    AsyncAGIExec,
    AsyncAGIStart,
    Banner,
    ConnectionClosed,
    CoreShowChannel,
    Event,
    Response,
)
from tests.protocol.ami_transcript import TRANSCRIPTS

RECV = (TRANSCRIPTS / "live-vietnamese.recv").read_bytes()
NAME = "Nguyễn Thị Ánh Tuyết"
SPOKEN = "Xin chào, đây là tổng đài 1900 9120"
CH = "PJSIP/hotline-caller-00000000"
USAGE_520 = (
    "520-Invalid command syntax.  Proper usage follows:\n"
    "Waits up to <replaceable>timeout</replaceable> milliseconds for channel to receive a DTMF "
    "digit. Returns <literal>-1</literal> on channel failure, <literal>0</literal> if no digit is "
    "received in the timeout, or the numerical value of the ascii of the digit if one is "
    "received. Use <literal>-1</literal> for the <replaceable>timeout</replaceable> value if you "
    "desire the call to block indefinitely.\n520 End of proper usage.\n"
)
QUEUED = "Added AGI command to queue"


def summarise(message: AmiMessage) -> tuple[str, ...]:
    if isinstance(message, Banner):
        return ("Banner", message.line)
    if isinstance(message, Response):
        return ("Response", message.status, message.action_id or "", message.message or "")
    if isinstance(message, AsyncAGIExec):
        return ("AsyncAGIExec", message.command_id or "", message.result)
    if isinstance(message, Event):
        return (
            type(message).__name__,
            message.name,
            message.channel or "",
            message.get("CallerIDName") or "",
        )
    return (type(message).__name__,)


def ev(kind: str, name: str, channel: str = CH, caller: str = NAME) -> tuple[str, ...]:
    return (kind, name, channel, caller)


def agi_round(action: str, command_id: str, result: str) -> list[tuple[str, ...]]:
    return [
        ("Response", "Success", f"885625-{action}", QUEUED),
        ev("Event", "AGIExecStart"),
        ev("Event", "AGIExecEnd"),
        ("AsyncAGIExec", f"885625-{command_id}", result),
    ]


EXPECTED: list[tuple[str, ...]] = [
    ("Banner", "Asterisk Call Manager/11.0.0"),
    ("Response", "Success", "885625-1", "Authentication accepted"),
    ev("FullyBooted", "FullyBooted", "", ""),
    ev("Event", "TestEvent", "", ""),
    ev("Newchannel", "Newchannel", caller="0912000777"),
    ev("Event", "TestEvent", caller=""),
    ev("Newstate", "Newstate", caller="0912000777"),
    ev("AsyncAGIStart", "AsyncAGIStart", caller="0912000777"),
    ("Response", "Success", "885625-2", "Variable Set"),
    ev("Event", "NewCallerid"),
    *agi_round("3", "c1", "200 result=1\n"),
    *agi_round("4", "c2", f"200 result=1 ({SPOKEN})\n"),
    *agi_round("5", "c3", f"200 result=1 ({NAME})\n"),
    *agi_round("6", "c4", "510 Invalid or unknown command\n"),
    *agi_round("7", "c5", USAGE_520),
    ("Response", "Success", "885625-8", "Channels will follow"),
    ev("CoreShowChannel", "CoreShowChannel"),
    ev("CoreShowChannelsComplete", "CoreShowChannelsComplete", "", ""),
    ("Response", "Success", "885625-9", QUEUED),
    ev("Event", "AGIExecStart"),
    ev("Event", "SoftHangupRequest"),
    ev("Event", "AGIExecEnd"),
    ("AsyncAGIExec", "885625-c6", "200 result=1\n"),
    ev("AsyncAGIEnd", "AsyncAGIEnd"),
    ev("Event", "SoftHangupRequest"),
    ev("Hangup", "Hangup"),
    ("Response", "Goodbye", "885625-10", "Thanks for all the fish."),
    ("ConnectionClosed",),
]


def feed(chunks: Iterable[bytes]) -> list[AmiMessage]:
    codec = AmiCodec()
    out: list[AmiMessage] = []
    for chunk in [*(c for c in chunks if c), b""]:  # b"" only once: end of stream
        codec.receive_data(chunk)
        while (message := codec.next_event()) is not NEED_DATA:
            out.append(message)
            if isinstance(message, ConnectionClosed):
                return out
    return out


def test_whole() -> None:
    assert [summarise(m) for m in feed([RECV])] == EXPECTED


def test_one_byte_at_a_time() -> None:
    assert feed(RECV[i : i + 1] for i in range(len(RECV))) == feed([RECV])


def test_cut_at_every_byte() -> None:
    # A cut only matters to the message it falls in: each cut is fed inside a window of that
    # message and the next one (the byte-by-byte test covers the whole stream at once).
    whole = feed([RECV])[:-1]  # without ConnectionClosed
    ends: list[int] = []
    codec = AmiCodec()
    for i in range(len(RECV)):
        codec.receive_data(RECV[i : i + 1])
        while codec.next_event() is not NEED_DATA:
            ends.append(i + 1)
    assert len(ends) == len(whole)
    starts = [0, *ends[:-1]]
    for index, (start, end) in enumerate(zip(starts, ends, strict=True)):
        hi = ends[min(len(ends) - 1, index + 1)]
        window = RECV[start:hi]
        expected = [*whole[index : index + 2], ConnectionClosed()]
        for cut in range(1, end - start + 1):
            got = feed([window[:cut], window[cut:]])
            assert got == expected, f"message {index}, cut at byte {start + cut}"


def test_vietnamese_arrives_intact() -> None:
    assert NAME.encode() in RECV  # Asterisk sent raw UTF-8 in CallerIDName
    messages = feed([RECV])
    names = {m.get("CallerIDName") for m in messages if isinstance(m, Event)}
    assert NAME in names
    spoken = next(
        parse_agi_result(m.result)
        for m in messages
        if isinstance(m, AsyncAGIExec) and m.command_id == "885625-c2"
    )
    assert spoken.data == SPOKEN


def test_real_agi_replies_parse() -> None:
    by_id = {m.command_id: m.result for m in feed([RECV]) if isinstance(m, AsyncAGIExec)}
    assert parse_agi_result(by_id["885625-c4"]).code == 510
    usage = parse_agi_result(by_id["885625-c5"])
    assert usage.code == 520
    assert usage.message.splitlines()[0] == "Invalid command syntax.  Proper usage follows:"


def test_channel_listed_in_async_agi() -> None:
    messages = feed([RECV])
    (listed,) = [m for m in messages if isinstance(m, CoreShowChannel)]
    assert listed.in_async_agi and listed.channel == CH
    start = next(m for m in messages if isinstance(m, AsyncAGIStart))
    assert start.env["agi_callerid"] == "0912000777"
