"""What the caller sends during a call, as one RTP stream: silence, speech and key presses.

Pure: WAV bytes and key strings in, RTP packets on a timeline (and pcap bytes) out.

Strategy: the whole input phase of a call (the wait before the first key, the key presses, the
gaps between them, the caller's speech) becomes ONE continuous RTP stream with one SSRC, one
sequence counter and one 8 kHz clock, written as one pcap that sipp plays with a single
`play_pcap_audio`. A real phone keeps sending audio frames (μ-law silence here) between key
presses; that also gets the stream through Asterisk's strict-RTP learning (rtp.conf
`strictrtp`, `probation` packets) before the first key press, and keeps the AGI command pickup
fast (Asterisk wakes on caller audio). Audio is suppressed while a key is held, as phones do.
"""

from __future__ import annotations

import io
import wave
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from ivr.sipp.errors import MediaError
from ivr.sipp.pcap import UdpRecord, encode_pcap
from ivr.sipp.rtp import (
    DTMF_EVENTS,
    END_PACKET_REPEATS,
    FRAME_MS,
    PT_PCMU,
    PT_TELEPHONE_EVENT,
    SAMPLE_RATE,
    SAMPLES_PER_FRAME,
    RtpPacket,
    dtmf_event_payloads,
)
from speech.audio import ulaw_encode  # one G.711 codec for caller and recogniser

PAUSE_CHAR = ","  # in a key string: one second of silence, as phone diallers write it
PAUSE_MS = 1000
DEFAULT_KEY_MS = 250
DEFAULT_GAP_MS = 250
DEFAULT_SSRC = 0x484C4E31  # "HLN1"
DEFAULT_FIRST_SEQUENCE = 4242


@dataclass(frozen=True, slots=True)
class Silence:
    ms: int


@dataclass(frozen=True, slots=True)
class Key:
    key: str
    ms: int = DEFAULT_KEY_MS


@dataclass(frozen=True, slots=True)
class Speech:
    samples: npt.NDArray[np.int16]  # 8 kHz mono signed 16-bit


Segment = Silence | Key | Speech


@dataclass(frozen=True, slots=True)
class TimedPacket:
    time_s: float  # offset from the start of the stream
    packet: RtpPacket


def parse_keys(
    keys: str, *, key_ms: int = DEFAULT_KEY_MS, gap_ms: int = DEFAULT_GAP_MS
) -> list[Segment]:
    """Turn a key string such as ``"1,,23#"`` into segments (``,`` = one second of silence)."""
    segments: list[Segment] = []
    for index, char in enumerate(keys):
        if char == PAUSE_CHAR:
            segments.append(Silence(PAUSE_MS))
            continue
        if char.upper() not in DTMF_EVENTS:
            raise MediaError(
                f"key {char!r} at position {index} of {keys!r} is not 0-9 * # A-D or ','"
            )
        segments.append(Key(char.upper(), key_ms))
        segments.append(Silence(gap_ms))
    return segments


def keys_only(keys: str) -> str:
    """The keys of a key string, without pauses (what the far end should receive)."""
    return "".join(c.upper() for c in keys if c != PAUSE_CHAR)


def pcm_from_wav(data: bytes) -> npt.NDArray[np.int16]:
    """Decode a PCM WAV (8/16-bit, mono or stereo, any rate) to 8 kHz mono signed 16-bit.

    Other rates are resampled by linear interpolation: good enough for a test caller.
    """
    try:
        with wave.open(io.BytesIO(data), "rb") as reader:
            channels = reader.getnchannels()
            width = reader.getsampwidth()
            rate = reader.getframerate()
            frames = reader.readframes(reader.getnframes())
    except (wave.Error, EOFError) as exc:
        raise MediaError(f"not a PCM WAV file: {exc}") from exc
    if width == 2:
        pcm = np.frombuffer(frames, dtype="<i2").astype(np.float64)
    elif width == 1:
        pcm = (np.frombuffer(frames, dtype=np.uint8).astype(np.float64) - 128.0) * 256.0
    else:
        raise MediaError(f"WAV sample width {8 * width} bits is not supported (8 or 16)")
    if channels > 1:
        pcm = pcm.reshape(-1, channels).mean(axis=1)
    if rate != SAMPLE_RATE and len(pcm):
        duration = len(pcm) / rate
        target = np.arange(int(duration * SAMPLE_RATE)) / SAMPLE_RATE
        pcm = np.interp(target, np.arange(len(pcm)) / rate, pcm)
    return np.clip(np.round(pcm), -32768, 32767).astype(np.int16)


