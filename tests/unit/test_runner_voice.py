"""The runner's voice turns against a fake Listener (below the layer under test: the real one is
proven live in tests/integration): what it asks the Listener, how a `Heard` becomes a session
event, and what lands in the call record and the case desk."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from cases.config import load_config
from cases.places import PlaceDirectory
from ivr.ami.errors import ChannelGoneError
from ivr.ports import StepKind
from ivr.runner import render_segments
from ivr.session import CallSession, Number, SessionConfig, Text
from ivr.voice.port import Heard
from speech.intent import IntentRouter, load_intent_data
from tests.unit.session_sim import REPO, menu_flow
from tests.unit.test_runner_commands import ALL_KEYS, Harness, ok

P = "/var/lib/hotline/prompts"


def said(text: str, confidence: float = 0.9, recording: Path | None = None) -> Heard:
    return Heard(text, confidence, "", False, False, 1.5, 0.25, recording)


def keys(digits: str) -> Heard:
    return Heard("", 0.0, digits, True, False, 0.0, 0.0, None)


SILENCE = Heard("", 0.0, "", False, True, 0.0, 0.0, None)


@dataclass
class FakeListener:
    """Answers each turn from a script; records the arguments it got."""

    script: list[Heard | Exception]
    calls: list[dict[str, object]] = field(default_factory=list)

    async def listen(
        self,
        *,
        channel: str,
        uniqueid: str,
        prompts: Sequence[str],
        no_input_s: float = 5.0,
        silence_s: float = 0.8,
        max_speech_s: float = 15.0,
        hints: Sequence[str] = (),
        keep_audio: bool = False,
        max_digits: int = 0,
        terminator: str = "#",
    ) -> Heard:
        self.calls.append(
            {
                "prompts": list(prompts),
                "no_input_s": no_input_s,
                "silence_s": silence_s,
                "max_speech_s": max_speech_s,
                "keep_audio": keep_audio,
                "max_digits": max_digits,
            }
        )
        if not self.script:
            raise ChannelGoneError(channel, "script over: the caller hung up")
        reply = self.script.pop(0)
        if isinstance(reply, Exception):
            raise reply
        return reply


@pytest.fixture(scope="module")
def router() -> IntentRouter:
    places = PlaceDirectory(load_config(REPO / "dialplans" / "province.yaml")).all()
    return IntentRouter(
        load_intent_data(REPO / "dialplans" / "intents.yaml"),
        places=[p.ward_name for p in places],
    )


def voice_harness(
    tmp_path: Path,
    router: IntentRouter,
    script: list[Heard | Exception],
    config: SessionConfig | None = None,
) -> tuple[Harness, FakeListener]:
    h = Harness(tmp_path, [(f"STREAM FILE {P}/welcome {ALL_KEYS}", ok("200 result=0"))])
    listener = FakeListener(script)
    config = config or SessionConfig(voice=True, record_max_s=90, digit_timeout_ms=3000)
    session = CallSession(menu_flow(), "1732.7", config, router)
    h.session = session
    h.runner.session = session
    h.runner.services = type(h.runner.services)(
        dossiers=h.dossiers, cases=h.cases, tts=h.tts, listener=listener
    )
    return h, listener


async def test_spoken_complaint_is_filed_with_place_transcript_and_recording(
    tmp_path: Path, router: IntentRouter
) -> None:
    wav = tmp_path / "recordings" / "1732_7-turn-4.wav"
    h, listener = voice_harness(
        tmp_path,
        router,
        [
            said("tôi muốn phản ánh về rác thải"),
            said("phường bạc liêu"),
            keys("1"),
            said("rác đổ đầy đầu hẻm", 0.8, wav),
            said("đồng ý"),
        ],
    )
    h.ami.script += [
        (f'STREAM FILE {P}/tts/t3 ""', ok("200 result=0")),  # number read back twice
        (f"STREAM FILE {P}/report_after {ALL_KEYS}", ok("200 result=0")),
    ]
    assert await h.run() == "completed"  # hung up in the after-menu, after being served
    (complaint,) = h.cases.filed
    assert complaint.category == "environment"
    assert complaint.place == "Phường Bạc Liêu"
    assert complaint.transcript == "rác đổ đầy đầu hẻm"
    assert complaint.recording == str(wav)
    assert complaint.caller == "0912345678"
    first = listener.calls[0]
    assert first["prompts"] == [f"{P}/main_menu_voice"] and first["max_digits"] == 1
    confirm = listener.calls[2]
    assert confirm["prompts"] == [f"{P}/tts/t1"]  # the place confirmation, synthesised
    assert "Phường Bạc Liêu" in h.tts.texts[0]
    describe = listener.calls[3]
    assert describe["keep_audio"] is True and describe["max_speech_s"] == 90
    assert describe["silence_s"] == 1.5  # a description may pause; short answers end sooner
    assert [listener.calls[i]["silence_s"] for i in (0, 1, 2, 4)] == [0.6] * 4
    summary = listener.calls[4]["prompts"]
    assert summary == [f"{P}/tts/t2", f"{P}/report_confirm_ask"]
    assert h.tts.texts[2].count("bốn tám hai một, ba năm bảy sáu") == 2  # digit by digit, twice
    speech = [s for s in h.recorder.steps if s.kind == StepKind.SPEECH]
    assert len(speech) == 5
    assert speech[0].detail["transcript"] == "tôi muốn phản ánh về rác thải"
    assert speech[0].detail["intent"] == "complaint"
    assert speech[0].detail["category"] == "environment"
    assert speech[0].detail["latency_s"] == "0.25" and speech[0].detail["speech_s"] == "1.50"
    assert speech[2].digits == "1" and speech[2].detail["decision"] == "confirmed"
    assert speech[3].detail["recording"] == wav.name
    cases = [s for s in h.recorder.steps if s.kind == StepKind.CASE]
    assert cases[0].detail["case_reference"] == "48213576"


async def test_outside_hours_a_callback_request_goes_to_the_case_desk(
    tmp_path: Path, router: IntentRouter
) -> None:
    closed = SessionConfig(voice=True, office_open=False, office_hours="từ thứ Hai đến thứ Sáu")
    h, listener = voice_harness(tmp_path, router, [keys("0"), keys("4")], closed)
    h.ami.script += [
        (f"STREAM FILE {P}/tts/t1 {ALL_KEYS}", ok("200 result=0")),  # closed: the hours
        (f'STREAM FILE {P}/tts/t2 ""', ok("200 result=0")),  # call-back request number
        (f'STREAM FILE {P}/goodbye ""', ok("200 result=0")),
    ]
    assert await h.run() == "completed"
    assert [r.caller for r in h.cases.callbacks] == ["0912345678"]
    assert "từ thứ Hai đến thứ Sáu" in h.tts.texts[0]
    assert "năm không không không, không không một bảy" in h.tts.texts[1]
    assert listener.calls[1]["prompts"] == [f"{P}/closed_offer"]
    assert not h.ami.actions  # nobody was put in the queue


async def test_outside_hours_a_key_during_the_hours_is_the_offers_choice(
    tmp_path: Path, router: IntentRouter
) -> None:
    """The hours are long to hear; a caller who knows the offer presses 4 during them."""
    closed = SessionConfig(voice=True, office_open=False, office_hours="từ thứ Hai đến thứ Sáu")
    h, listener = voice_harness(tmp_path, router, [keys("0")], closed)
    h.ami.script += [
        (f"STREAM FILE {P}/tts/t1 {ALL_KEYS}", ok("200 result=52 endpos=8000")),  # "4"
        (f'STREAM FILE {P}/tts/t2 ""', ok("200 result=0")),  # call-back request number
        (f'STREAM FILE {P}/goodbye ""', ok("200 result=0")),
    ]
    assert await h.run() == "completed"
    assert [r.caller for r in h.cases.callbacks] == ["0912345678"]
    assert len(listener.calls) == 1  # the offer was never played: the key answered it


async def test_hang_up_during_a_turn_ends_the_call(tmp_path: Path, router: IntentRouter) -> None:
    h, _ = voice_harness(tmp_path, router, [ChannelGoneError("x", "gone")])
    assert await h.run() == "abandoned"
    assert h.recorder.ended[0].outcome == "abandoned"


async def test_silence_then_goodbye_over_the_listener(tmp_path: Path, router: IntentRouter) -> None:
    h, listener = voice_harness(tmp_path, router, [SILENCE] * 4)
    h.ami.script += [(f'STREAM FILE {P}/goodbye_failures ""', ok("200 result=0"))]
    assert await h.run() == "completed"
    assert [c["prompts"] for c in listener.calls[1:]] == [
        [f"{P}/voice_no_input", f"{P}/main_menu_voice"]
    ] * 3
    assert [c["no_input_s"] for c in listener.calls] == [3.0] * 4  # settings.digit_timeout_ms


async def test_a_voice_turn_without_a_listener_is_a_controller_error(
    tmp_path: Path, router: IntentRouter
) -> None:
    h, _ = voice_harness(tmp_path, router, [])
    h.runner.services = type(h.runner.services)(dossiers=h.dossiers, cases=h.cases, tts=h.tts)
    assert await h.run() == "error"
    assert "no Listener is wired" in h.recorder.ended[0].cause


def test_southern_readings() -> None:
    segments = (Text("Số "), Number(105), Text(", "), Number(2000))
    assert render_segments(segments) == "Số một trăm linh năm, hai nghìn"
    assert render_segments(segments, southern=True) == "Số một trăm lẻ năm, hai ngàn"
