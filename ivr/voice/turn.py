"""One listening turn as a pure state machine: prompts, barge-in, keys, endpointing.

No asyncio, sockets or clocks: the listener hands each 20 ms frame of caller audio, each key,
and "the prompts have finished"; the turn answers with what to do (stop the prompt, end the
turn) and keeps the caller's utterance audio for recognition.

Strategy: the clock is the caller's own audio (each inbound frame carries its duration), as in
``speech.asr.endpoint``. While prompts play, the no-input timer is held off (the endpointer's
``no_input_s`` is pushed out to "prompt end + no_input_s" when the prompts end); speech onset
(``SPEECH_STARTED``) during a prompt is a barge-in. Once a key is pressed the turn is a keypad
turn: speech is ignored and keys are collected up to ``max_digits`` or the terminator, with
``no_input_s`` between keys. A pre-roll of caller audio before the detected onset is kept, so
the first syllable (heard before the VAD is sure) reaches the recogniser.
"""

from __future__ import annotations

import logging
from collections import deque
from dataclasses import dataclass, replace
from enum import StrEnum

import numpy as np

from speech.asr.endpoint import EndpointConfig, Endpointer, EndpointEvent, EndpointState, EnergyVad

log = logging.getLogger(__name__)

RATE = 8000
FRAME_S = 0.02
FAR_FUTURE_S = 1e9


class TurnState(StrEnum):
    PROMPTING = "prompting"
    LISTENING = "listening"
    KEYS = "keys"
    DONE = "done"


class EndReason(StrEnum):
    SPEECH = "speech"  # end of utterance by trailing silence
    MAX_SPEECH = "max-speech"
    NO_INPUT = "no-input"
    DIGITS = "digits"  # keypad answer complete (max digits, terminator, or a single key)
    DIGIT_TIMEOUT = "digit-timeout"  # keys stopped coming


class TurnEvent(StrEnum):
    BARGED_IN = "barged-in"  # stop the prompt now
    ENDED = "ended"  # stop everything; see `Turn.reason`


@dataclass(frozen=True, slots=True)
class TurnConfig:
    no_input_s: float = 5.0
    silence_s: float = 0.8
    max_speech_s: float = 15.0
    max_digits: int = 0  # 0: one key ends the turn (a menu choice)
    terminator: str = "#"
    preroll_s: float = 0.3
    min_speech_s: float = 0.12