def wav_from_pcm(samples: npt.NDArray[np.int16], rate: int = SAMPLE_RATE) -> bytes:
    """An 8 kHz (or `rate`) mono 16-bit WAV holding `samples`."""
    out = io.BytesIO()
    with wave.open(out, "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(rate)
        writer.writeframes(samples.astype("<i2").tobytes())
    return out.getvalue()


def build_stream(
    segments: Sequence[Segment],
    *,
    ssrc: int = DEFAULT_SSRC,
    first_sequence: int = DEFAULT_FIRST_SEQUENCE,
    first_timestamp: int = 0,
) -> list[TimedPacket]:
    """Lay segments on one RTP timeline: 20 ms μ-law frames, RFC 4733 events for keys."""
    packets: list[TimedPacket] = []
    sequence = first_sequence
    clock = 0  # samples since the start of the stream
    first_audio = True

    def emit(at_samples: int, packet: RtpPacket) -> None:
        nonlocal sequence
        packets.append(TimedPacket(at_samples / SAMPLE_RATE, packet))
        sequence = (sequence + 1) & 0xFFFF

    def audio(samples: npt.NDArray[np.int16]) -> None:
        nonlocal clock, first_audio
        padded_len = -(-len(samples) // SAMPLES_PER_FRAME) * SAMPLES_PER_FRAME
        padded = np.zeros(padded_len, dtype=np.int16)
        padded[: len(samples)] = samples
        encoded = ulaw_encode(padded)
        for start in range(0, padded_len, SAMPLES_PER_FRAME):
            packet = RtpPacket(
                payload_type=PT_PCMU,
                sequence=sequence,
                timestamp=first_timestamp + clock,
                ssrc=ssrc,
                payload=encoded[start : start + SAMPLES_PER_FRAME],
                marker=first_audio,
            )
            emit(clock, packet)
            first_audio = False
            clock += SAMPLES_PER_FRAME

    for segment in segments:
        if isinstance(segment, Silence):
            if segment.ms < 0:
                raise MediaError(f"silence of {segment.ms} ms is negative")
            frames = -(-segment.ms // FRAME_MS)
            audio(np.zeros(frames * SAMPLES_PER_FRAME, dtype=np.int16))
        elif isinstance(segment, Speech):
            audio(segment.samples)
        else:
            start = clock
            payloads = dtmf_event_payloads(segment.key, segment.ms)
            for index, payload in enumerate(payloads):
                # updates every 20 ms; the three end packets follow each other every 20 ms
                # too, so the event occupies (updates + 3) frame times on the wire.
                at = start + index * SAMPLES_PER_FRAME
                packet = RtpPacket(
                    payload_type=PT_TELEPHONE_EVENT,
                    sequence=sequence,
                    timestamp=first_timestamp + start,
                    ssrc=ssrc,
                    payload=payload,
                    marker=index == 0,
                )
                emit(at, packet)
            clock = start + len(payloads) * SAMPLES_PER_FRAME
    return packets


def stream_duration_s(packets: Sequence[TimedPacket]) -> float:
    """Time from the first packet to the end of the last one's frame."""
    if not packets:
        return 0.0
    return packets[-1].time_s - packets[0].time_s + FRAME_MS / 1000


def stream_to_pcap(
    packets: Iterable[TimedPacket],
    *,
    src: str = "127.0.0.1",
    sport: int = 6000,
    dst: str = "127.0.0.1",
    dport: int = 10000,
    start_s: float = 1.0,
) -> bytes:
    """A pcap for sipp's play_pcap_audio (sipp rewrites both ports, keeps everything else)."""
    return encode_pcap(
        [
            UdpRecord(start_s + item.time_s, src, sport, dst, dport, item.packet.to_bytes())
            for item in packets
        ]
    )


__all__ = [
    "END_PACKET_REPEATS",
    "Key",
    "Segment",
    "Silence",
    "Speech",
    "TimedPacket",
    "build_stream",
    "keys_only",
    "parse_keys",
    "pcm_from_wav",
    "stream_duration_s",
    "stream_to_pcap",
    "wav_from_pcm",
]
