"""What a test call should do (`CallSpec`) and what a load run should do (`LoadSpec`).

Timeline of one call placed from a `CallSpec`::

    INVITE ── 200 OK ── ACK ──┬─ wait_before_s ─┬─ keys (and gaps) ─┬─ speech (wav) ─┐
                              │                                                      │
                              └──────────────── input phase ─────────────────────────┘
        then: hangup_after_s later we send BYE; or, if hangup_after_s is None, we wait for
        the far end's BYE (at most max_call_s from the answer, then we send BYE ourselves).

With a `script` (`ivr.sipp.script`: Pause, Keys, Speech in any order) the input phase is
wait_before_s then the script's steps, all in the one RTP stream, instead of keys then speech.

A BYE from the far end at any point ends the call and is answered with 200 OK.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from ivr.sipp.errors import ScenarioError
from ivr.sipp.media import DEFAULT_GAP_MS, DEFAULT_KEY_MS, PAUSE_CHAR
from ivr.sipp.rtp import DTMF_EVENTS
from ivr.sipp.script import Step

_NUMBER = re.compile(r"^[0-9*#+]{1,32}$")
_CALLER = re.compile(r"^[0-9A-Za-z+*#_.\-\[\]]{1,48}$")


class DtmfMode(StrEnum):
    """How key presses travel: RTP telephone-events (RFC 4733, ex-2833) or SIP INFO."""

    RFC2833 = "rfc2833"
    INFO = "info"


def _check_keys(keys: str) -> None:
    for index, char in enumerate(keys):
        if char != PAUSE_CHAR and char.upper() not in DTMF_EVENTS:
            raise ScenarioError(
                f"key {char!r} at position {index} of {keys!r} is not 0-9 * # A-D or ','"
            )


@dataclass(frozen=True, slots=True)
class CallSpec:
    """One call into the PBX, placed by sipp (contract 4).

    `dtmf` is a key string: ``"1"``, ``"2,1#"`` (``,`` = one second pause). `wav` is the caller's
    speech (any PCM WAV; converted to 8 kHz μ-law), sent after the keys. `local_port=0` and
    `media_port=0` pick free ports, so calls can run side by side. `record_to`, when set,
    receives a WAV of the audio the PBX sent back (captured on loopback; needs root).
    `script` (a sequence of `Pause`/`Keys`/`Speech`, kept as a tuple) replaces `dtmf` and `wav`
    when keys and speech must interleave; it needs RFC 4733 keys (they ride the RTP stream).
    """

    sip_host: str = "127.0.0.1"
    sip_port: int = 5060
    number: str = "19009120"
    dtmf: str = ""
    dtmf_mode: DtmfMode | str = DtmfMode.RFC2833
    wav: Path | None = None
    wait_before_s: float = 1.0
    hangup_after_s: float | None = 3.0
    local_port: int = 0
    caller_id: str = "0912345678"
    key_ms: int = DEFAULT_KEY_MS
    gap_ms: int = DEFAULT_GAP_MS
    media_port: int = 0
    max_call_s: float = 120.0
    log_dir: Path | None = None
    record_to: Path | None = None
    script: Sequence[Step] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "script", tuple(self.script))
        if self.script and (self.dtmf or self.wav is not None):
            raise ScenarioError("a call has either a script or dtmf/wav, not both")
        if self.script and DtmfMode(self.dtmf_mode) is not DtmfMode.RFC2833:
            raise ScenarioError(
                f"a script needs dtmf_mode rfc2833 (keys ride its RTP stream), not {self.dtmf_mode}"
            )
        if not _NUMBER.match(self.number):
            raise ScenarioError(f"dialled number {self.number!r} is not 1-32 of 0-9 * # +")
        if not _CALLER.match(self.caller_id):
            raise ScenarioError(f"caller id {self.caller_id!r} is not a SIP user part we send")
        try:
            DtmfMode(self.dtmf_mode)
        except ValueError:
            raise ScenarioError(
                f"DTMF mode {self.dtmf_mode!r} is not one of rfc2833, info"
            ) from None
        _check_keys(self.dtmf)
        if self.wait_before_s < 0:
            raise ScenarioError(f"wait_before_s {self.wait_before_s} is negative")
        if self.hangup_after_s is not None and self.hangup_after_s < 0:
            raise ScenarioError(f"hangup_after_s {self.hangup_after_s} is negative")
        if self.max_call_s <= 0:
            raise ScenarioError(f"max_call_s {self.max_call_s} must be positive")
        if not 40 <= self.key_ms <= 5000:
            raise ScenarioError(f"key_ms {self.key_ms} is outside 40..5000 ms")
        if not 0 <= self.gap_ms <= 5000:
            raise ScenarioError(f"gap_ms {self.gap_ms} is outside 0..5000 ms")
        for name, port in (
            ("sip_port", self.sip_port),
            ("local_port", self.local_port),
            ("media_port", self.media_port),
        ):
            if not 0 <= port <= 65535:
                raise ScenarioError(f"{name} {port} is not a UDP port")

    @property
    def mode(self) -> DtmfMode:
        return DtmfMode(self.dtmf_mode)


@dataclass(frozen=True, slots=True)
class LoadSpec:
    """Many identical calls at a fixed rate (sipp -r/-m/-l), for benchmarks."""

    call: CallSpec
    calls: int = 300
    rate_per_s: float = 10.0
    max_concurrent: int = 500

    def __post_init__(self) -> None:
        if self.calls < 1:
            raise ScenarioError(f"load run of {self.calls} calls: need at least 1")
        if self.rate_per_s <= 0:
            raise ScenarioError(f"call rate {self.rate_per_s}/s must be positive")
        if self.call.hangup_after_s is None:
            raise ScenarioError("a load run needs hangup_after_s (calls must end on their own)")
