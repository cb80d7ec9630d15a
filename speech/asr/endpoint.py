"""Endpointing: has the caller started, finished, or talked too long? Pure counters.

Nothing here reads a clock. The live call hands each 20 ms frame (or just its duration and a
speech/non-speech decision) and the counters say what happened, like Home Assistant's
``assist_pipeline/vad.py`` counting silence from the ``chunk_seconds`` it is given.

- ``EnergyVad`` decides speech per frame from its RMS level against an adaptive noise floor
  (telephone lines hiss; a fixed threshold alone would either miss soft speech or hear noise).
- ``Endpointer`` turns decisions and durations into events: ``SPEECH_STARTED`` once enough
  consecutive speech was heard, ``END_OF_SPEECH`` after ``trailing_silence_s`` of silence that
  follows speech, ``MAX_LENGTH`` once ``max_speech_s`` of utterance have passed, and ``NO_INPUT``
  if nobody spoke for ``no_input_s``. After a final event the endpointer is done.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from speech.audio import Int16Array, frame_dbfs


class EndpointEvent(StrEnum):
    SPEECH_STARTED = "speech-started"
    END_OF_SPEECH = "end-of-speech"
    MAX_LENGTH = "max-length"
    NO_INPUT = "no-input"

    @property
    def is_final(self) -> bool:
        return self is not EndpointEvent.SPEECH_STARTED


class EndpointState(StrEnum):
    WAITING = "waiting"  # no speech yet
    SPEAKING = "speaking"
    DONE = "done"


@dataclass(frozen=True)
class EndpointConfig:
    """Limits of one utterance (all in seconds)."""

    trailing_silence_s: float = 0.8
    max_speech_s: float = 15.0
    no_input_s: float = 5.0
    min_speech_s: float = 0.1  # consecutive speech before we believe it (clicks, DTMF blips)

    def __post_init__(self) -> None:
        for name in ("trailing_silence_s", "max_speech_s", "no_input_s", "min_speech_s"):
            if getattr(self, name) <= 0:
                raise ValueError(
                    f"EndpointConfig.{name} must be positive, got {getattr(self, name)}"
                )


_EPS = 1e-9  # 0.02 added five times is 0.09999999999999999: compare with a tolerance


class Endpointer:
    """Counts speech and silence durations; returns at most one final event."""

    def __init__(self, config: EndpointConfig | None = None) -> None:
        self.config = config or EndpointConfig()
        self.state = EndpointState.WAITING
        self.elapsed_s = 0.0  # since the stream opened
        self.speech_s = 0.0  # since speech started (speech and pauses)
        self._run_s = 0.0  # current run of consecutive speech while waiting
        self._silence_s = 0.0  # current run of silence while speaking

    def feed(self, is_speech: bool, duration_s: float) -> EndpointEvent | None:
        if duration_s < 0:
            raise ValueError(f"frame duration must not be negative, got {duration_s}")
        if self.state is EndpointState.DONE:
            return None
        cfg = self.config
        self.elapsed_s += duration_s
        if self.state is EndpointState.WAITING:
            self._run_s = self._run_s + duration_s if is_speech else 0.0
            if self._run_s + _EPS >= cfg.min_speech_s:
                self.state = EndpointState.SPEAKING
                self.speech_s = self._run_s
                return EndpointEvent.SPEECH_STARTED
            if self.elapsed_s + _EPS >= cfg.no_input_s:
                self.state = EndpointState.DONE
                return EndpointEvent.NO_INPUT
            return None
        self.speech_s += duration_s
        self._silence_s = 0.0 if is_speech else self._silence_s + duration_s
        if self._silence_s + _EPS >= cfg.trailing_silence_s:
            self.state = EndpointState.DONE
            return EndpointEvent.END_OF_SPEECH
        if self.speech_s + _EPS >= cfg.max_speech_s:
            self.state = EndpointState.DONE
            return EndpointEvent.MAX_LENGTH
        return None


class EnergyVad:
    """Speech if a frame is above ``min_dbfs`` and ``margin_db`` above the running noise floor.

    The floor follows quiet frames quickly (down) and loud ones slowly (up), so a long sentence
    does not raise it enough to cut the speaker off.
    """

    def __init__(
        self,
        *,
        min_dbfs: float = -45.0,
        margin_db: float = 12.0,
        initial_floor_dbfs: float = -60.0,
        rise_db_per_frame: float = 0.1,
    ) -> None:
        self.min_dbfs = min_dbfs
        self.margin_db = margin_db
        self.floor_dbfs = initial_floor_dbfs
        self._rise = rise_db_per_frame

    def is_speech(self, frame: Int16Array) -> bool:
        level = frame_dbfs(frame)
        speech = level >= self.min_dbfs and level >= self.floor_dbfs + self.margin_db
        if level < self.floor_dbfs:
            self.floor_dbfs = level
        elif not speech:
            self.floor_dbfs = min(level, self.floor_dbfs + 1.0)
        else:
            self.floor_dbfs += self._rise
        return speech
