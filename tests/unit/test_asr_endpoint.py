"""speech.asr endpointing: the pure counters (no clock), the energy VAD, and Utterance over a
fake recognition stream (the engine is below the layer under test)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pytest

from speech.asr import (
    AsrResult,
    EndpointConfig,
    Endpointer,
    EndpointEvent,
    EndpointState,
    EnergyVad,
    Utterance,
)
from speech.errors import AsrStreamError

FRAME = 0.02


def run(endpointer: Endpointer, pattern: str) -> list[tuple[int, EndpointEvent]]:
    """Feed 20 ms frames: 'S' speech, '.' silence; return (frame index, event) pairs."""
    events = []
    for i, ch in enumerate(pattern):
        event = endpointer.feed(ch == "S", FRAME)
        if event is not None:
            events.append((i, event))
    return events


def test_speech_then_trailing_silence_ends_the_utterance() -> None:
    ep = Endpointer(EndpointConfig(trailing_silence_s=0.3, min_speech_s=0.1))
    # 5 frames (0.1 s) of speech start it; a 0.2 s pause does not end it; 0.3 s of silence does
    events = run(ep, "..SSSSS" + "S" * 10 + ".........." + "SSS" + "." * 20)
    assert events == [(6, EndpointEvent.SPEECH_STARTED), (44, EndpointEvent.END_OF_SPEECH)]
    assert ep.state is EndpointState.DONE
    assert ep.feed(True, FRAME) is None  # done: no more events


def test_short_blips_do_not_start_speech_and_no_input_fires() -> None:
    ep = Endpointer(EndpointConfig(no_input_s=1.0, min_speech_s=0.1))
    events = run(ep, "SS..SSS." * 10)  # clicks of 40-60 ms never make 100 ms of speech
    assert events == [(49, EndpointEvent.NO_INPUT)]
    assert ep.elapsed_s == pytest.approx(1.0)


def test_max_length_cuts_a_caller_who_never_pauses() -> None:
    ep = Endpointer(EndpointConfig(max_speech_s=1.0, min_speech_s=0.1))
    events = run(ep, "S" * 100)
    assert events == [(4, EndpointEvent.SPEECH_STARTED), (49, EndpointEvent.MAX_LENGTH)]


def test_durations_not_frame_counts_drive_the_counter() -> None:
    ep = Endpointer(EndpointConfig(trailing_silence_s=0.8, min_speech_s=0.1))
    assert ep.feed(True, 0.5) is EndpointEvent.SPEECH_STARTED  # one long chunk of speech
    assert ep.feed(False, 0.5) is None
    assert ep.feed(False, 0.3) is EndpointEvent.END_OF_SPEECH


def test_bad_config_and_negative_duration_are_refused() -> None:
    with pytest.raises(ValueError, match="trailing_silence_s must be positive"):
        EndpointConfig(trailing_silence_s=0)
    with pytest.raises(ValueError, match="negative"):
        Endpointer().feed(True, -0.02)


def _noise(level: float, n: int = 160, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.clip(rng.normal(0, level, n), -32768, 32767).astype(np.int16)


def test_energy_vad_adapts_to_line_noise() -> None:
    vad = EnergyVad(min_dbfs=-45, margin_db=12)
    hiss = [_noise(150, seed=i) for i in range(50)]  # about -47 dBFS of hiss
    assert not any(vad.is_speech(f) for f in hiss)
    assert vad.is_speech(_noise(3000))  # about -21 dBFS: speech
    assert not vad.is_speech(np.zeros(160, dtype=np.int16))


@dataclass
class FakeStream:
    """Implements speech.asr.RecognitionStream; records the bytes it was fed."""

    fed: list[bytes] = field(default_factory=list)
    finished: int = 0

    def accept(self, pcm: bytes) -> AsrResult | None:
        self.fed.append(pcm)
        return (
            AsrResult(f"{len(self.fed)}", 0.0, False, "fake") if len(self.fed) % 10 == 0 else None
        )

    def finish(self) -> AsrResult:
        self.finished += 1
        return AsrResult("xin chào", 0.9, True, "fake", len(self.fed) * FRAME)


def test_utterance_finalises_once_on_endpoint() -> None:
    stream = FakeStream()
    utt = Utterance(stream, endpoint=EndpointConfig(trailing_silence_s=0.2, min_speech_s=0.04))
    loud, quiet = _noise(4000).tobytes(), np.zeros(160, dtype=np.int16).tobytes()
    updates = [utt.feed(loud) for _ in range(20)] + [utt.feed(quiet) for _ in range(10)]
    events = [u.event for u in updates if u.event]
    assert events == [EndpointEvent.SPEECH_STARTED, EndpointEvent.END_OF_SPEECH]
    finals = [u.final for u in updates if u.final]
    assert [f.text for f in finals] == ["xin chào"]
    assert [u.partial.text for u in updates if u.partial] == ["10", "20", "30"]
    assert stream.finished == 1 and utt.done and utt.final_event is EndpointEvent.END_OF_SPEECH
    assert len(stream.fed) == 30  # 20 + 10 frames, the last silence frame included
    with pytest.raises(AsrStreamError, match="already ended \\(end-of-speech\\)") as info:
        utt.feed(quiet)
    assert info.value.code == "asr-stream-failed"
    assert utt.close().text == "xin chào" and stream.finished == 1


def test_utterance_refuses_odd_frames() -> None:
    with pytest.raises(AsrStreamError, match="even length"):
        Utterance(FakeStream()).feed(b"\x00\x01\x02")
