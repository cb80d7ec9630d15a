"""Typed messages of the Asterisk Manager Interface: what the codec yields and what it sends.

Everything here is a frozen value with no I/O and no correlation state (ActionID -> Future
lives in `ivr.ami.client`, never in a message object). Header lookup is case-insensitive and
keeps every repeated header (``ChanVariable``, ``Output``, ``Variable``) in wire order.

* `Banner` - the ``Asterisk Call Manager/x.y.z`` greeting line.
* `Response` - the answer to an action (``Response: Success|Error|Follows|Goodbye``).
* `Event` - an event; the known ones get a subclass with typed accessors (`AsyncAGIExec`,
  `Hangup`, ...), an unknown one stays a plain `Event` with all its headers, never dropped.
* `ConnectionClosed` - the peer closed the stream cleanly between messages.
* `Action` - what we send (``Action: Name`` + headers).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass

from ivr.ami.agi import decode_agi_result, parse_agi_env

__all__ = [
    "EVENT_TYPES",
    "Action",
    "AmiMessage",
    "AsyncAGIEnd",
    "AsyncAGIExec",
    "AsyncAGIStart",
    "Banner",
    "ConnectionClosed",
    "CoreShowChannel",
    "CoreShowChannelsComplete",
    "DTMFBegin",
    "DTMFEnd",
    "Event",
    "FullyBooted",
    "Hangup",
    "Headers",
    "Newchannel",
    "Newstate",
    "OriginateResponse",
    "Response",
    "Shutdown",
    "VarSet",
    "make_event",
]


class Headers:
    """Immutable, ordered AMI headers; lookup by name is case-insensitive, repeats are kept.

    The case-folded index is built on the first lookup, not when a message is parsed: most
    events are only looked at by name and one or two headers, many not at all."""

    __slots__ = ("_first", "_items")

    def __init__(self, items: Iterable[tuple[str, str]]) -> None:
        self._items: tuple[tuple[str, str], ...] = tuple(items)
        self._first: dict[str, str] | None = None

    def _index(self) -> dict[str, str]:
        # reversed: when a header repeats, the first value is the one left in the dict
        first = {key.lower(): value for key, value in reversed(self._items)}
        self._first = first
        return first

    def get(self, name: str, default: str | None = None) -> str | None:
        """The first value of header `name` (any case), or `default`."""
        return (self._first or self._index()).get(name.lower(), default)

    def get_all(self, name: str) -> tuple[str, ...]:
        """Every value of header `name` (any case), in wire order."""
        lname = name.lower()
        if lname not in (self._first or self._index()):
            return ()
        return tuple([v for k, v in self._items if k.lower() == lname])

    def __getitem__(self, name: str) -> str:
        try:
            return (self._first or self._index())[name.lower()]
        except KeyError:
            raise KeyError(name) from None

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in (self._first or self._index())

    def items(self) -> tuple[tuple[str, str], ...]:
        """All (name, value) pairs as on the wire, repeats included."""
        return self._items

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Headers):
            return self._items == other._items
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._items)

    def __repr__(self) -> str:
        return f"Headers({list(self._items)!r})"


class _HeaderAccess:
    """Shared accessors of messages that carry headers."""

    __slots__ = ()
    headers: Headers

    def get(self, name: str, default: str | None = None) -> str | None:
        """First value of header `name`, case-insensitive."""
        return self.headers.get(name, default)

    def get_all(self, name: str) -> tuple[str, ...]:
        """Every value of a repeated header (e.g. ``ChanVariable``), in wire order."""
        return self.headers.get_all(name)

    @property
    def action_id(self) -> str | None:
        return self.headers.get("ActionID")


@dataclass(frozen=True, slots=True)
class Banner:
    """The greeting line Asterisk sends on connect, e.g. ``Asterisk Call Manager/11.0.0``."""

    line: str

    @property
    def version(self) -> str:
        """The protocol version after the slash (``11.0.0``), or "" if there is none."""
        return self.line.partition("/")[2].strip()


@dataclass(frozen=True, slots=True)
class ConnectionClosed:
    """The peer closed the connection between two messages (a clean end of stream)."""


@dataclass(frozen=True, slots=True)
class Response(_HeaderAccess):
    """The answer to an action. `output` holds command output (``Response: Follows`` body or
    the repeated ``Output:`` headers of Asterisk >= 14), one line per item."""

    status: str
    headers: Headers
    output: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """False only for ``Response: Error`` (and other unknown statuses)."""
        return self.status.lower() in ("success", "follows", "goodbye", "pong")

    @property
    def message(self) -> str | None:
        return self.headers.get("Message")

    @property
    def event_list_started(self) -> bool:
        """True when events follow this response (``EventList: start``)."""
        return (self.headers.get("EventList") or "").lower() == "start"


@dataclass(frozen=True, slots=True)
class Event(_HeaderAccess):
    """An AMI event. Exactly `Event` (not a subclass) when the codec does not know the name:
    it is still delivered, with every header."""

    name: str
    headers: Headers

    @property
    def channel(self) -> str | None:
        return self.headers.get("Channel")

    @property
    def uniqueid(self) -> str | None:
        return self.headers.get("Uniqueid")

    @property
    def linkedid(self) -> str | None:
        return self.headers.get("Linkedid")

    @property
    def is_list_complete(self) -> bool:
        """True for the event that closes an EventList (``EventList: Complete``)."""
        return (self.headers.get("EventList") or "").lower() == "complete"


class AsyncAGIStart(Event):
    """A channel entered ``AGI(agi:async)``; `env` is the decoded ``agi_*`` environment."""

    __slots__ = ()

    @property
    def env(self) -> dict[str, str]:
        return parse_agi_env(self.headers.get("Env") or "")


class AsyncAGIExec(Event):
    """An AsyncAGI command finished; `result` is the URL-decoded reply (``200 result=1\\n``)."""

    __slots__ = ()

    @property
    def command_id(self) -> str | None:
        # Asterisk writes "CommandId" here although the action header is "CommandID".
        return self.headers.get("CommandID")

    @property
    def result(self) -> str:
        return decode_agi_result(self.headers.get("Result") or "")


class AsyncAGIEnd(Event):
    """The channel left AsyncAGI (hung up, or the AGI ended): no more commands on it."""

    __slots__ = ()


class Hangup(Event):
    """A channel was hung up."""

    __slots__ = ()

    @property
    def cause(self) -> int | None:
        raw = self.headers.get("Cause")
        return int(raw) if raw is not None and raw.lstrip("-").isdigit() else None

    @property
    def cause_txt(self) -> str | None:
        return self.headers.get("Cause-txt")


class _DTMF(Event):
    __slots__ = ()

    @property
    def digit(self) -> str | None:
        return self.headers.get("Digit")

    @property
    def direction(self) -> str | None:
        return self.headers.get("Direction")


class DTMFBegin(_DTMF):
    """A key went down (RFC 4733 start, or SIP INFO)."""

    __slots__ = ()


class DTMFEnd(_DTMF):
    """A key was released; `duration_ms` as reported by Asterisk."""

    __slots__ = ()

    @property
    def duration_ms(self) -> int | None:
        raw = self.headers.get("DurationMs")
        return int(raw) if raw is not None and raw.isdigit() else None


class CoreShowChannel(Event):
    """One channel in the answer to ``CoreShowChannels`` (used to adopt channels parked in
    AsyncAGI after a reconnect, since Asterisk does not replay AsyncAGIStart)."""

    __slots__ = ()

    @property
    def application(self) -> str | None:
        return self.headers.get("Application")

    @property
    def application_data(self) -> str | None:
        return self.headers.get("ApplicationData")

    @property
    def in_async_agi(self) -> bool:
        return (self.application or "").upper() == "AGI" and (
            (self.application_data or "").lower().startswith("agi:async")
        )


class CoreShowChannelsComplete(Event):
    __slots__ = ()


class FullyBooted(Event):
    __slots__ = ()


class Shutdown(Event):
    __slots__ = ()


class Newchannel(Event):
    __slots__ = ()


class Newstate(Event):
    __slots__ = ()


class VarSet(Event):
    __slots__ = ()

    @property
    def variable(self) -> str | None:
        return self.headers.get("Variable")

    @property
    def value(self) -> str | None:
        return self.headers.get("Value")


class OriginateResponse(Event):
    __slots__ = ()

    @property
    def succeeded(self) -> bool:
        return (self.headers.get("Response") or "").lower() == "success"


EVENT_TYPES: Mapping[str, type[Event]] = {
    cls.__name__.lower(): cls
    for cls in (
        AsyncAGIStart,
        AsyncAGIExec,
        AsyncAGIEnd,
        Hangup,
        DTMFBegin,
        DTMFEnd,
        CoreShowChannel,
        CoreShowChannelsComplete,
        FullyBooted,
        Shutdown,
        Newchannel,
        Newstate,
        VarSet,
        OriginateResponse,
    )
}


def make_event(name: str, headers: Headers) -> Event:
    """The typed event for `name` (any case), or a plain `Event` if we do not know it."""
    return EVENT_TYPES.get(name.lower(), Event)(name, headers)


@dataclass(frozen=True, slots=True)
class Action:
    """An action to send. Repeated headers are allowed (``Variable``); use `Action.build`."""

    name: str
    headers: tuple[tuple[str, str], ...] = ()

    @classmethod
    def build(cls, name: str, /, **headers: str | int | float | Iterable[str] | None) -> Action:
        """``Action.build("Originate", Channel="Local/1@x", Variable=["A=1", "B=2"])``;
        a list/tuple value becomes a repeated header, None is left out."""
        items: list[tuple[str, str]] = []
        for key, value in headers.items():
            if value is None:
                continue
            if isinstance(value, list | tuple):
                items.extend((key, str(v)) for v in value)
            else:
                items.append((key, str(value)))
        return cls(name, tuple(items))

    def get(self, name: str) -> str | None:
        lname = name.lower()
        for key, value in self.headers:
            if key.lower() == lname:
                return value
        return None

    def with_headers(self, *items: tuple[str, str]) -> Action:
        """A copy with `items` put first (the client adds ActionID this way)."""
        return Action(self.name, tuple(items) + self.headers)


AmiMessage = Banner | Response | Event | ConnectionClosed
