"""Sans-I/O AMI codec: bytes in, typed messages out; actions in, bytes out. No sockets, no clock.

Shape of h11: `receive_data(bytes)` (``b""`` = end of stream), then `next_event()` until it
returns `NEED_DATA`; `send(action)` returns the bytes to write.

Strategy: bytes are kept *undecoded* in a bytearray until a whole message is framed, and only
then decoded as strict UTF-8, so a character split across two reads (a Vietnamese
``CallerIDName: Nguyễn Văn Ánh`` cut inside "ễ") is never lost or mangled. A message is the
lines up to an empty line. Asterisk writes CRLF (manager.c); the recorded transcripts and some
proxies use bare LF, so the line ending is detected on the first message and kept. The first
line of a connection may be the banner ``Asterisk Call Manager/x.y.z``. ``Response: Follows``
(the ``Command`` action before Asterisk 14) carries free text that may contain empty lines, so
it ends at ``--END COMMAND--`` + an empty line instead. The search for a terminator resumes
where the last one stopped, so feeding a message one byte at a time stays linear.

What happens on bad input (each raises `RemoteProtocolError` from `next_event()`):

* a message with a line that is not ``Name: value``, or with neither ``Response`` nor
  ``Event``: that one message is dropped and the next `next_event()` carries on with the
  next message (the framing is intact, only the content was bad);
* an incomplete message larger than ``max_message_size``: the framing is lost, so the codec
  stays broken and every later call raises; the client drops the connection and reconnects;
* the stream ends inside a message: the partial message is dropped, then `ConnectionClosed`.

A message that is not valid UTF-8 is decoded with U+FFFD replacement characters (visible, never
silently deleted) and counted in `invalid_utf8_messages`; the rest of the message survives.
"""

from __future__ import annotations

import re
from enum import Enum
from typing import Final, Literal, NoReturn

from ivr.ami.errors import LocalProtocolError, RemoteProtocolError
from ivr.ami.events import (
    Action,
    AmiMessage,
    Banner,
    ConnectionClosed,
    Headers,
    Response,
    make_event,
)

__all__ = ["DEFAULT_MAX_MESSAGE_SIZE", "NEED_DATA", "AmiCodec", "NeedData"]

DEFAULT_MAX_MESSAGE_SIZE: Final = 1 << 20  # 1 MiB: far above any real event or list item


class NeedData(Enum):
    """Sentinel type: feed more bytes with `receive_data` before asking again."""

    NEED_DATA = "NEED_DATA"


NEED_DATA: Final = NeedData.NEED_DATA

_BANNER_PREFIX: Final = b"Asterisk Call Manager"
_FOLLOWS_PREFIXES: Final = (b"Response: Follows", b"response: follows", b"RESPONSE: FOLLOWS")
_EMPTY_LINES: Final = (b"\n", b"\r\n")
_END_COMMAND: Final = b"--END COMMAND--"
_END_COMMAND_STR: Final = "--END COMMAND--"
_FOLLOWS_HEADERS: Final = frozenset({"response", "privilege", "actionid", "message"})
_FORBIDDEN_IN_VALUES: Final = ("\r", "\n", "\x00")
# A header line: a name without ':' or line breaks, ':', one optional space, the value (which,
# with CRLF line ends, may hold a bare LF).
_HEADER_LINE_CRLF: Final = re.compile(r"([^:\r\n]+):[ ]?([^\r]*)")
_HEADER_LINE_LF: Final = re.compile(r"([^:\r\n]+):[ ]?([^\r\n]*)")


