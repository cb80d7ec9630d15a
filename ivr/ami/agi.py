"""AGI replies: parse what an AGI command answered, and the AsyncAGI environment.

Strategy: AsyncAGI over AMI carries the AGI reply URL-encoded in ``AsyncAGIExec``'s ``Result``
header (``200%20result%3D0%20endpos%3D242214%0A``) and the channel's ``agi_*`` variables
URL-encoded in ``AsyncAGIStart``'s ``Env`` header (recorded from Asterisk 22.10.1, see
tests/protocol/transcripts/). We decode strictly (``%`` escapes to UTF-8; an invalid escape is
an error, not a silent loss) and then parse the classic AGI reply grammar (res_agi.c):

* ``200 result=<r> [(<data>)] [key=value ...]`` - success; ``<r>`` is kept as text because
  GET DATA returns the digits as typed (``0123``, ``12*``) and may be empty on timeout
  (``200 result= (timeout)``); ``<data>`` is e.g. ``timeout`` or a GET VARIABLE value.
* ``510 Invalid or unknown command``
* ``511 Command Not Permitted on a dead channel or intercept routine`` - the channel is gone.
* ``520-Invalid command syntax.  Proper usage follows:`` + usage lines + ``520 End of proper
  usage.`` - multi-line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import unquote

from ivr.ami.errors import RemoteProtocolError

__all__ = ["AgiResult", "decode_agi_result", "parse_agi_env", "parse_agi_result"]

_RESULT_RE = re.compile(
    r"^(?P<code>\d{3}) result=(?P<result>\S*)(?: \((?P<data>.*)\))?"
    r"(?P<extras>(?: [\w-]+=\S*)*)\s*$",
    re.DOTALL,
)
_CODE_RE = re.compile(r"^(?P<code>\d{3})[ -](?P<message>.*)$", re.DOTALL)


@dataclass(frozen=True, slots=True)
class AgiResult:
    """One AGI reply. `result`/`data`/`extras` are set for 200 replies only."""

    code: int
    raw: str
    result: str | None = None
    data: str | None = None
    extras: dict[str, str] = field(default_factory=dict, hash=False)
    message: str = ""

    @property
    def ok(self) -> bool:
        return self.code == 200

    @property
    def channel_dead(self) -> bool:
        """511: the command was refused because the channel is dead (hung up)."""
        return self.code == 511

    @property
    def value(self) -> int | None:
        """`result` as an integer (``-1`` for failure/hang-up), None if it is not a number."""
        if self.result is None:
            return None
        try:
            return int(self.result)
        except ValueError:
            return None

    @property
    def timed_out(self) -> bool:
        return self.data == "timeout"

    @property
    def digit(self) -> str | None:
        """For WAIT FOR DIGIT / STREAM FILE: the key pressed (result is its ASCII code)."""
        value = self.value
        return chr(value) if value is not None and value > 0 else None

    @property
    def endpos(self) -> int | None:
        raw = self.extras.get("endpos")
        return int(raw) if raw is not None and raw.isdigit() else None


def decode_agi_result(encoded: str) -> str:
    """URL-decode an ``AsyncAGIExec`` ``Result`` header (strict UTF-8)."""
    try:
        return unquote(encoded, errors="strict")
    except UnicodeDecodeError as exc:
        raise RemoteProtocolError(
            f"AGI result is not valid UTF-8 once decoded: {encoded!r}"
        ) from exc


def parse_agi_result(text: str) -> AgiResult:
    """Parse an AGI reply, already URL-decoded (``200 result=1 (timeout)``, ``510 ...``)."""
    raw = text.rstrip("\r\n")
    if not raw:
        raise RemoteProtocolError("AGI reply is empty")
    match = _RESULT_RE.match(raw)
    if match is not None:
        extras: dict[str, str] = {}
        for pair in match.group("extras").split():
            key, _, value = pair.partition("=")
            extras[key] = value
        return AgiResult(
            code=int(match.group("code")),
            raw=raw,
            result=match.group("result"),
            data=match.group("data"),
            extras=extras,
        )
    lines = raw.replace("\r\n", "\n").split("\n")
    head = _CODE_RE.match(lines[0])
    if head is None:
        raise RemoteProtocolError(f"AGI reply does not start with a 3-digit code: {raw[:80]!r}")
    message = head.group("message").strip()
    if len(lines) > 1:
        # 520-style: "520-Invalid command syntax.  Proper usage follows:" ... "520 End of ..."
        message = "\n".join([message, *lines[1:]])
    return AgiResult(code=int(head.group("code")), raw=raw, message=message)


def parse_agi_env(encoded: str) -> dict[str, str]:
    """Decode ``AsyncAGIStart``'s ``Env`` into ``{"agi_channel": "PJSIP/...", ...}``."""
    try:
        text = unquote(encoded, errors="strict")
    except UnicodeDecodeError as exc:
        raise RemoteProtocolError("AsyncAGIStart Env is not valid UTF-8 once decoded") from exc
    env: dict[str, str] = {}
    for line in text.split("\n"):
        if not line:
            continue
        key, sep, value = line.partition(":")
        if not sep:
            raise RemoteProtocolError(f"AsyncAGIStart Env line without a colon: {line[:80]!r}")
        env[key.strip()] = value[1:] if value.startswith(" ") else value
    return env
