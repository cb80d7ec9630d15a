"""The pure listening turn (ivr.voice.turn): barge-in by voice and key, endpointing, keypad
answers, no input — fed 20 ms frames, no clock."""

from __future__ import annotations

import numpy as np

from ivr.voice.turn import EndReason, Turn, TurnConfig, TurnEvent, TurnState

RNG = np.random.default_rng(7)


def speech(ms: int = 20) -> bytes:
    n = 8 * ms
    t = np.arange(n) / 8000
    return (4000 * np.sin(2 * np.pi * 300 * t) + RNG.normal(0, 200, n)).astype("<i2").tobytes()


def quiet(ms: int = 20) -> bytes:
    return RNG.normal(0, 8, 8 * ms).astype("<i2").tobytes()


def feed(turn: Turn, frame: bytes, count: int) -> list[TurnEvent]:
    return [e for _ in range(count) if (e := turn.audio(frame)) is not None]


def test_speech_during_the_prompt_barges_in_then_ends_by_silence() -> None:
    turn = Turn(TurnConfig(silence_s=0.5))
    assert feed(turn, quiet(), 50) == []  # 1 s of line noise while the prompt plays
    events = feed(turn, speech(), 10)
    assert events == [TurnEvent.BARGED_IN] and turn.barged_in
    assert turn.state is TurnState.LISTENING
    assert feed(turn, speech(), 90) == []  # 2 s of speech in all
    assert feed(turn, quiet(), 30) == [TurnEvent.ENDED]
    assert turn.reason is EndReason.SPEECH
    # 0.2 s of noise before the onset (the pre-roll is 0.3 s) + 2 s of speech + the 0.5 s pause
    assert abs(len(turn.utterance) / 16000 - 2.7) < 0.03
    assert abs(turn.speech_s - 2.5) < 0.03  # speech + pause, counted from the onset


def test_no_input_counts_from_the_end_of_the_prompts() -> None:
    turn = Turn(TurnConfig(no_input_s=2.0))
    assert feed(turn, quiet(), 250) == []  # 5 s of prompt: no timeout while it plays
    turn.prompts_finished()
    assert feed(turn, quiet(), 99) == []
    assert feed(turn, quiet(), 1) == [TurnEvent.ENDED]
    assert turn.reason is EndReason.NO_INPUT and not turn.heard_speech and turn.speech_s == 0


def test_a_silent_line_times_out_by_ticks() -> None:
    turn = Turn(TurnConfig(no_input_s=1.0), prompting=False)
    assert [turn.tick(0.25) for _ in range(3)] == [None, None, None]
    assert turn.tick(0.25) is TurnEvent.ENDED and turn.reason is EndReason.NO_INPUT


def test_a_line_that_stops_sending_after_speech_ends_the_utterance() -> None:
    turn = Turn(TurnConfig(silence_s=0.5), prompting=False)
    feed(turn, speech(), 50)
    assert turn.tick(0.25) is None
    assert turn.tick(0.25) is TurnEvent.ENDED and turn.reason is EndReason.SPEECH


def test_max_speech() -> None:
    turn = Turn(TurnConfig(max_speech_s=1.0), prompting=False)
    assert feed(turn, speech(), 60) == [TurnEvent.ENDED]
    assert turn.reason is EndReason.MAX_SPEECH


def test_one_key_ends_a_menu_turn_and_is_a_barge_in() -> None:
    turn = Turn(TurnConfig())
    feed(turn, quiet(), 10)
    assert turn.key("2") is TurnEvent.ENDED
    assert (turn.digits, turn.barged_in, turn.reason) == ("2", True, EndReason.DIGITS)
    assert turn.audio(speech()) is None  # done: nothing more counts


def test_keys_up_to_the_terminator_and_speech_is_ignored_meanwhile() -> None:
    turn = Turn(TurnConfig(max_digits=10, no_input_s=3.0))
    assert turn.key("1") is TurnEvent.BARGED_IN
    assert feed(turn, speech(), 50) == []  # talking while typing: the keys are the answer
    assert turn.key("2") is None
    assert turn.key("#") is TurnEvent.ENDED
    assert (turn.digits, turn.reason, turn.utterance, turn.heard_speech) == (
        "12",
        EndReason.DIGITS,
        b"",
        False,
    )


def test_keys_stop_at_max_digits_or_time_out() -> None:
    full = Turn(TurnConfig(max_digits=3), prompting=False)
    assert [full.key(d) for d in "123"] == [None, None, TurnEvent.ENDED]
    assert full.digits == "123" and not full.barged_in
    slow = Turn(TurnConfig(max_digits=6, no_input_s=1.0), prompting=False)
    slow.key("4")
    assert feed(slow, quiet(), 50) == [TurnEvent.ENDED]
    assert (slow.digits, slow.reason) == ("4", EndReason.DIGIT_TIMEOUT)
