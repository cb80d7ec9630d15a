"""The caller's pcap writer, read back with our reader: frames, checksums, RTP timeline."""

from __future__ import annotations

import io
import struct
import wave

import numpy as np
import pytest

from ivr.sipp.errors import MediaError, PcapFormatError
from ivr.sipp.media import (
    Key,
    Silence,
    Speech,
    build_stream,
    keys_only,
    parse_keys,
    pcm_from_wav,
    stream_duration_s,
    stream_to_pcap,
    wav_from_pcm,
)
from ivr.sipp.pcap import UdpRecord, decode_pcap, encode_pcap, verify_checksums
from ivr.sipp.rtp import PT_PCMU, PT_TELEPHONE_EVENT, DtmfEvent, RtpPacket


def _frames(data: bytes) -> list[bytes]:
    frames = []
    offset = 24
    while offset < len(data):
        _, _, caplen, _ = struct.unpack_from("<IIII", data, offset)
        frames.append(data[offset + 16 : offset + 16 + caplen])
        offset += 16 + caplen
    return frames


def test_pcap_round_trip_and_header() -> None:
    records = [
        UdpRecord(1.0, "127.0.0.1", 6000, "127.0.0.2", 10000, b"abc"),
        UdpRecord(1.02, "127.0.0.1", 6000, "127.0.0.2", 10000, b"odd"),
    ]
    data = encode_pcap(records)
    magic, major, minor, _, _, snaplen, linktype = struct.unpack_from("<IHHiIII", data)
    assert (magic, major, minor, snaplen, linktype) == (0xA1B2C3D4, 2, 4, 65535, 1)
    back = decode_pcap(data)
    assert [(r.src, r.sport, r.dst, r.dport, r.payload) for r in back] == [
        (r.src, r.sport, r.dst, r.dport, r.payload) for r in records
    ]
    assert back[1].time_s == pytest.approx(1.02, abs=1e-6)


def test_pcap_checksums_are_valid() -> None:
    data = encode_pcap([UdpRecord(0.5, "127.0.0.1", 6000, "127.0.0.1", 10002, b"x" * 173)])
    (frame,) = _frames(data)
    assert frame[12:14] == b"\x08\x00"
    assert verify_checksums(frame[14:])
    corrupted = bytearray(frame[14:])
    corrupted[-1] ^= 0xFF
    assert not verify_checksums(bytes(corrupted))


def test_pcap_reader_accepts_big_endian_and_raw_ip() -> None:
    little = encode_pcap([UdpRecord(2.0, "10.0.0.1", 1, "10.0.0.2", 2, b"payload")])
    (frame,) = _frames(little)
    ip = frame[14:]
    big = struct.pack(">IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 101)
    big += struct.pack(">IIII", 2, 0, len(ip), len(ip)) + ip
    (record,) = decode_pcap(big)
    assert (record.src, record.dport, record.payload) == ("10.0.0.1", 2, b"payload")


def test_pcap_reader_errors_name_the_problem() -> None:
    with pytest.raises(PcapFormatError, match="magic"):
        decode_pcap(b"\x00" * 24)
    data = encode_pcap([UdpRecord(0.0, "127.0.0.1", 1, "127.0.0.1", 2, b"abc")])
    with pytest.raises(PcapFormatError, match="truncated"):
        decode_pcap(data[:-2])


def _rtp(data: bytes) -> list[tuple[float, RtpPacket]]:
    return [(r.time_s, RtpPacket.parse(r.payload)) for r in decode_pcap(data)]


def test_stream_of_silence_key_and_speech() -> None:
    speech = np.full(800, 1000, dtype=np.int16)  # 100 ms
    packets = build_stream(
        [Silence(100), Key("5", 250), Silence(40), Speech(speech)],
        ssrc=0x11223344,
        first_sequence=65533,
        first_timestamp=1000,
    )
    parsed = _rtp(stream_to_pcap(packets, start_s=1.0))
    rtp = [p for _, p in parsed]
    times = [t - parsed[0][0] for t, _ in parsed]
    # one SSRC, sequence numbers continue across the key press and wrap at 2^16
    assert {p.ssrc for p in rtp} == {0x11223344}
    assert [p.sequence for p in rtp] == [(65533 + i) % 65536 for i in range(len(rtp))]
    audio_before = rtp[:5]
    events = [p for p in rtp if p.payload_type == PT_TELEPHONE_EVENT]
    audio_after = rtp[5 + len(events) :]
    # 100 ms of silence: 5 frames of 160 μ-law bytes, 20 ms apart, timestamps +160
    assert [p.payload_type for p in audio_before] == [PT_PCMU] * 5
    assert all(p.payload == b"\xff" * 160 for p in audio_before)
    assert [p.timestamp for p in audio_before] == [1000 + 160 * i for i in range(5)]
    assert times[:5] == pytest.approx([0.0, 0.02, 0.04, 0.06, 0.08], abs=1e-6)
    # marker: first audio packet of the stream and first packet of the event only
    assert [p.marker for p in rtp].count(True) == 2
    assert rtp[0].marker and events[0].marker
    # the event: one timestamp (its start), durations growing, E bit on the last three
    assert {p.timestamp for p in events} == {1000 + 800}
    decoded = [DtmfEvent.parse(p.payload) for p in events]
    assert [d.end for d in decoded] == [False] * 12 + [True] * 3
    assert decoded[-1].duration == 2000 and decoded[0].duration == 160
    # audio resumes after the event on the real clock: 15 event packets took 300 ms
    first_after = audio_after[0]
    assert first_after.payload_type == PT_PCMU
    assert first_after.timestamp == 1000 + 800 + 15 * 160
    assert not first_after.marker
    # 40 ms of silence then 100 ms of speech
    assert len(audio_after) == 2 + 5
    assert audio_after[-1].payload != b"\xff" * 160
    assert stream_duration_s(packets) == pytest.approx(0.1 + 0.3 + 0.04 + 0.1)


def test_speech_is_padded_to_whole_frames() -> None:
    packets = build_stream([Speech(np.ones(170, dtype=np.int16))])
    assert [len(p.packet.payload) for p in packets] == [160, 160]


def test_parse_keys_with_pauses() -> None:
    segments = parse_keys("1,#", key_ms=100, gap_ms=50)
    assert segments == [Key("1", 100), Silence(50), Silence(1000), Key("#", 100), Silence(50)]
    assert keys_only("1,,a#") == "1A#"
    with pytest.raises(MediaError, match="position 1"):
        parse_keys("1x")


def test_pcm_from_wav_resamples_and_downmixes() -> None:
    out = io.BytesIO()
    with wave.open(out, "wb") as writer:
        writer.setnchannels(2)
        writer.setsampwidth(2)
        writer.setframerate(16000)
        frames = np.zeros((1600, 2), dtype="<i2")
        frames[:, 0] = 2000
        writer.writeframes(frames.tobytes())
    pcm = pcm_from_wav(out.getvalue())
    assert len(pcm) == 800  # 100 ms at 8 kHz
    assert int(pcm[400]) == 1000  # mean of the two channels
    assert pcm_from_wav(wav_from_pcm(pcm)).tolist() == pcm.tolist()
    with pytest.raises(MediaError, match="not a PCM WAV"):
        pcm_from_wav(b"RIFF nonsense")