class Turn:
    """What happened so far in one turn; fed by the listener."""

    def __init__(self, config: TurnConfig, *, prompting: bool = True) -> None:
        self.config = config
        self.vad = EnergyVad()
        self.endpointer = Endpointer(
            EndpointConfig(
                trailing_silence_s=config.silence_s,
                max_speech_s=config.max_speech_s,
                no_input_s=FAR_FUTURE_S if prompting else config.no_input_s,
                min_speech_s=config.min_speech_s,
            )
        )
        self.state = TurnState.PROMPTING if prompting else TurnState.LISTENING
        self.reason: EndReason | None = None
        self.barged_in = False
        self.digits = ""
        self.audio_s = 0.0  # caller audio received
        self.last_speech_s = 0.0  # audio time at the end of the last speech frame
        self.last_frame_speech = False
        self.pause_s = 0.0  # current run of silence while speaking
        self._keys_idle_s = 0.0
        self._spoke = False
        self._preroll: deque[bytes] = deque(maxlen=max(1, round(config.preroll_s / FRAME_S)))
        self._utterance = bytearray()

    # -- inputs --------------------------------------------------------------------------------
    def prompts_finished(self) -> None:
        """The last prompt has been played out in full (not stopped by a barge-in)."""
        if self.state is TurnState.PROMPTING:
            self._set_state(TurnState.LISTENING)
            cfg = self.endpointer.config
            self.endpointer.config = replace(
                cfg, no_input_s=self.endpointer.elapsed_s + self.config.no_input_s
            )

    def audio(self, pcm: bytes) -> TurnEvent | None:
        """One frame of caller audio (s16le 8 kHz mono, normally 20 ms)."""
        if self.state is TurnState.DONE or not pcm:
            return None
        samples = np.frombuffer(pcm, dtype="<i2")
        duration = len(samples) / RATE
        self.audio_s += duration
        if self.state is TurnState.KEYS:
            self._keys_idle_s += duration
            if self._keys_idle_s >= self.config.no_input_s:
                return self._end(EndReason.DIGIT_TIMEOUT)
            return None
        speech = self.vad.is_speech(samples)
        self.last_frame_speech = speech
        if speech:
            self.last_speech_s = self.audio_s
        was_speaking = self.endpointer.state is EndpointState.SPEAKING
        event = self.endpointer.feed(speech, duration)
        if was_speaking or event is EndpointEvent.SPEECH_STARTED:
            self.pause_s = 0.0 if speech else self.pause_s + duration
        if self.endpointer.state is EndpointState.WAITING:
            self._preroll.append(pcm)
        elif event is EndpointEvent.SPEECH_STARTED:
            self._utterance += b"".join(self._preroll) + pcm
            self._preroll.clear()
        elif was_speaking:
            self._utterance += pcm
        return self._on_endpoint(event)

    def _on_endpoint(self, event: EndpointEvent | None) -> TurnEvent | None:
        if event is None:
            return None
        if event is EndpointEvent.SPEECH_STARTED:
            self._spoke = True
            if self.state is TurnState.PROMPTING:
                self.barged_in = True
                self._set_state(TurnState.LISTENING)
                return TurnEvent.BARGED_IN
            return None
        if event is EndpointEvent.NO_INPUT:
            return self._end(EndReason.NO_INPUT)
        if event is EndpointEvent.MAX_LENGTH:
            return self._end(EndReason.MAX_SPEECH)
        return self._end(EndReason.SPEECH)

    def key(self, digit: str) -> TurnEvent | None:
        """A key pressed by the caller (DTMF)."""
        if self.state is TurnState.DONE:
            return None
        first = self.state is not TurnState.KEYS
        barge = self.state is TurnState.PROMPTING
        if first:
            self.barged_in = self.barged_in or barge
            self._set_state(TurnState.KEYS)
            self._utterance.clear()  # a keypad answer: whatever was said is not the answer
        self._keys_idle_s = 0.0
        cfg = self.config
        if digit == cfg.terminator and cfg.max_digits > 0:
            return self._end(EndReason.DIGITS)
        self.digits += digit
        if cfg.max_digits <= 1 or len(self.digits) >= cfg.max_digits:
            return self._end(EndReason.DIGITS)
        return TurnEvent.BARGED_IN if barge else None

    def tick(self, seconds: float) -> TurnEvent | None:
        """Time passed with no caller audio (the RTP stream paused): only timeouts advance."""
        if self.state is TurnState.DONE:
            return None
        if self.state is TurnState.KEYS:
            self._keys_idle_s += seconds
            if self._keys_idle_s >= self.config.no_input_s:
                return self._end(EndReason.DIGIT_TIMEOUT)
            return None
        # no frames is silence: a caller's line that stops sending audio has stopped talking
        if self.endpointer.state is EndpointState.SPEAKING:
            self.pause_s += seconds
        return self._on_endpoint(self.endpointer.feed(False, seconds))

    # -- outputs -------------------------------------------------------------------------------
    @property
    def heard_speech(self) -> bool:
        return self._spoke and not self.digits

    @property
    def speech_s(self) -> float:
        return self.endpointer.speech_s if self.heard_speech else 0.0

    @property
    def utterance_samples(self) -> int:
        return len(self._utterance) // 2

    @property
    def utterance(self) -> bytes:
        """The caller's utterance so far (pre-roll included), s16le 8 kHz."""
        return bytes(self._utterance)

    def _end(self, reason: EndReason) -> TurnEvent:
        self.reason = reason
        self._set_state(TurnState.DONE)
        return TurnEvent.ENDED

    def _set_state(self, state: TurnState) -> None:
        log.debug("turn %s -> %s", self.state, state)
        self.state = state
