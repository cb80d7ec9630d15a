"""RTP headers, G.711 μ-law and RFC 4733 telephone-events as the test caller sends them."""

from __future__ import annotations

import numpy as np
import pytest

from ivr.sipp.errors import MediaError
from ivr.sipp.rtp import (
    END_PACKET_REPEATS,
    DtmfEvent,
    RtpPacket,
    dtmf_code,
    dtmf_event_payloads,
)
from speech.audio import ulaw_decode, ulaw_encode


def test_rtp_header_round_trip() -> None:
    packet = RtpPacket(0, 65535, 0xFFFFFFF0, 0x01020304, b"\xff" * 160, marker=True)
    data = packet.to_bytes()
    assert len(data) == 12 + 160
    assert data[0] == 0x80  # version 2, no padding, no extension, no CSRC
    assert data[1] == 0x80  # marker set, PT 0
    assert data[2:4] == b"\xff\xff"
    assert RtpPacket.parse(data) == packet


def test_rtp_parse_skips_csrc_extension_and_padding() -> None:
    header = bytes([0x80 | 0x20 | 0x10 | 0x01, 101, 0, 7, 0, 0, 0, 9, 0, 0, 0, 1])
    csrc = b"\x00\x00\x00\x02"
    extension = b"\xbe\xde\x00\x01" + b"\x01\x02\x03\x04"
    payload = b"\x05\x0a\x00\xa0"
    padding = b"\x00\x00\x03"
    packet = RtpPacket.parse(header + csrc + extension + payload + padding)
    assert packet.payload == payload
    assert packet.payload_type == 101
    assert packet.sequence == 7
    assert not packet.marker


def test_rtp_parse_rejects_short_and_wrong_version() -> None:
    with pytest.raises(MediaError, match="shorter than its header"):
        RtpPacket.parse(b"\x80\x00")
    with pytest.raises(MediaError, match="version 1"):
        RtpPacket.parse(bytes([0x40]) + b"\x00" * 11)


@pytest.mark.parametrize(("key", "code"), [("0", 0), ("9", 9), ("*", 10), ("#", 11), ("d", 15)])
def test_dtmf_codes(key: str, code: int) -> None:
    assert dtmf_code(key) == code


def test_dtmf_unknown_key_is_named() -> None:
    with pytest.raises(MediaError, match="'x'"):
        dtmf_code("x")


def test_dtmf_event_payloads_grow_then_end_three_times() -> None:
    payloads = [DtmfEvent.parse(p) for p in dtmf_event_payloads("5", 250)]
    updates = [p for p in payloads if not p.end]
    ends = [p for p in payloads if p.end]
    assert [p.duration for p in updates] == [160 * k for k in range(1, 13)]  # 160 .. 1920
    assert len(ends) == END_PACKET_REPEATS
    assert {p.duration for p in ends} == {2000}  # 250 ms at 8 kHz
    assert {p.key for p in payloads} == {"5"}
    assert {p.volume for p in payloads} == {10}
    # the wire form of the end packet: event 5, E bit + volume 10, duration 2000
    assert dtmf_event_payloads("5", 250)[-1] == bytes([5, 0x80 | 10, 0x07, 0xD0])


def test_dtmf_duration_limits() -> None:
    with pytest.raises(MediaError, match="below the 40 ms"):
        dtmf_event_payloads("1", 20)
    with pytest.raises(MediaError, match="does not fit 16 bits"):
        DtmfEvent("1", True, 10, 70000).to_bytes()


def test_ulaw_known_values() -> None:
    samples = np.array([0, -1, 32767, -32768, 1000, -1000], dtype=np.int16)
    encoded = ulaw_encode(samples)
    assert encoded[0] == 0xFF  # silence
    assert encoded[2] == 0x80 and encoded[3] == 0x00  # clipped full scale, both signs
    assert encoded[4] == 0xCE and encoded[5] == 0x4E  # G.711 table: 1000 -> 0xCE


def test_ulaw_round_trip_error_is_within_a_quantisation_step() -> None:
    rng = np.random.default_rng(1)
    samples = rng.integers(-32000, 32000, 5000).astype(np.int16)
    decoded = ulaw_decode(ulaw_encode(samples)).astype(np.int32)
    error = np.abs(decoded - samples.astype(np.int32))
    # μ-law steps grow with the magnitude: 1/16 of the segment, i.e. < 1/32 of the value + 8
    assert np.all(error <= np.abs(samples.astype(np.int32)) / 16 + 8)
