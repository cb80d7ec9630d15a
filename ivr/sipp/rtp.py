"""RTP as the caller sends it: headers (RFC 3550), G.711 μ-law, DTMF events (RFC 4733).

Pure functions over bytes and numbers: no sockets, no files, no clocks. `ivr.sipp.media`
arranges these packets on a timeline and `ivr.sipp.pcap` writes them for sipp to play.

Strategy: DTMF events are sent the way Asterisk 22 itself sends them
(res_rtp_asterisk.c, ast_rtp_dtmf_begin/continue/end): the first packet carries the marker bit
and a duration of one packet, each following packet (every 20 ms) repeats the event start
timestamp with a growing duration, and the final packet (E bit set) is sent three times
(RFC 4733 section 2.5.1.4), each with its own sequence number so that no receiver drops it as a
duplicate.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from ivr.sipp.errors import MediaError

RTP_VERSION = 2
PT_PCMU = 0
PT_TELEPHONE_EVENT = 101
SAMPLE_RATE = 8000
FRAME_MS = 20
SAMPLES_PER_FRAME = SAMPLE_RATE * FRAME_MS // 1000  # 160 samples = 160 μ-law bytes
ULAW_SILENCE = 0xFF  # μ-law encoding of 0
DTMF_VOLUME = 10  # -10 dBm0, what phones usually send
END_PACKET_REPEATS = 3  # RFC 4733 2.5.1.4: the final packet is sent three times

_HEADER = struct.Struct("!BBHII")
_EVENT = struct.Struct("!BBH")

DTMF_EVENTS: dict[str, int] = {
    **{str(d): d for d in range(10)},
    "*": 10,
    "#": 11,
    "A": 12,
    "B": 13,
    "C": 14,
    "D": 15,
}
EVENT_KEYS: dict[int, str] = {code: key for key, code in DTMF_EVENTS.items()}


@dataclass(frozen=True, slots=True)
class RtpPacket:
    """One RTP packet without CSRCs or extensions (what a phone sends)."""

    payload_type: int
    sequence: int
    timestamp: int
    ssrc: int
    payload: bytes
    marker: bool = False

    def to_bytes(self) -> bytes:
        if not 0 <= self.payload_type < 128:
            raise MediaError(f"RTP payload type {self.payload_type} is outside 0..127")
        first = RTP_VERSION << 6
        second = (0x80 if self.marker else 0) | self.payload_type
        header = _HEADER.pack(
            first,
            second,
            self.sequence & 0xFFFF,
            self.timestamp & 0xFFFFFFFF,
            self.ssrc & 0xFFFFFFFF,
        )
        return header + self.payload

    @classmethod
    def parse(cls, data: bytes) -> RtpPacket:
        """Parse an RTP packet; CSRCs and a header extension are skipped, padding removed."""
        if len(data) < _HEADER.size:
            raise MediaError(f"RTP packet of {len(data)} bytes is shorter than its header")
        first, second, sequence, timestamp, ssrc = _HEADER.unpack_from(data)
        if first >> 6 != RTP_VERSION:
            raise MediaError(f"RTP packet has version {first >> 6}, expected 2")
        offset = _HEADER.size + 4 * (first & 0x0F)
        if first & 0x10:  # header extension: 16-bit profile, 16-bit length in words
            if len(data) < offset + 4:
                raise MediaError("RTP header extension is truncated")
            (words,) = struct.unpack_from("!H", data, offset + 2)
            offset += 4 + 4 * words
        end = len(data)
        if first & 0x20:  # padding: the last byte says how many bytes to drop
            end -= data[-1]
        if offset > end:
            raise MediaError(f"RTP packet of {len(data)} bytes is shorter than its headers")
        return cls(
            payload_type=second & 0x7F,
            sequence=sequence,
            timestamp=timestamp,
            ssrc=ssrc,
            payload=bytes(data[offset:end]),
            marker=bool(second & 0x80),
        )


@dataclass(frozen=True, slots=True)
class DtmfEvent:
    """The payload of one RFC 4733 telephone-event packet."""

    key: str
    end: bool
    volume: int
    duration: int  # in timestamp units (samples at 8 kHz)

    def to_bytes(self) -> bytes:
        code = dtmf_code(self.key)
        if not 0 <= self.volume <= 63:
            raise MediaError(f"DTMF volume {self.volume} is outside 0..63")
        if not 0 <= self.duration <= 0xFFFF:
            raise MediaError(f"DTMF duration {self.duration} does not fit 16 bits")
        return _EVENT.pack(code, (0x80 if self.end else 0) | self.volume, self.duration)

    @classmethod
    def parse(cls, payload: bytes) -> DtmfEvent:
        if len(payload) < _EVENT.size:
            raise MediaError(f"telephone-event payload of {len(payload)} bytes, expected 4")
        code, flags, duration = _EVENT.unpack_from(payload)
        key = EVENT_KEYS.get(code)
        if key is None:
            raise MediaError(f"telephone-event code {code} is not a DTMF key (0..15)")
        return cls(key=key, end=bool(flags & 0x80), volume=flags & 0x3F, duration=duration)


def dtmf_code(key: str) -> int:
    """RFC 4733 event code of a keypad key (0-9, *, #, A-D)."""
    code = DTMF_EVENTS.get(key.upper())
    if code is None:
        raise MediaError(f"DTMF key {key!r} is not one of 0-9 * # A-D")
    return code


def dtmf_event_payloads(key: str, duration_ms: int, *, volume: int = DTMF_VOLUME) -> list[bytes]:
    """Payloads of every packet of one key press, one per 20 ms, then the end packet x3."""
    if duration_ms < 2 * FRAME_MS:
        raise MediaError(f"DTMF duration {duration_ms} ms is below the 40 ms minimum")
    final = duration_ms * SAMPLE_RATE // 1000
    payloads: list[bytes] = []
    elapsed = SAMPLES_PER_FRAME
    while elapsed < final:
        payloads.append(DtmfEvent(key, False, volume, elapsed).to_bytes())
        elapsed += SAMPLES_PER_FRAME
    payloads.extend(
        DtmfEvent(key, True, volume, final).to_bytes() for _ in range(END_PACKET_REPEATS)
    )
    return payloads