class AmiCodec:
    """One AMI connection's framing state, client side (we send actions, they send the rest)."""

    def __init__(self, *, max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE) -> None:
        if max_message_size < 64:
            raise ValueError(f"max_message_size must be >= 64 bytes, got {max_message_size}")
        self.max_message_size = max_message_size
        self.invalid_utf8_messages = 0
        self._buf = bytearray()
        self._eof = False
        self._broken: str | None = None
        self._at_start = True  # the banner can only be the first line
        self._eol: bytes | None = None  # b"\r\n" or b"\n", fixed by the first framed message
        self._scan_from = 0  # where the terminator search resumes in _buf

    # -- receiving -------------------------------------------------------------------------

    def receive_data(self, data: bytes) -> None:
        """Add bytes read from the socket; ``b""`` means the peer closed the stream."""
        if self._eof:
            if data:
                raise LocalProtocolError("received data after end of stream (receive_data(b''))")
            return
        if data:
            self._buf += data
        else:
            self._eof = True

    @property
    def broken(self) -> bool:
        """True after an error that lost the framing (the connection must be dropped)."""
        return self._broken is not None

    @property
    def trailing_data(self) -> bytes:
        """Bytes received but not yet framed into a message."""
        return bytes(self._buf)

    def next_event(self) -> AmiMessage | Literal[NeedData.NEED_DATA]:
        """The next complete message, `NEED_DATA`, or `ConnectionClosed` after EOF."""
        if self._broken is not None:
            raise RemoteProtocolError(f"AMI stream unusable after an earlier error: {self._broken}")
        buf = self._buf
        # Stray empty lines between messages carry nothing (seen after Response: Follows).
        while buf.startswith(_EMPTY_LINES):
            del buf[: 1 if buf[0] == 0x0A else 2]
            self._scan_from = 0
        if self._at_start and buf:
            nl = buf.find(b"\n")
            if nl < 0:
                return self._incomplete()
            self._at_start = False
            if buf.startswith(_BANNER_PREFIX):
                line = bytes(buf[:nl]).rstrip(b"\r")
                del buf[: nl + 1]
                self._scan_from = 0
                return Banner(self._decode(line))
        if not buf:
            return self._incomplete()
        follows = buf.startswith(_FOLLOWS_PREFIXES)
        if follows:
            marker = buf.find(_END_COMMAND, max(0, self._scan_from - len(_END_COMMAND)))
            if marker < 0:
                self._scan_from = len(buf)
                return self._incomplete()
            end, term_len = self._find_terminator(marker)
            if end < 0:
                self._scan_from = marker + len(_END_COMMAND)  # the marker is found again
                return self._incomplete()
        else:
            end, term_len = self._find_terminator(self._scan_from)
            if end < 0:
                self._scan_from = max(0, len(buf) - 3)
                return self._incomplete()
        raw = bytes(buf[:end])
        del buf[: end + term_len]
        self._scan_from = 0
        return self._parse(raw, follows)

    def _find_terminator(self, start: int) -> tuple[int, int]:
        """(index of the message end, length of the terminator) or (-1, 0)."""
        buf = self._buf
        eol = self._eol
        if eol == b"\r\n":
            i = buf.find(b"\r\n\r\n", start)
            return (i, 4) if i >= 0 else (-1, 0)
        if eol == b"\n":
            i = buf.find(b"\n\n", start)
            return (i, 2) if i >= 0 else (-1, 0)
        crlf = buf.find(b"\r\n\r\n", start)
        lf = buf.find(b"\n\n", start)
        if crlf >= 0 and (lf < 0 or crlf < lf):
            self._eol = b"\r\n"
            return crlf, 4
        if lf >= 0:
            self._eol = b"\n"
            return lf, 2
        return -1, 0

    def _incomplete(self) -> AmiMessage | Literal[NeedData.NEED_DATA]:
        if len(self._buf) > self.max_message_size:
            self._broken = (
                f"incomplete AMI message exceeds max_message_size={self.max_message_size} bytes "
                f"({len(self._buf)} buffered, starts {bytes(self._buf[:40])!r})"
            )
            self._buf.clear()
            raise RemoteProtocolError(self._broken)
        if not self._eof:
            return NEED_DATA
        if self._buf:
            pending = bytes(self._buf)
            self._buf.clear()
            raise RemoteProtocolError(
                f"AMI connection closed in the middle of a message ({len(pending)} bytes pending, "
                f"starts {pending[:40]!r})"
            )
        return ConnectionClosed()

    def _decode(self, raw: bytes) -> str:
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            # Not silent: U+FFFD marks the bad bytes and the message is counted.
            self.invalid_utf8_messages += 1
            return raw.decode("utf-8", errors="replace")

    def _parse(self, raw: bytes, follows: bool) -> AmiMessage:
        text = self._decode(raw)
        if follows:
            return self._parse_follows(text.split("\r\n" if self._eol == b"\r\n" else "\n"))
        # One C-level pass finds every "Name: value" line; if some line did not match (no
        # colon), the counts differ and the slow path names the bad line.
        if self._eol == b"\r\n":
            items = _HEADER_LINE_CRLF.findall(text)
            if len(items) != text.count("\r\n") + 1:
                self._refuse_lines(text, "\r\n", _HEADER_LINE_CRLF)
        else:
            items = _HEADER_LINE_LF.findall(text)
            if len(items) != text.count("\n") + 1:
                self._refuse_lines(text, "\n", _HEADER_LINE_LF)
        first_key = items[0][0].lower() if items else ""
        headers = Headers(items)
        if first_key == "event":
            return make_event(items[0][1], headers)
        if first_key == "response":
            return Response(items[0][1], headers, headers.get_all("Output"))
        name = headers.get("Event")
        if name is not None:
            return make_event(name, headers)
        status = headers.get("Response")
        if status is not None:
            return Response(status, headers, headers.get_all("Output"))
        raise RemoteProtocolError(
            f"AMI message has neither a Response nor an Event header: starts {text[:60]!r}"
        )

    @staticmethod
    def _refuse_lines(text: str, eol: str, pattern: re.Pattern[str]) -> NoReturn:
        lines = text.split(eol)
        for line in lines:
            if pattern.fullmatch(line) is None:
                raise RemoteProtocolError(
                    f"AMI message line is not 'Name: value': {line[:80]!r} "
                    f"(message starting {lines[0][:60]!r} dropped)"
                )
        raise RemoteProtocolError(f"AMI message has stray CR/LF: starts {text[:60]!r}")

    @staticmethod
    def _parse_follows(lines: list[str]) -> Response:
        items: list[tuple[str, str]] = []
        index = 0
        for index, line in enumerate(lines):  # noqa: B007 - index used after the loop
            key, sep, value = line.partition(":")
            if not sep or key.lower() not in _FOLLOWS_HEADERS:
                break
            items.append((key, value[1:] if value[:1] == " " else value))
        else:
            index = len(lines)
        output = lines[index:]
        if output and output[-1].endswith(_END_COMMAND_STR):
            last = output[-1][: -len(_END_COMMAND_STR)]
            output = [*output[:-1], last] if last else output[:-1]
        headers = Headers(items)
        return Response(headers.get("Response") or "Follows", headers, tuple(output))

    # -- sending ---------------------------------------------------------------------------

    def send(self, action: Action) -> bytes:
        """The wire bytes of `action`; refuses header injection (CR, LF or NUL anywhere)."""
        _check_name(action.name, action.name, "action name")
        parts = [f"Action: {action.name}\r\n"]
        for key, value in action.headers:
            _check_name(action.name, key, "header name")
            if any(c in value for c in _FORBIDDEN_IN_VALUES):
                # Never echo the value: it may be a secret.
                raise LocalProtocolError(
                    f"refusing to send action {action.name}: the value of header {key!r} "
                    "contains CR, LF or NUL (header injection)"
                )
            parts.append(f"{key}: {value}\r\n")
        parts.append("\r\n")
        return "".join(parts).encode("utf-8")


def _check_name(action: str, name: str, what: str) -> None:
    if (
        not name
        or ":" in name
        or name != name.strip()
        or any(c in name for c in _FORBIDDEN_IN_VALUES)
        or any(c.isspace() for c in name)
    ):
        raise LocalProtocolError(
            f"refusing to send action {action[:40]!r}: invalid {what} {name[:40]!r} "
            "(empty, or contains ':', whitespace, CR, LF or NUL)"
        )
