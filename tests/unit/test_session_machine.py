"""The session machine's rules one by one: illegal events, silence counted from elapsed time,
codes without '#', shutdown, hang-ups."""

from __future__ import annotations

import logging

import pytest

from ivr.flows import Flow
from ivr.ports import Outcome, StepKind
from ivr.session import (
    CallAnswered,
    CallerHungUp,
    CallSession,
    DigitPressed,
    DigitTimeout,
    Hangup,
    IllegalEventError,
    LookupDossier,
    Mark,
    Play,
    PlaybackFinished,
    RecordingFinished,
    ShutdownRequested,
    State,
    WaitDigit,
)
from tests.unit.session_sim import menu_flow


@pytest.fixture(scope="module")
def flow() -> Flow:
    return menu_flow()


def at_main_wait(flow: Flow) -> CallSession:
    s = CallSession(flow, "1.1")
    s.step(CallAnswered())
    s.step(PlaybackFinished())  # welcome
    s.step(PlaybackFinished())  # main_menu
    assert s.state is State.WAITING_DIGIT and s.node_id == "main"
    return s


def test_illegal_event_names_call_state_and_node(flow: Flow) -> None:
    s = at_main_wait(flow)
    with pytest.raises(IllegalEventError) as info:
        s.step(RecordingFinished("x", 10))
    assert str(info.value) == (
        "call 1.1: cannot handle RecordingFinished while the session is WAITING_DIGIT "
        "at node 'main'"
    )


def test_state_changes_are_logged(flow: Flow, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG, logger="ivr.session.machine"):
        at_main_wait(flow)
    assert "call 1.1: idle -> playing" in caplog.text
    assert "playing -> waiting_digit" in caplog.text


def test_silence_is_counted_from_elapsed_time(flow: Flow) -> None:
    s = at_main_wait(flow)
    assert s.step(DigitTimeout(2000)) == [WaitDigit(3000)]  # 5000 ms budget, 2000 spent
    assert s.step(DigitTimeout(2500)) == [WaitDigit(500)]
    out = s.step(DigitTimeout(500))
    assert out[0] == Mark(StepKind.NO_INPUT, node="main", detail={"silence_ms": "5000"})
    assert out[-1] == Play("menu_no_input", "0123456789*#")


def test_code_without_hash_is_taken_after_the_timeout(flow: Flow) -> None:
    s = at_main_wait(flow)
    s.step(DigitPressed("1"))  # -> dossier_code prompt
    s.step(DigitPressed("7"))  # typed during the prompt
    assert s.state is State.WAITING_DIGIT
    s.step(DigitPressed("7"))
    out = s.step(DigitTimeout(5000))
    assert out[-1] == LookupDossier("77")
    assert s.state.value == "requesting"


def test_hash_alone_is_no_input_and_star_is_ignored(flow: Flow) -> None:
    s = at_main_wait(flow)
    s.step(DigitPressed("1"))
    s.step(PlaybackFinished())
    assert s.step(DigitPressed("*")) == [WaitDigit(5000)]
    out = s.step(DigitPressed("#"))
    assert out[0].kind is StepKind.NO_INPUT  # type: ignore[union-attr]
    assert out[-1] == Play("dossier_code_no_input", "0123456789*#")


def test_shutdown_says_goodbye_then_hangs_up(flow: Flow) -> None:
    s = at_main_wait(flow)
    out = s.step(ShutdownRequested())
    assert out[-1] == Play("shutdown_goodbye")
    assert s.step(PlaybackFinished()) == [Hangup(Outcome.COMPLETED, "controller shutdown")]
    assert s.ended and s.outcome is Outcome.COMPLETED
    assert s.step(CallerHungUp()) == []  # the hang-up that follows is expected


def test_caller_hangup_during_goodbye_keeps_completed(flow: Flow) -> None:
    s = at_main_wait(flow)
    s.step(ShutdownRequested())
    s.step(CallerHungUp("16"))
    assert s.outcome is Outcome.ABANDONED  # they left before we finished: abandoned


def test_events_after_the_end_are_illegal(flow: Flow) -> None:
    s = at_main_wait(flow)
    s.step(CallerHungUp())
    with pytest.raises(IllegalEventError, match="ENDED"):
        s.step(PlaybackFinished())


def test_an_option_not_built_yet_says_so_and_returns_to_the_menu() -> None:
    from pathlib import Path

    from ivr.flows import load_prompts, parse_flow

    prompts = load_prompts(Path(__file__).resolve().parents[2] / "dialplans" / "prompts.yaml")
    data = {
        "start": "main",
        "nodes": {
            "main": {
                "type": "menu",
                "prompt": "main_menu",
                "on_failure": "bye",
                "choices": {"4": "not_built"},
            },
            "not_built": {"type": "play", "prompts": ["not_available"], "next": "main"},
            "bye": {"type": "hangup", "prompt": "goodbye"},
        },
    }
    flow = parse_flow(data, prompts, source=Path("test.yaml"))
    s = CallSession(flow, "2.2")
    s.step(CallAnswered())
    out = s.step(DigitPressed("4"))  # during the menu prompt
    assert out[-1] == Play("not_available")
    assert "chưa được cung cấp" in flow.prompts["not_available"]
    out = s.step(PlaybackFinished())
    assert out[-1] == Play("main_menu", "0123456789*#") and s.node_id == "main"


def test_a_lost_call_is_an_error(flow: Flow) -> None:
    from ivr.session import CallLost

    s = at_main_wait(flow)
    assert s.step(CallLost("Asterisk died")) == []
    assert s.ended and s.outcome is Outcome.ERROR and s.end_reason == "Asterisk died"
