"""The AudioSocket codec (ivr.voice.audiosocket): a transcript of what Asterisk 22 sends (UUID,
audio, DTMF, error, hangup), fed whole, one byte at a time, and split at every boundary."""

from __future__ import annotations

import pytest

from ivr.voice.audiosocket import (
    NEED_DATA,
    AudioIn,
    AudioSocketCodec,
    Closed,
    Dtmf,
    ErrorReported,
    Hangup,
    Identified,
    Message,
    Unknown,
)
from ivr.voice.errors import AudioSocketProtocolError

UUID = "0f8c6a1e-3b5d-4c2a-9e7f-1a2b3c4d5e6f"
AUDIO = bytes(range(256)) * 1 + bytes(64)  # 320 bytes: one 20 ms slin frame

# As Asterisk writes them (res_audiosocket.c): kind, big-endian length, payload.
TRANSCRIPT = (
    b"\x01\x00\x10"
    + bytes.fromhex(UUID.replace("-", ""))
    + b"\x10\x01\x40"
    + AUDIO
    + b"\x03\x00\x01"
    + b"5"
    + b"\x03\x00\x01"
    + b"#"
    + b"\x10\x00\x02"
    + b"\xff\x7f"
    + b"\xff\x00\x01"
    + b"\x02"
    + b"\x42\x00\x03"
    + b"abc"
    + b"\x00\x00\x00"
)
EXPECTED: list[Message] = [
    Identified(UUID),
    AudioIn(AUDIO),
    Dtmf("5"),
    Dtmf("#"),
    AudioIn(b"\xff\x7f"),
    ErrorReported(2),
    Unknown(0x42, b"abc"),
    Hangup(),
    Closed(),
]


def drain(codec: AudioSocketCodec) -> list[Message]:
    out: list[Message] = []
    while (event := codec.next_event()) is not NEED_DATA:
        assert not isinstance(event, type(NEED_DATA))
        out.append(event)  # type: ignore[arg-type]
    return out


def feed(chunks: list[bytes]) -> list[Message]:
    codec = AudioSocketCodec()
    events: list[Message] = []
    for chunk in chunks:
        codec.receive_data(chunk)
        events += drain(codec)
    codec.receive_data(b"")
    return events + drain(codec)


def test_whole() -> None:
    assert feed([TRANSCRIPT]) == EXPECTED


def test_byte_by_byte() -> None:
    assert feed([TRANSCRIPT[i : i + 1] for i in range(len(TRANSCRIPT))]) == EXPECTED


@pytest.mark.parametrize("cut", range(1, len(TRANSCRIPT)))
def test_split_everywhere(cut: int) -> None:
    assert feed([TRANSCRIPT[:cut], TRANSCRIPT[cut:]]) == EXPECTED


def test_what_we_send() -> None:
    assert AudioSocketCodec.send_audio(b"\x01\x02") == b"\x10\x00\x02\x01\x02"
    assert AudioSocketCodec.send_hangup() == b"\x00\x00\x00"
    assert AudioSocketCodec.send_uuid(UUID) == TRANSCRIPT[:19]
    assert AudioSocketCodec.send_dtmf("7") == b"\x03\x00\x017"
    with pytest.raises(AudioSocketProtocolError, match="3 bytes"):
        AudioSocketCodec.send_audio(b"abc")
    with pytest.raises(AudioSocketProtocolError, match="0 bytes"):
        AudioSocketCodec.send_audio(b"")


def test_eof_inside_a_message_is_an_error() -> None:
    codec = AudioSocketCodec()
    codec.receive_data(b"\x10\x01\x40" + AUDIO[:100])
    assert codec.next_event() is NEED_DATA
    codec.receive_data(b"")
    with pytest.raises(AudioSocketProtocolError, match="ended inside a message"):
        codec.next_event()


@pytest.mark.parametrize(
    ("data", "match"),
    [
        (b"\x01\x00\x04abcd", "UUID message of 4 bytes"),
        (b"\x03\x00\x01x", "DTMF payload"),
        (b"\x03\x00\x02" + b"12", "DTMF payload"),
        (b"\x10\x00\x03abc", "not whole samples"),
    ],
)
def test_malformed_messages(data: bytes, match: str) -> None:
    codec = AudioSocketCodec()
    codec.receive_data(data)
    with pytest.raises(AudioSocketProtocolError, match=match):
        codec.next_event()


def test_data_after_eof_is_refused() -> None:
    codec = AudioSocketCodec()
    codec.receive_data(b"")
    with pytest.raises(AudioSocketProtocolError, match="after EOF"):
        codec.receive_data(b"\x00\x00\x00")
