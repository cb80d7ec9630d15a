"""The voice port: what a call flow needs to hear the caller (issue 5, item 1).

`Listener.listen()` plays prompts with barge-in (speech or a key stops them), streams the caller's
audio into recognition in the speech worker pool (never on the event loop), decides the end of
the utterance by endpointing, and returns a `Heard`. It raises `ivr.ami.errors.ChannelGoneError`
when the caller hangs up. What to do with a `Heard` belongs to the flows (`ivr.session`), not here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol


@dataclass(frozen=True, slots=True)
class Heard:
    """What one listening turn got from the caller."""

    transcript: str  # NFC; "" when nothing was said
    confidence: float  # 0..1 from the recogniser (0 when no speech)
    digits: str  # keys pressed during the turn (barge-in by key), "" if none
    barged_in: bool  # the caller spoke or pressed a key before the prompts ended
    no_input: bool  # neither speech nor keys before the no-input timeout
    speech_s: float  # length of the caller's speech
    latency_s: float  # end of the caller's speech -> transcript ready
    recording: Path | None  # host path of the caller's audio (8 kHz WAV) when keep_audio


class Listener(Protocol):
    """Plays prompts with barge-in and hears the caller's answer (speech or keys)."""

    async def listen(
        self,
        *,
        channel: str,
        uniqueid: str,
        prompts: Sequence[str],  # Asterisk prompt paths (as runner plays them), in order
        no_input_s: float = 5.0,
        silence_s: float = 0.8,
        max_speech_s: float = 15.0,
        hints: Sequence[str] = (),  # vocabulary bias for the recogniser
        keep_audio: bool = False,  # keep the caller audio as a WAV (complaint descriptions)
        max_digits: int = 0,
        terminator: str = "#",  # keypad answers allowed in the same turn
    ) -> Heard: ...
