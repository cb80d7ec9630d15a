"""sipp scenario generation: valid XML, the SIP messages and the control flow we rely on."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

from ivr.sipp.errors import ScenarioError
from ivr.sipp.media import wav_from_pcm
from ivr.sipp.pcap import decode_pcap
from ivr.sipp.rtp import RtpPacket
from ivr.sipp.runner import plan_call
from ivr.sipp.scenario import (
    REFUSAL_CODES,
    PlayPcap,
    ScenarioPlan,
    SendInfo,
    Wait,
    build_scenario,
)
from ivr.sipp.spec import CallSpec, LoadSpec


def _tree(plan: ScenarioPlan) -> ET.Element:
    return ET.fromstring(build_scenario(plan).encode("utf-8"))


def _labels(root: ET.Element) -> set[str]:
    return {el.attrib["id"] for el in root.iter("label")}


def test_scenario_is_valid_xml_with_every_jump_defined() -> None:
    plan = ScenarioPlan(
        "0912345678",
        (Wait(500), SendInfo("5", 250), PlayPcap("/tmp/x.pcap", 1200)),
        hangup_after_ms=2000,
        max_wait_ms=60000,
    )
    root = _tree(plan)
    assert root.tag == "scenario"
    targets = {
        el.attrib[attr] for el in root.iter() for attr in ("next", "ontimeout") if attr in el.attrib
    }
    assert targets <= _labels(root)
    assert {"refused", "remote_bye", "local_bye", "end"} <= _labels(root)


def test_invite_offers_pcmu_and_telephone_event() -> None:
    root = _tree(ScenarioPlan("0912345678", (), 1000, 1000))
    invite = root.find("send")
    assert invite is not None and invite.text is not None
    text = invite.text
    assert text.strip().startswith("INVITE sip:[service]@[remote_ip]:[remote_port] SIP/2.0")
    assert "m=audio [media_port] RTP/AVP 0 101" in text
    assert "a=rtpmap:101 telephone-event/8000" in text
    assert "a=rtpmap:0 PCMU/8000" in text
    assert '"0912345678" <sip:0912345678@' in text
    assert "[peer_tag_param]" not in text  # no To tag on an initial INVITE


def test_refusals_are_acknowledged_in_the_invite_transaction() -> None:
    root = _tree(ScenarioPlan("1", (), 1000, 1000))
    refusals = [el for el in root.iter("recv") if el.attrib.get("next") == "refused"]
    assert [int(el.attrib["response"]) for el in refusals] == list(REFUSAL_CODES)
    assert all(el.attrib["optional"] == "true" for el in refusals)
    children = list(root)
    index = next(i for i, el in enumerate(children) if el.attrib.get("id") == "refused")
    ack = children[index + 1]
    assert ack.tag == "send" and ack.text is not None
    assert "ACK sip:" in ack.text and "[last_Via:]" in ack.text and "CSeq: 1 ACK" in ack.text


def test_every_wait_listens_for_a_remote_bye() -> None:
    root = _tree(ScenarioPlan("1", (Wait(700), PlayPcap("/p.pcap", 900)), 1500, 9000))
    waits = [el for el in root.iter("recv") if el.attrib.get("request") == "BYE"]
    assert [el.attrib["timeout"] for el in waits] == ["700", "900", "1500"]
    assert all(el.attrib["next"] == "remote_bye" for el in waits)
    assert waits[-1].attrib["ontimeout"] == "local_bye"
    plays = [el for el in root.iter("exec") if "play_pcap_audio" in el.attrib]
    assert [el.attrib["play_pcap_audio"] for el in plays] == ["/p.pcap"]


def test_waiting_for_the_far_end_is_bounded_by_max_wait() -> None:
    root = _tree(ScenarioPlan("1", (), None, 45000))
    waits = [el for el in root.iter("recv") if el.attrib.get("request") == "BYE"]
    assert waits[-1].attrib["timeout"] == "45000"


def test_info_dtmf_and_cseq_sequence() -> None:
    root = _tree(ScenarioPlan("1", (SendInfo("5", 250), SendInfo("#", 100)), 1000, 1000))
    sends = [el.text or "" for el in root.iter("send")]
    infos = [t for t in sends if "INFO sip:" in t]
    assert len(infos) == 2
    assert "CSeq: 2 INFO" in infos[0] and "CSeq: 3 INFO" in infos[1]
    assert "Content-Type: application/dtmf-relay" in infos[0]
    assert "Signal=5\nDuration=250" in infos[0]
    assert "Signal=#\nDuration=100" in infos[1]
    assert "[peer_tag_param]" in infos[0]
    bye = next(t for t in sends if "BYE sip:" in t)
    assert "CSeq: 4 BYE" in bye


def _pcap_seconds(path: Path) -> float:
    records = decode_pcap(path.read_bytes())
    return records[-1].time_s - records[0].time_s + 0.02


def test_plan_call_rfc2833_makes_one_pcap_that_goes_on_with_silence(tmp_path: Path) -> None:
    spec = CallSpec(dtmf="12", wait_before_s=0.5, hangup_after_s=2.0)
    plan = plan_call(spec, tmp_path)
    (move,) = plan.moves
    assert isinstance(move, PlayPcap)
    assert Path(move.path) == (tmp_path / "input.pcap").resolve()
    # the move waits for the input only: 0.5 s + 2 x (key 250 ms + 3 end packets + gap 260 ms)
    assert 1500 <= move.duration_ms <= 1800
    # ... while the pcap keeps the caller's RTP flowing until the planned hang-up
    assert _pcap_seconds(Path(move.path)) == pytest.approx(move.duration_ms / 1000 + 2.0, abs=0.03)
    assert plan.hangup_after_ms == 2000


def test_plan_call_info_mode(tmp_path: Path) -> None:
    spec = CallSpec(dtmf="1,2", dtmf_mode="info", wait_before_s=0.2, hangup_after_s=None)
    plan = plan_call(spec, tmp_path)
    background, *rest = plan.moves
    assert rest == [
        Wait(200),
        SendInfo("1", 250),
        Wait(250),
        Wait(1000),
        SendInfo("2", 250),
        Wait(250),
    ]
    # silence from the answer until max_call_s after the keys, started without waiting
    assert isinstance(background, PlayPcap) and background.duration_ms == 0
    assert _pcap_seconds(Path(background.path)) == pytest.approx(
        0.2 + 2 * (0.35 + 0.25) + 1.0 + 120.0, abs=0.05
    )
    packets = [RtpPacket.parse(r.payload) for r in decode_pcap(Path(background.path).read_bytes())]
    assert {p.payload_type for p in packets} == {0}
    assert plan.hangup_after_ms is None
    assert plan.max_wait_ms == 120_000


def test_plan_call_info_mode_speech_is_a_second_stream(tmp_path: Path) -> None:
    wav = tmp_path / "say.wav"
    wav.write_bytes(wav_from_pcm(np.full(1600, 3000, dtype=np.int16)))
    plan = plan_call(CallSpec(dtmf="5", dtmf_mode="info", wav=wav, hangup_after_s=1.0), tmp_path)
    background, speech = (m for m in plan.moves if isinstance(m, PlayPcap))
    assert speech.duration_ms == 300  # 100 ms lead-in + 200 ms of speech
    first = RtpPacket.parse(decode_pcap(Path(background.path).read_bytes())[0].payload)
    second = RtpPacket.parse(decode_pcap(Path(speech.path).read_bytes())[0].payload)
    assert first.ssrc != second.ssrc
    assert abs(first.sequence - second.sequence) > 1000


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"number": "1900 9120"}, "dialled number"),
        ({"dtmf": "1x"}, "position 1"),
        ({"dtmf_mode": "inband"}, "DTMF mode 'inband'"),
        ({"caller_id": "a b"}, "caller id"),
        ({"wait_before_s": -1}, "negative"),
        ({"key_ms": 10}, "key_ms"),
        ({"local_port": 70000}, "local_port"),
    ],
)
def test_call_spec_validation_names_the_field(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ScenarioError, match=message):
        CallSpec(**kwargs)  # type: ignore[arg-type]


def test_load_spec_needs_calls_that_end() -> None:
    with pytest.raises(ScenarioError, match="hangup_after_s"):
        LoadSpec(CallSpec(hangup_after_s=None))
