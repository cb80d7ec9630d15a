"""A call as a timeline: pauses, speech and keys in any order, in the one RTP stream (read back)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ivr.sipp import CallSpec, Keys, Pause, Speech
from ivr.sipp.errors import MediaError, ScenarioError
from ivr.sipp.media import wav_from_pcm
from ivr.sipp.pcap import decode_pcap
from ivr.sipp.rtp import PT_PCMU, PT_TELEPHONE_EVENT, DtmfEvent, RtpPacket, dtmf_event_payloads
from ivr.sipp.runner import plan_call
from ivr.sipp.scenario import PlayPcap
from ivr.sipp.script import script_keys, script_segments
from speech.audio import ulaw_decode

RATE = 8000


def _tone(path: Path, seconds: float, freq: float = 440.0) -> Path:
    n = np.arange(int(seconds * RATE))
    samples = (8000 * np.sin(2 * np.pi * freq * n / RATE)).astype(np.int16)
    path.write_bytes(wav_from_pcm(samples))
    return path


def _timeline(pcap: Path) -> tuple[list[tuple[str, float, float]], list[RtpPacket]]:
    """(what, start s, end s) runs of speech and of each key event, and the packets."""
    records = decode_pcap(pcap.read_bytes())
    start = records[0].time_s
    packets = [RtpPacket.parse(r.payload) for r in records]
    runs: list[tuple[str, float, float]] = []
    for record, packet in zip(records, packets, strict=True):
        at = round(record.time_s - start, 3)
        if packet.payload_type == PT_TELEPHONE_EVENT:
            what = "key:" + DtmfEvent.parse(packet.payload).key
        elif np.abs(ulaw_decode(packet.payload).astype(np.int32)).max() > 1000:
            what = "speech"
        else:
            continue
        if runs and runs[-1][0] == what and at - runs[-1][2] < 0.021:
            runs[-1] = (what, runs[-1][1], round(at + 0.02, 3))
        else:
            runs.append((what, at, round(at + 0.02, 3)))
    return runs, packets


def test_script_interleaves_speech_and_keys_in_order_and_on_time(tmp_path: Path) -> None:
    first = _tone(tmp_path / "first.wav", 0.5)
    second = _tone(tmp_path / "second.wav", 0.3, freq=300.0)
    spec = CallSpec(
        script=[
            Pause(1.0),
            Speech(first),
            Pause(2.0),
            Keys("1"),
            Pause(0.5),
            Speech(second),
            Keys("2#", key_ms=100, gap_ms=100),
        ],
        wait_before_s=0.5,
        hangup_after_s=1.0,
    )
    plan = plan_call(spec, tmp_path)
    (move,) = plan.moves
    assert isinstance(move, PlayPcap)
    runs, packets = _timeline(Path(move.path))
    key_1 = len(dtmf_event_payloads("1", 250)) * 0.02  # updates + 3 end packets
    key_2 = len(dtmf_event_payloads("2", 100)) * 0.02
    speech_2 = 4.0 + key_1 + 0.26 + 0.5  # the 250 ms gap after a key rounds up to 13 frames
    assert [what for what, _, _ in runs] == ["speech", "key:1", "speech", "key:2", "key:#"]
    expected = [
        (1.5, 2.0),  # wait_before 0.5 + pause 1.0, then 0.5 s of speech
        (4.0, 4.0 + key_1),  # + pause 2.0
        (speech_2, speech_2 + 0.3),
        (speech_2 + 0.3, speech_2 + 0.3 + key_2),
        (speech_2 + 0.3 + key_2 + 0.1, speech_2 + 0.3 + 2 * key_2 + 0.1),
    ]
    for (what, start, end), (want_start, want_end) in zip(runs, expected, strict=True):
        assert start == pytest.approx(want_start, abs=0.021), (what, runs)
        assert end == pytest.approx(want_end, abs=0.021), (what, runs)
    # one stream: one SSRC, consecutive sequence numbers, μ-law between the events
    assert {p.ssrc for p in packets} == {packets[0].ssrc}
    assert [p.sequence for p in packets] == [
        (packets[0].sequence + i) & 0xFFFF for i in range(len(packets))
    ]
    assert {p.payload_type for p in packets} == {PT_PCMU, PT_TELEPHONE_EVENT}
    # the move waits for the script; the pcap goes on with silence until the hang-up
    assert move.duration_ms == pytest.approx(
        1000 * (expected[-1][1] + 0.1), abs=25
    )  # the gap after the last key is part of the input
    assert script_keys(spec.script) == "12#"


def test_dtmf_and_wav_still_come_as_keys_then_speech(tmp_path: Path) -> None:
    speech = _tone(tmp_path / "speech.wav", 0.4)
    plan = plan_call(CallSpec(dtmf="3", wav=speech, wait_before_s=1.0), tmp_path)
    (move,) = plan.moves
    assert isinstance(move, PlayPcap)
    runs, _ = _timeline(Path(move.path))
    assert [what for what, _, _ in runs] == ["key:3", "speech"]
    assert runs[0][1] == pytest.approx(1.0, abs=0.021)


def test_script_is_kept_as_a_tuple() -> None:
    spec = CallSpec(script=[Pause(1), Keys("1")])
    assert spec.script == (Pause(1), Keys("1"))


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: CallSpec(script=[Keys("1")], dtmf="2"), "either a script or dtmf/wav"),
        (lambda: CallSpec(script=[Keys("1")], dtmf_mode="info"), "needs dtmf_mode rfc2833"),
        (lambda: Pause(-1.0), "pause of -1.0 s is negative"),
        (lambda: Keys("1x"), "'x' at position 1"),
        (lambda: Keys("1", key_ms=10), "key_ms 10"),
    ],
)
def test_script_validation_names_the_problem(make: object, message: str) -> None:
    assert callable(make)
    with pytest.raises(ScenarioError, match=message):
        make()


def test_unreadable_speech_names_the_file(tmp_path: Path) -> None:
    missing = tmp_path / "missing.wav"
    with pytest.raises(MediaError, match=r"missing\.wav cannot be read"):
        script_segments([Speech(missing)])
