"""A call as a timeline (`CallSpec.script`): pauses, key presses and speech, in order.

Pure: the script's steps become `ivr.sipp.media` segments, which `runner` lays on the call's one
continuous RTP stream (μ-law frames, RFC 4733 events for keys). So a caller can speak, wait,
press a key to confirm, speak again, as a person on the phone would::

    CallSpec(script=[Pause(3.0), Speech(wav), Pause(4.0), Keys("1"), Pause(2.5), Speech(wav2)])
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ivr.sipp import media
from ivr.sipp.errors import MediaError, ScenarioError
from ivr.sipp.media import DEFAULT_GAP_MS, DEFAULT_KEY_MS, PAUSE_CHAR
from ivr.sipp.rtp import DTMF_EVENTS


@dataclass(frozen=True, slots=True)
class Pause:
    """The caller is silent (μ-law silence keeps flowing) for `seconds`."""

    seconds: float

    def __post_init__(self) -> None:
        if not self.seconds >= 0:
            raise ScenarioError(f"pause of {self.seconds} s is negative")


@dataclass(frozen=True, slots=True)
class Keys:
    """Key presses such as ``"1"`` or ``"0912,34#"`` (``,`` = one second of silence)."""

    keys: str
    key_ms: int = DEFAULT_KEY_MS
    gap_ms: int = DEFAULT_GAP_MS

    def __post_init__(self) -> None:
        for index, char in enumerate(self.keys):
            if char != PAUSE_CHAR and char.upper() not in DTMF_EVENTS:
                raise ScenarioError(
                    f"key {char!r} at position {index} of {self.keys!r} is not 0-9 * # A-D or ','"
                )
        if not 40 <= self.key_ms <= 5000:
            raise ScenarioError(f"key_ms {self.key_ms} is outside 40..5000 ms")
        if not 0 <= self.gap_ms <= 5000:
            raise ScenarioError(f"gap_ms {self.gap_ms} is outside 0..5000 ms")


@dataclass(frozen=True, slots=True)
class Speech:
    """The caller speaks the PCM WAV at `wav` (any rate; sent as 8 kHz μ-law)."""

    wav: Path


Step = Pause | Keys | Speech


def script_keys(script: Sequence[Step]) -> str:
    """Every key the far end should receive, in order."""
    return "".join(media.keys_only(step.keys) for step in script if isinstance(step, Keys))


def script_segments(script: Sequence[Step]) -> list[media.Segment]:
    """The media segments of a script, in order (reads the speech WAVs)."""
    segments: list[media.Segment] = []
    for step in script:
        if isinstance(step, Pause):
            if step.seconds > 0:
                segments.append(media.Silence(round(step.seconds * 1000)))
        elif isinstance(step, Keys):
            segments += media.parse_keys(step.keys, key_ms=step.key_ms, gap_ms=step.gap_ms)
        else:
            try:
                data = step.wav.read_bytes()
            except OSError as exc:
                raise MediaError(f"caller speech {step.wav} cannot be read: {exc}") from exc
            segments.append(media.Speech(media.pcm_from_wav(data)))
    return segments


__all__ = ["Keys", "Pause", "Speech", "Step", "script_keys", "script_segments"]
