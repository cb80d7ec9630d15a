"""Voice calls through the real dialplans/menu.yaml and the real intent router, no event loop.

The caller speaks (`say:` tokens of `ivr.session.simulate`) or presses keys in `Listen` turns;
the session machine routes transcripts with `speech.intent.IntentRouter` over the province's
wards (`cases.places`). Each flow is snapshotted in tests/unit/snapshots/voice_<name>.txt
(HOTLINE_UPDATE_SNAPSHOTS=1 rewrites them).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from cases.config import load_config
from cases.places import PlaceDirectory
from ivr.flows import ActionOutcome, Flow
from ivr.ports import Outcome
from ivr.session import (
    CallAnswered,
    CallResumed,
    CallSession,
    Command,
    CreateCase,
    Event,
    IllegalEventError,
    Listen,
    LookupCase,
    LookupDossier,
    PlaybackFinished,
    RequestCallback,
    ServiceReplied,
    SessionConfig,
    SessionError,
    ShutdownRequested,
    TurnHeard,
)
from speech.intent import IntentRouter, load_intent_data
from tests.unit.session_sim import REPO, Caller, check_snapshot, menu_flow, run_call

DOSSIER_FOUND = ServiceReplied(
    ActionOutcome.FOUND,
    {
        "dossier_procedure": "Cấp giấy phép xây dựng nhà ở riêng lẻ",
        "dossier_status": "đang được giải quyết",
        "dossier_step": "Phòng Quản lý đô thị thẩm định",
        "dossier_due": date(2026, 12, 3),
        "dossier_overdue": False,
        "dossier_needs_papers": True,
    },
)
CASE_CREATED = ServiceReplied(ActionOutcome.CREATED, {"case_reference": "48213576"})
CASE_FOUND = ServiceReplied(
    ActionOutcome.FOUND,
    {
        "case_reference": "48213576",
        "case_category": "Môi trường",
        "case_status": "đang xử lý",
        "case_updated": "",
        "case_resolution": "",
    },
)
CALLBACK = ServiceReplied(ActionOutcome.CREATED, {"case_reference": "50000017"})
SERVICES = {
    LookupDossier: DOSSIER_FOUND,
    CreateCase: CASE_CREATED,
    LookupCase: CASE_FOUND,
    RequestCallback: CALLBACK,
}
VOICE = SessionConfig(voice=True, office_hours="từ thứ Hai đến thứ Sáu")
DESCRIPTION = "rác thải đổ đầy đầu hẻm ba tuần nay không ai dọn"


@pytest.fixture(scope="module")
def flow() -> Flow:
    return menu_flow()


@pytest.fixture(scope="module")
def router() -> IntentRouter:
    places = PlaceDirectory(load_config(REPO / "dialplans" / "province.yaml")).all()
    data = load_intent_data(REPO / "dialplans" / "intents.yaml")
    return IntentRouter(data, places=[p.ward_name for p in places])


def voice_call(
    flow: Flow,
    router: IntentRouter,
    script: list[str],
    config: SessionConfig = VOICE,
    **caller: object,
) -> tuple[CallSession, list[str]]:
    session = CallSession(flow, "1732540000.77", config, router)
    services: dict[type, ServiceReplied] = dict(SERVICES)
    services.update(caller.pop("services", {}))  # type: ignore[call-overload]
    lines = run_call(session, Caller(script, services=services, **caller))  # type: ignore[arg-type]
    return session, lines


def listens(lines: list[str]) -> list[str]:
    return [ln.strip() for ln in lines if ln.strip().startswith("listen [")]


def test_complaint_category_from_first_utterance(flow: Flow, router: IntentRouter) -> None:
    session, lines = voice_call(
        flow,
        router,
        [
            "say:tôi muốn phản ánh về rác thải",
            "say:ở phường hiệp thành",
            "say:đúng rồi",
            f"say:{DESCRIPTION}",
            "say:đồng ý",
            "hangup",
        ],
    )
    check_snapshot("voice_complaint_first_utterance", lines)
    assert not any("report_category_voice" in ln for ln in listens(lines))
    assert "    · note report_category_voice already=environment" in lines
    create = [ln.strip() for ln in lines if "create case" in ln]
    assert create == [
        "create case category=environment recording=/recordings/turn-4.wav "
        f'place=Phường Hiệp Thành description="{DESCRIPTION}"'
    ]
    summary = next(ln for ln in lines if "Quý vị phản ánh về" in ln)
    assert "môi trường" in summary and "Phường Hiệp Thành" in summary and DESCRIPTION in summary
    readback = next(ln for ln in lines if "Mã số phản ánh" in ln)
    assert readback.count("<digits 48213576>") == 2
    assert session.outcome is Outcome.COMPLETED
    speech = [ln for ln in lines if ln.startswith("    · speech ")]
    assert len(speech) == 5
    assert "intent=complaint" in speech[0] and "category=environment" in speech[0]
    assert "transcript=tôi muốn phản ánh về rác thải" in speech[0]
    assert "decision=confirm" in speech[1] and "place=Phường Hiệp Thành" in speech[1]


def test_complaint_category_asked_and_keys_at_confirmation(
    flow: Flow, router: IntentRouter
) -> None:
    _session, lines = voice_call(
        flow,
        router,
        [
            "say:tôi muốn phản ánh",
            "say:giao thông",
            "say:phường bạc liêu",
            "1",
            "say:đèn giao thông ở ngã tư bị hỏng",
            "1",
            "hangup",
        ],
    )
    check_snapshot("voice_complaint_category_asked", lines)
    assert any("listen [play report_category_voice]" in ln for ln in listens(lines))
    assert any("category=traffic" in ln and "place=Phường Bạc Liêu" in ln for ln in lines)


def test_complaint_place_denied_then_skipped(flow: Flow, router: IntentRouter) -> None:
    _session, lines = voice_call(
        flow,
        router,
        [
            "2",  # key during the voice menu
            "1",  # environment by key
            "say:phường giá rai",
            "say:không phải",
            "say:tôi không nhớ",
            "say:có người đốt rác",
            "2",  # say it again
            "say:có người đốt rác gần chợ",
            "say:đồng ý",
            "hangup",
        ],
    )
    check_snapshot("voice_complaint_place_denied", lines)
    create = next(ln for ln in lines if "create case" in ln)
    assert "place=" not in create and 'description="có người đốt rác gần chợ"' in create
    assert "    · note report_place keypad_fallback=report_describe no_matches=2" in lines


def test_dossier_code_spoken(flow: Flow, router: IntentRouter) -> None:
    _session, lines = voice_call(
        flow, router, ["say:tra cứu hồ sơ", "say:không không không một hai ba", "hangup"]
    )
    check_snapshot("voice_dossier_spoken", lines)
    assert "    lookup dossier 000123" in lines
    say = next(ln for ln in lines if ln.startswith("    say ") and "Tình trạng" in ln)
    assert "<date 2026-12-03>" in say and "bổ sung giấy tờ" in say


def test_dossier_code_keyed_during_the_menu(flow: Flow, router: IntentRouter) -> None:
    _session, lines = voice_call(flow, router, ["~1", "000123#", "hangup"])
    check_snapshot("voice_dossier_keys", lines)
    assert "    lookup dossier 000123" in lines
    assert "    · digits dossier_voice digits=000123" in lines


def test_dossier_invalid_and_not_found_are_told_apart(flow: Flow, router: IntentRouter) -> None:
    replies = iter([ServiceReplied(ActionOutcome.INVALID), ServiceReplied(ActionOutcome.NOT_FOUND)])

    class Seq(dict[type, ServiceReplied]):
        def __getitem__(self, key: type) -> ServiceReplied:
            return next(replies)

    session = CallSession(flow, "c2", VOICE, router)
    script = ["1", "12#", "say:chín chín chín", "hangup"]
    lines = run_call(session, Caller(script, services=Seq()))
    check_snapshot("voice_dossier_invalid_not_found", lines)
    i = lines.index("    play dossier_invalid")
    j = lines.index("    play dossier_not_found")
    assert i < j


def test_case_status_spoken(flow: Flow, router: IntentRouter) -> None:
    _session, lines = voice_call(
        flow, router, ["say:kết quả phản ánh", "say:bốn tám hai một ba năm bảy sáu", "hangup"]
    )
    check_snapshot("voice_case_status", lines)
    assert "    lookup case 48213576" in lines


def test_low_confidence_is_confirmed(flow: Flow, router: IntentRouter) -> None:
    _session, lines = voice_call(flow, router, ["say:hồ sơ", "say:vâng", "42#", "hangup"])
    check_snapshot("voice_confirm_yes", lines)
    confirm = next(ln for ln in listens(lines) if "Có phải Quý vị muốn" in ln)
    assert "muốn tra cứu hồ sơ không" in confirm and "expect yes/no" in confirm
    assert "    lookup dossier 42" in lines


def test_unsure_recognition_is_confirmed_and_a_no_reasks(flow: Flow, router: IntentRouter) -> None:
    _session, lines = voice_call(
        flow, router, ["say:tra cứu hồ sơ@0.2", "say:không", "3", "48213576", "hangup"]
    )
    check_snapshot("voice_confirm_no", lines)
    assert any("decision=confirm" in ln and "asr_confidence=0.20" in ln for ln in lines)
    assert any("decision=denied" in ln for ln in lines)
    assert "    lookup case 48213576" in lines


def test_nonsense_twice_falls_back_to_the_keypad_then_ends_politely(
    flow: Flow, router: IntentRouter
) -> None:
    session, lines = voice_call(
        flow, router, ["say:con mèo nhà tôi màu vàng", "say:hôm nay trời đẹp quá"]
    )
    check_snapshot("voice_nonsense", lines)
    assert "    · note voice_main keypad_fallback=main no_matches=2" in lines
    assert "    play main_menu [keys 0123456789*#]" in lines
    assert lines[-4:-1] == [
        "    play goodbye_failures",
        "> playback finished",
        "    hang up: completed (flow goodbye_failures)",
    ]
    assert session.outcome is Outcome.COMPLETED


def test_silence_is_asked_again_then_goodbye(flow: Flow, router: IntentRouter) -> None:
    session, lines = voice_call(flow, router, [])
    check_snapshot("voice_silence", lines)
    assert sum("play main_menu_voice" in ln for ln in listens(lines)) == 4
    assert sum("play voice_no_input" in ln for ln in listens(lines)) == 3
    assert lines[-2] == "    hang up: completed (flow goodbye_failures)"
    assert session.outcome is Outcome.COMPLETED


def test_goodbye_by_voice(flow: Flow, router: IntentRouter) -> None:
    _session, lines = voice_call(flow, router, ["say:thôi cảm ơn, tạm biệt"])
    check_snapshot("voice_goodbye", lines)
    assert lines[-2] == "    hang up: completed (flow goodbye)"


def test_agent_outside_office_hours_offers_a_callback(flow: Flow, router: IntentRouter) -> None:
    closed = SessionConfig(voice=True, office_open=False, office_hours="từ thứ Hai đến thứ Sáu")
    session, lines = voice_call(flow, router, ["say:cho tôi gặp điện thoại viên", "4"], closed)
    check_snapshot("voice_agent_closed_callback", lines)
    assert not any("transfer to queue" in ln for ln in lines)
    said = next(ln for ln in lines if "ngoài giờ làm việc" in ln)
    assert "từ thứ Hai đến thứ Sáu" in said
    assert "    request a call-back" in lines
    assert any("<digits 50000017>" in ln for ln in lines)
    assert session.outcome is Outcome.COMPLETED


def test_agent_busy_offers_complaint_by_voice(flow: Flow, router: IntentRouter) -> None:
    _session, lines = voice_call(
        flow, router, ["0", "say:tôi muốn để lại phản ánh về tiếng ồn", "hangup"]
    )
    check_snapshot("voice_agent_busy", lines)
    assert any("listen [play transfer_busy_voice]" in ln for ln in listens(lines))
    assert "    · note report_category_voice already=environment" in lines  # noise: environment


def test_agent_busy_callback_by_key(flow: Flow, router: IntentRouter) -> None:
    _session, lines = voice_call(flow, router, ["0", "3"])
    check_snapshot("voice_agent_busy_callback", lines)
    assert "    request a call-back" in lines


def test_without_voice_ask_nodes_are_their_keypad_twins(flow: Flow) -> None:
    session = CallSession(flow, "k1", SessionConfig())
    lines = run_call(session, Caller(["2", "1", "hangup"], services=dict(SERVICES)))
    assert not listens(lines)
    assert "    · node report_record" in lines  # category -> (place, describe) -> record


def test_voice_needs_a_router(flow: Flow) -> None:
    with pytest.raises(SessionError, match="no intent router"):
        CallSession(flow, "v0", SessionConfig(voice=True))


def test_a_heard_turn_outside_an_ask_is_illegal(flow: Flow, router: IntentRouter) -> None:
    session = CallSession(flow, "v1", VOICE, router)
    session.step(CallAnswered())
    with pytest.raises(IllegalEventError, match="PLAYING"):
        session.step(TurnHeard(transcript="a"))


def test_listen_commands_carry_the_node_settings(flow: Flow, router: IntentRouter) -> None:
    session = CallSession(flow, "v2", SessionConfig(voice=True, record_max_s=90), router)
    caller = Caller(["say:tôi muốn phản ánh về rác thải", "say:phường bạc liêu", "1"])
    commands: list[Command] = []
    original = caller.respond

    def spy(cmd: Command) -> list[Event]:
        commands.append(cmd)
        return original(cmd)

    caller.respond = spy  # type: ignore[method-assign]
    run_call(session, caller)
    turns = [c for c in commands if isinstance(c, Listen)]
    first, describe = turns[0], next(t for t in turns if t.keep_audio)
    assert first.max_digits == 1 and "complaint" in first.expect and not first.keep_audio
    assert describe.max_speech_s == 90 and describe.max_digits == 0


def test_description_kept_without_transcript_is_still_filed(
    flow: Flow, router: IntentRouter
) -> None:
    session = CallSession(flow, "v3", VOICE, router)
    session.slots.update({"category": "other"})
    session.step(CallAnswered())
    session.node_id = "report_describe"
    commands = session._enter("report_describe")
    assert isinstance(commands[-1], Listen) and commands[-1].keep_audio
    out = session.step(TurnHeard(speech_s=6.0, recording="/rec/x.wav"))
    assert session.slots["description"] == "" and session.slots["recording"] == "/rec/x.wav"
    assert isinstance(out[-1], Listen)  # the confirmation turn
    assert Path(str(session.slots["recording"])).name == "x.wav"


def test_keys_outside_the_choices_and_short_codes_are_no_matches(
    flow: Flow, router: IntentRouter
) -> None:
    _session, lines = voice_call(flow, router, ["7", "8", "9", "hangup"])
    assert "    · note voice_main keypad_fallback=main no_matches=2" in lines
    _session, lines = voice_call(flow, router, ["3", "123456789#", "#", "hangup"])
    assert "    · no_match case_voice digits=123456789#" in lines  # more than 8 digits
    assert "    · no_match case_voice digits=#" in lines  # nothing before '#'
    assert "    · note case_voice keypad_fallback=case_code no_matches=2" in lines


def test_a_confirmation_by_key_2_or_nonsense_asks_again(flow: Flow, router: IntentRouter) -> None:
    _session, lines = voice_call(
        flow, router, ["say:hồ sơ", "2", "say:hồ sơ", "say:con mèo", "hangup"]
    )
    decisions = [ln.split("decision=")[1].split()[0] for ln in lines if "decision=" in ln]
    assert decisions == ["confirm", "denied", "confirm", "unclear"]
    assert "    · note voice_main keypad_fallback=main no_matches=2" in lines


def test_category_heard_unsurely_is_confirmed_with_its_label(
    flow: Flow, router: IntentRouter
) -> None:
    _session, lines = voice_call(
        flow, router, ["say:phản ánh", "say:giao thông@0.2", "1", "hangup"]
    )
    confirm = next(ln for ln in lines if "muốn phản ánh về" in ln)
    assert "muốn phản ánh về giao thông không" in confirm
    assert "    · node report_place" in lines


def test_silent_description_goes_to_report_empty_after_retries(
    flow: Flow, router: IntentRouter
) -> None:
    _session, lines = voice_call(flow, router, ["2", "1", ".", ".", ".", ".", ".", ".", "."])
    i = lines.index("    · node report_describe")
    assert "    · node report_empty" in lines[i:]
    assert not any("create case" in ln for ln in lines)


def test_silence_transfers_once_when_configured(flow: Flow, router: IntentRouter) -> None:
    config = SessionConfig(voice=True, transfer_after_failures=True)
    _session, lines = voice_call(flow, router, [], config)
    assert "    · note voice_main failures=4 to=agent_hours" in lines
    assert sum("transfer to queue" in ln for ln in lines) == 1


def test_resumed_voice_call_apologises_in_the_same_turn(flow: Flow, router: IntentRouter) -> None:
    session = CallSession(flow, "v5", VOICE, router)
    lines = run_call(session, Caller(["hangup"]), first=CallResumed())
    assert any(
        ln.startswith("    listen [play reconnect_apology, play main_menu_voice]") for ln in lines
    )


def test_a_key_typed_during_the_welcome_answers_the_voice_menu(
    flow: Flow, router: IntentRouter
) -> None:
    _session, lines = voice_call(flow, router, ["~3", "48213576", "hangup"])
    assert "    · digits voice_main digits=3" in lines
    assert "    lookup case 48213576" in lines


def test_shutdown_while_listening_says_goodbye(flow: Flow, router: IntentRouter) -> None:
    session = CallSession(flow, "v6", VOICE, router)
    session.step(CallAnswered())
    out = session.step(PlaybackFinished())
    assert isinstance(out[-1], Listen)
    out = session.step(ShutdownRequested())
    assert any(getattr(c, "prompt", "") == "shutdown_goodbye" for c in out)


def test_a_second_complaint_in_the_same_call_is_asked_its_category(
    flow: Flow, router: IntentRouter
) -> None:
    first = [
        "say:tôi muốn phản ánh về rác thải",
        "say:không biết",
        "say:không nhớ",
        f"say:{DESCRIPTION}",
        "say:đồng ý",
        "9",  # back to the menu after the read-back
    ]
    _session, lines = voice_call(flow, router, [*first, "say:tôi muốn phản ánh", "hangup"])
    i = max(n for n, ln in enumerate(lines) if "node voice_main" in ln)
    assert any("listen [play report_category_voice]" in ln for ln in lines[i:])


def test_after_a_read_back_repeat_then_goodbye_by_voice(flow: Flow, router: IntentRouter) -> None:
    session, lines = voice_call(
        flow,
        router,
        ["say:kết quả phản ánh", "48213576#", "say:nhắc lại giúp tôi", "say:cảm ơn, tạm biệt"],
    )
    check_snapshot("voice_case_repeat_goodbye", lines)
    says = [ln for ln in lines if ln.startswith("    say ") and "Phản ánh mã số" in ln]
    assert len(says) == 2  # read back, then again on "nhắc lại"
    assert lines[-2] == "    hang up: completed (flow goodbye)"
    assert session.outcome is Outcome.COMPLETED


def test_the_place_turn_gets_the_wards_as_recogniser_hints(
    flow: Flow, router: IntentRouter
) -> None:
    config = SessionConfig(voice=True, place_hints=("Phường Bạc Liêu", "Xã Hòa Bình"))
    session = CallSession(flow, "v7", config, router)
    session.step(CallAnswered())
    session.step(PlaybackFinished())
    out = session.step(TurnHeard(transcript="tôi muốn phản ánh về rác thải", confidence=0.9))
    place_turn = out[-1]
    assert isinstance(place_turn, Listen) and place_turn.audio[0].prompt == "report_place_ask"  # type: ignore[union-attr]
    assert place_turn.hints[-2:] == ("Phường Bạc Liêu", "Xã Hòa Bình")
    main = session.flow.nodes["voice_main"]
    assert "Phường Bạc Liêu" not in getattr(main, "hints", ())
