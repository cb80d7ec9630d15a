"""``Utterance``: a recognition stream plus endpointing — the unit a live call listens with.

Feed 20 ms frames of 8 kHz s16 audio; each ``feed`` returns an ``UtteranceUpdate`` with the
engine's partial result (if any), the endpoint event (if any), and — once an endpoint is final —
the final result. The utterance then refuses more audio. ``close()`` ends it early (the caller
hung up, or pressed a key) and returns the final result too.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from speech.asr.base import AsrResult, RecognitionStream
from speech.asr.endpoint import EndpointConfig, Endpointer, EndpointEvent, EnergyVad
from speech.audio import PHONE_RATE
from speech.errors import AsrStreamError


@dataclass(frozen=True)
class UtteranceUpdate:
    partial: AsrResult | None = None
    event: EndpointEvent | None = None
    final: AsrResult | None = None


class Utterance:
    """One caller utterance: stream + energy VAD + endpointer."""

    def __init__(
        self,
        stream: RecognitionStream,
        *,
        rate: int = PHONE_RATE,
        endpoint: EndpointConfig | None = None,
        vad: EnergyVad | None = None,
    ) -> None:
        self._stream = stream
        self._rate = rate
        self.endpointer = Endpointer(endpoint)
        self._vad = vad or EnergyVad()
        self.final: AsrResult | None = None
        self.final_event: EndpointEvent | None = None

    @property
    def done(self) -> bool:
        return self.final is not None

    def feed(self, pcm: bytes) -> UtteranceUpdate:
        if self.final is not None:
            raise AsrStreamError(
                f"utterance already ended ({self.final_event or 'closed'}); open a new one"
            )
        if len(pcm) % 2:
            raise AsrStreamError(f"a frame of s16 audio has an even length, got {len(pcm)} bytes")
        samples = np.frombuffer(pcm, dtype="<i2").astype(np.int16)
        event = self.endpointer.feed(self._vad.is_speech(samples), len(samples) / self._rate)
        partial = self._stream.accept(pcm)
        if event is not None and event.is_final:
            self.final_event = event
            self.final = self._stream.finish()
            return UtteranceUpdate(partial=partial, event=event, final=self.final)
        return UtteranceUpdate(partial=partial, event=event)

    def close(self) -> AsrResult:
        if self.final is None:
            self.final = self._stream.finish()
        return self.final
