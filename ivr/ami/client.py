"""asyncio AMI client: the one adapter that owns the AMI socket.

Owns: connecting and logging in (plain or MD5 challenge), ActionID -> Future correlation,
multi-event answers (``EventList: start`` ... ``EventList: Complete``), AsyncAGI commands
(``Action: AGI`` + our CommandID, answered by the ``AsyncAGIExec`` event carrying the same
CommandId), one AGI command at a time per channel, a keep-alive Ping, and reconnecting with
exponential backoff and jitter.

Strategy: one reader task per connection feeds the sans-I/O `AmiCodec` and dispatches every
message *in wire order*: responses and list events resolve the futures of waiting callers,
``AsyncAGIExec`` resolves the AGI command with its CommandId, ``AsyncAGIEnd``/``Hangup`` fail
the AGI command still pending on that channel with `ChannelGoneError`, and every event goes to
the subscribers. When the connection drops, every waiting caller gets `ConnectionLostError`
at once (nothing hangs until a timeout) and a supervisor task reconnects. Asterisk does not
replay ``AsyncAGIStart`` for channels already parked in ``AGI(agi:async)``, so after each
login the `on_connected` callbacks run: the controller lists ``CoreShowChannels`` there and
adopts (or hangs up) the channels whose Application is AGI.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import inspect
import itertools
import logging
import random
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from ivr.ami.agi import AgiResult, parse_agi_result
from ivr.ami.codec import DEFAULT_MAX_MESSAGE_SIZE, NEED_DATA, AmiCodec
from ivr.ami.errors import (
    ActionFailedError,
    AgiCommandError,
    AmiError,
    AmiTimeoutError,
    AuthenticationError,
    ChannelGoneError,
    ConnectionLostError,
    NotConnectedError,
    RemoteProtocolError,
)
from ivr.ami.events import (
    Action,
    AsyncAGIEnd,
    AsyncAGIExec,
    Banner,
    ConnectionClosed,
    Event,
    Hangup,
    Response,
)

__all__ = [
    "AmiClient",
    "ClientState",
    "ConnectedCallback",
    "EventCallback",
    "backoff_delay",
]

log = logging.getLogger(__name__)

EventCallback = Callable[[Event], object]
"""Called for each event, in wire order, from the reader task. Keep it quick (e.g. put the
event on a queue). If it returns an awaitable, that is run as a separate task (its order
relative to later events is then not guaranteed)."""

ConnectedCallback = Callable[[], Awaitable[None]]
"""Awaited after each successful login (first connect and every reconnect)."""


class ClientState(StrEnum):
    NEW = "NEW"
    CONNECTING = "CONNECTING"
    CONNECTED = "CONNECTED"
    RECONNECTING = "RECONNECTING"
    CLOSED = "CLOSED"


def backoff_delay(attempt: int, *, initial_s: float, maximum_s: float, rand: float) -> float:
    """Delay before reconnect `attempt` (0-based): exponential, capped, with "equal jitter"
    (half fixed, half random, `rand` in [0, 1)) so that many controllers restarted together
    do not hammer Asterisk in lock-step."""
    ceiling = min(maximum_s, initial_s * (2.0 ** min(attempt, 30)))
    return ceiling / 2.0 + rand * ceiling / 2.0


@dataclass(eq=False)
class _PendingAction:
    name: str
    action_id: str
    future: asyncio.Future[tuple[Response, list[Event]]]
    collect: bool
    response: Response | None = None
    events: list[Event] = field(default_factory=list)


@dataclass(eq=False)
class _PendingAgi:
    channel: str
    command: str
    command_id: str
    future: asyncio.Future[AsyncAGIExec]


@dataclass(eq=False)
class _Connection:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    codec: AmiCodec
    banner: Banner | None = None
    lost: bool = False
    lost_reason: str = ""
    done: asyncio.Event = field(default_factory=asyncio.Event)
    reader_task: asyncio.Task[None] | None = None
    keepalive_task: asyncio.Task[None] | None = None


class AmiClient:
    """Asterisk Manager Interface client with AsyncAGI support.

    ``client = AmiClient("127.0.0.1", 5038, "hotline", secret)``; ``await client.connect()``;
    ``await client.action("Ping")``; ``await client.action_list("CoreShowChannels")``;
    ``await client.agi("PJSIP/sipp-00000000", 'STREAM FILE beep ""')``; ``await client.close()``.
    """

    def __init__(
        self,
        host: str,
        port: int,
        username: str,
        secret: str,
        *,
        keepalive_s: float | None = 20.0,
        reconnect: bool = True,
        events: str = "on",
        use_md5_challenge: bool = False,
        connect_timeout_s: float = 5.0,
        action_timeout_s: float = 10.0,
        backoff_initial_s: float = 0.5,
        backoff_max_s: float = 30.0,
        max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE,
        rng: random.Random | None = None,
        wire_tap: Callable[[str, bytes], None] | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self._username = username
        self._secret = secret
        self._keepalive_s = keepalive_s
        self._reconnect = reconnect
        self._events = events
        self._use_md5 = use_md5_challenge
        self._connect_timeout_s = connect_timeout_s
        self._action_timeout_s = action_timeout_s
        self._backoff_initial_s = backoff_initial_s
        self._backoff_max_s = backoff_max_s
        self._max_message_size = max_message_size
        self._rng = rng or random.Random()
        # ("SENT"|"RECV", bytes) for every write/read: recording transcripts, debugging.
        # What is SENT includes the login Secret: a tap that stores it must redact it.
        self._wire_tap = wire_tap
        prefix = secrets.token_hex(3)
        self._action_ids = (f"{prefix}-{n}" for n in itertools.count(1))
        self._command_ids = (f"{prefix}-c{n}" for n in itertools.count(1))
        self._state = ClientState.NEW
        self._conn: _Connection | None = None
        self._pending: dict[str, _PendingAction] = {}
        self._agi_pending: dict[str, _PendingAgi] = {}
        self._channel_locks: dict[str, tuple[asyncio.Lock, int]] = {}
        self._subscribers: list[tuple[EventCallback, frozenset[str] | None]] = []
        self._on_connected: list[ConnectedCallback] = []
        self._callback_tasks: set[asyncio.Task[Any]] = set()
        self._supervisor: asyncio.Task[None] | None = None
        self._connected = asyncio.Event()
        self._closing = False
        self.connections = 0  # successful logins so far (1 after connect, +1 per reconnect)

    # -- public API ------------------------------------------------------------------------

    @property
    def state(self) -> ClientState:
        return self._state

    @property
    def connected(self) -> bool:
        return self._state is ClientState.CONNECTED

    @property
    def banner(self) -> Banner | None:
        return self._conn.banner if self._conn is not None else None

    def subscribe(self, callback: EventCallback, *names: str) -> Callable[[], None]:
        """Call `callback` for every event (or only those named in `names`, any case).
        Returns a function that unsubscribes."""
        entry = (callback, frozenset(n.lower() for n in names) if names else None)
        self._subscribers.append(entry)

        def unsubscribe() -> None:
            with contextlib.suppress(ValueError):
                self._subscribers.remove(entry)

        return unsubscribe

    def on_connected(self, callback: ConnectedCallback) -> Callable[[], None]:
        """Await `callback()` after every login; the place to adopt channels already parked
        in AsyncAGI (``action_list("CoreShowChannels")``). Returns an unregister function."""
        self._on_connected.append(callback)

        def unregister() -> None:
            with contextlib.suppress(ValueError):
                self._on_connected.remove(callback)

        return unregister

    async def connect(self) -> None:
        """Connect and log in once; raise `AuthenticationError`, `ConnectionLostError` or
        `AmiTimeoutError` if that fails. Afterwards drops are repaired in the background
        (if ``reconnect``)."""
        if self._state is not ClientState.NEW:
            raise AmiError(f"AmiClient.connect() called twice (client is {self._state})")
        self._state = ClientState.CONNECTING
        try:
            await self._open()
        except BaseException:
            self._state = ClientState.CLOSED
            raise
        self._supervisor = asyncio.create_task(self._supervise(), name="ami-supervisor")

    async def wait_connected(self, timeout_s: float | None = None) -> None:
        """Wait until the client is logged in (e.g. after a drop)."""
        try:
            await asyncio.wait_for(self._connected.wait(), timeout_s)
        except TimeoutError:
            raise AmiTimeoutError(
                f"AMI {self.host}:{self.port} not connected after {timeout_s}s "
                f"(client is {self._state})"
            ) from None

    async def close(self) -> None:
        """Log off and close; every waiting caller gets `ConnectionLostError`. Idempotent."""
        if self._closing:
            return
        self._closing = True
        conn = self._conn
        if conn is not None and self._state is ClientState.CONNECTED:
            with contextlib.suppress(AmiError, OSError, TimeoutError):
                await self._send(conn, Action("Logoff"), timeout_s=1.0)
        if self._supervisor is not None:
            self._supervisor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._supervisor
        if conn is not None:
            self._connection_lost(conn, "the client was closed")
            if conn.reader_task is not None:
                conn.reader_task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await conn.reader_task
            with contextlib.suppress(OSError):
                await conn.writer.wait_closed()
        for task in list(self._callback_tasks):
            task.cancel()
        self._state = ClientState.CLOSED

    async def action(
        self, name: str, /, *, timeout_s: float | None = None, **headers: Any
    ) -> Response:
        """Send action `name` with `headers` (a list value repeats the header) and return its
        Response; ``Response: Error`` raises `ActionFailedError`."""
        return await self.send_action(Action.build(name, **headers), timeout_s=timeout_s)

    async def send_action(self, action: Action, *, timeout_s: float | None = None) -> Response:
        """Like `action`, for a prepared `Action` (do not put an ActionID in it)."""
        conn = self._require_connection(action.name)
        response, _ = await self._send(conn, action, timeout_s=timeout_s)
        return response

    async def action_list(
        self, name: str, /, *, timeout_s: float | None = None, **headers: Any
    ) -> list[Event]:
        """Send a list action (``CoreShowChannels``, ``QueueStatus``...) and return the events
        between ``EventList: start`` and the ``...Complete`` event (which is left out).
        The timeout covers the whole list."""
        conn = self._require_connection(name)
        _, events = await self._send(
            conn, Action.build(name, **headers), timeout_s=timeout_s, collect=True
        )
        return events

    async def command(self, cli: str, *, timeout_s: float | None = None) -> tuple[str, ...]:
        """Run an Asterisk CLI command (``Action: Command``) and return its output lines."""
        response = await self.action("Command", Command=cli, timeout_s=timeout_s)
        return response.output

    async def agi(
        self,
        channel: str,
        command: str,
        timeout: float | None = None,  # noqa: ASYNC109 - contract 2's name; per AGI command
    ) -> AgiResult:
        """Run one AGI command on a channel parked in ``AGI(agi:async)`` and return its parsed
        200 reply. Commands on one channel run one at a time, in call order.

        Raises `ChannelGoneError` (channel hung up / left AsyncAGI / 511),
        `AgiCommandError` (510, 520...), `ConnectionLostError`, `AmiTimeoutError` (only if
        `timeout` seconds pass; None waits as long as the command runs, e.g. a long prompt).
        """
        lock = self._acquire_channel_lock(channel)
        try:
            async with lock:
                return await self._agi_locked(channel, command, timeout)
        finally:
            self._release_channel_lock(channel)

    # -- AGI ---------------------------------------------------------------------------------

    async def _agi_locked(self, channel: str, command: str, timeout_s: float | None) -> AgiResult:
        conn = self._require_connection(f"AGI {command!r} on {channel}")
        command_id = next(self._command_ids)
        future: asyncio.Future[AsyncAGIExec] = asyncio.get_running_loop().create_future()
        self._agi_pending[command_id] = _PendingAgi(channel, command, command_id, future)
        try:
            try:
                await self._send(
                    conn,
                    Action.build("AGI", Channel=channel, Command=command, CommandID=command_id),
                )
            except ActionFailedError as exc:
                # res_agi.c: "Channel X does not exist.", "Channel X is not in Async AGI.",
                # "Failed to add AGI command to queue" - all mean the call is not ours any more.
                raise ChannelGoneError(
                    channel,
                    f"AGI command {command!r} on channel {channel} refused: "
                    f"{exc.response.message or 'no reason given'}",
                ) from exc
            try:
                event = await asyncio.wait_for(future, timeout_s)
            except TimeoutError:
                raise AmiTimeoutError(
                    f"AGI command {command!r} on channel {channel} (CommandID {command_id}) "
                    f"not answered after {timeout_s}s; it may still be running in Asterisk"
                ) from None
        finally:
            self._agi_pending.pop(command_id, None)
        result = parse_agi_result(event.result)
        if result.ok:
            return result
        if result.channel_dead:
            raise ChannelGoneError(
                channel,
                f"AGI command {command!r} on channel {channel} refused with 511: "
                f"{result.message} (the channel is dead)",
            )
        raise AgiCommandError(channel, command, result)

    def _acquire_channel_lock(self, channel: str) -> asyncio.Lock:
        lock, users = self._channel_locks.get(channel, (asyncio.Lock(), 0))
        self._channel_locks[channel] = (lock, users + 1)
        return lock

    def _release_channel_lock(self, channel: str) -> None:
        lock, users = self._channel_locks[channel]
        if users <= 1:
            del self._channel_locks[channel]
        else:
            self._channel_locks[channel] = (lock, users - 1)

    def _fail_channel(self, event: Event) -> None:
        channel = event.channel
        if channel is None:
            return
        for pending in list(self._agi_pending.values()):
            if pending.channel != channel or pending.future.done():
                continue
            why = "left AsyncAGI (AsyncAGIEnd)"
            if isinstance(event, Hangup):
                cause = f"cause {event.cause}" + (f" {event.cause_txt}" if event.cause_txt else "")
                why = f"hung up (Hangup, {cause})"
            pending.future.set_exception(
                ChannelGoneError(
                    channel,
                    f"AGI command {pending.command!r} on channel {channel} "
                    f"(CommandID {pending.command_id}) cannot complete: the channel {why}",
                )
            )

    # -- actions -----------------------------------------------------------------------------

    def _require_connection(self, what: str) -> _Connection:
        conn = self._conn
        if self._state is not ClientState.CONNECTED or conn is None or conn.lost:
            raise NotConnectedError(
                f"cannot send {what}: AMI client for {self.host}:{self.port} is {self._state}"
            )
        return conn

    async def _send(
        self,
        conn: _Connection,
        action: Action,
        *,
        timeout_s: float | None = None,
        collect: bool = False,
    ) -> tuple[Response, list[Event]]:
        action_id = next(self._action_ids)
        data = conn.codec.send(action.with_headers(("ActionID", action_id)))
        future: asyncio.Future[tuple[Response, list[Event]]] = (
            asyncio.get_running_loop().create_future()
        )
        self._pending[action_id] = _PendingAction(action.name, action_id, future, collect)
        timeout = self._action_timeout_s if timeout_s is None else timeout_s
        try:
            try:
                if self._wire_tap is not None:
                    self._wire_tap("SENT", data)
                conn.writer.write(data)
                await conn.writer.drain()
            except (OSError, RuntimeError) as exc:
                self._connection_lost(conn, f"write failed: {exc!r}")
                raise ConnectionLostError(
                    f"AMI action {action.name} (ActionID {action_id}) not sent: connection to "
                    f"{self.host}:{self.port} failed ({exc!r})"
                ) from exc
            try:
                response, events = await asyncio.wait_for(future, timeout)
            except TimeoutError:
                pending = self._pending.get(action_id)
                got = "no Response"
                if pending is not None and pending.response is not None:
                    got = f"a Response and {len(pending.events)} list events but no Complete"
                raise AmiTimeoutError(
                    f"AMI action {action.name} (ActionID {action_id}) timed out after "
                    f"{timeout}s with {got}"
                ) from None
        finally:
            self._pending.pop(action_id, None)
        if not response.ok:
            raise ActionFailedError(action.name, action_id, response)
        return response, events

    # -- connection lifecycle --------------------------------------------------------------

    async def _open(self) -> None:
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection(self.host, self.port), self._connect_timeout_s
            )
        except TimeoutError:
            raise AmiTimeoutError(
                f"AMI connect to {self.host}:{self.port} timed out after {self._connect_timeout_s}s"
            ) from None
        except OSError as exc:
            raise ConnectionLostError(
                f"AMI connect to {self.host}:{self.port} failed: {exc.strerror or exc!r}"
            ) from exc
        conn = _Connection(reader, writer, AmiCodec(max_message_size=self._max_message_size))
        self._conn = conn
        conn.reader_task = asyncio.create_task(self._read_loop(conn), name="ami-reader")
        try:
            await self._login(conn)
        except BaseException:
            self._connection_lost(conn, "login did not succeed")
            raise
        self._state = ClientState.CONNECTED
        self.connections += 1
        self._connected.set()
        log.info(
            "AMI logged in to %s:%s as %s (%s, login #%d)",
            self.host,
            self.port,
            self._username,
            conn.banner.line if conn.banner else "no banner",
            self.connections,
        )
        if self._keepalive_s:
            conn.keepalive_task = asyncio.create_task(
                self._keepalive(conn, self._keepalive_s), name="ami-keepalive"
            )
        for callback in list(self._on_connected):
            try:
                await callback()
            except (asyncio.CancelledError, KeyboardInterrupt):
                raise
            except Exception:
                log.exception("AMI on_connected callback %r failed", callback)

    async def _login(self, conn: _Connection) -> None:
        headers: dict[str, str] = {"Username": self._username, "Events": self._events}
        try:
            if self._use_md5:
                challenge, _ = await self._send(conn, Action.build("Challenge", AuthType="MD5"))
                key = hashlib.md5(
                    ((challenge.get("Challenge") or "") + self._secret).encode("utf-8"),
                    usedforsecurity=False,
                ).hexdigest()
                headers.update(AuthType="MD5", Key=key)
            else:
                headers["Secret"] = self._secret
            await self._send(conn, Action.build("Login", **headers))
        except ActionFailedError as exc:
            raise AuthenticationError(
                f"AMI login to {self.host}:{self.port} as {self._username!r} refused: "
                f"{exc.response.message or 'no reason given'}"
            ) from exc

    async def _keepalive(self, conn: _Connection, interval_s: float) -> None:
        while not conn.lost:
            await asyncio.sleep(interval_s)
            try:
                await self._send(conn, Action("Ping"), timeout_s=interval_s)
            except AmiTimeoutError:
                log.warning(
                    "AMI %s:%s keep-alive Ping unanswered after %ss; dropping the connection",
                    self.host,
                    self.port,
                    interval_s,
                )
                self._connection_lost(conn, f"keep-alive Ping unanswered after {interval_s}s")
                return
            except AmiError:
                return

    async def _supervise(self) -> None:
        while not self._closing:
            conn = self._conn
            assert conn is not None
            await conn.done.wait()
            if self._closing or not self._reconnect:
                break
            self._state = ClientState.RECONNECTING
            attempt = 0
            while not self._closing:
                delay = backoff_delay(
                    attempt,
                    initial_s=self._backoff_initial_s,
                    maximum_s=self._backoff_max_s,
                    rand=self._rng.random(),
                )
                attempt += 1
                await asyncio.sleep(delay)
                try:
                    await self._open()
                    break
                except (AmiError, OSError) as exc:
                    log.warning(
                        "AMI reconnect #%d to %s:%s failed: %s", attempt, self.host, self.port, exc
                    )
        if not self._closing:
            self._state = ClientState.CLOSED

    async def _read_loop(self, conn: _Connection) -> None:
        reason = f"Asterisk at {self.host}:{self.port} closed the connection"
        try:
            while True:
                data = await conn.reader.read(65536)
                if self._wire_tap is not None and data:
                    self._wire_tap("RECV", data)
                conn.codec.receive_data(data)
                while True:
                    try:
                        message = conn.codec.next_event()
                    except RemoteProtocolError as exc:
                        if conn.codec.broken:
                            raise
                        log.warning("AMI %s:%s sent a bad message: %s", self.host, self.port, exc)
                        continue
                    if message is NEED_DATA:
                        break
                    if isinstance(message, ConnectionClosed):
                        return
                    if isinstance(message, Banner):
                        conn.banner = message
                    elif isinstance(message, Response):
                        self._on_response(message)
                    else:
                        self._on_event(message)
                if not data:
                    return
        except (OSError, RemoteProtocolError) as exc:
            reason = f"AMI connection to {self.host}:{self.port} failed: {exc}"
        finally:
            self._connection_lost(conn, reason)

    def _connection_lost(self, conn: _Connection, reason: str) -> None:
        if conn.lost:
            return
        conn.lost = True
        conn.lost_reason = "the client was closed" if self._closing else reason
        if self._conn is conn:
            self._connected.clear()
            if self._state is ClientState.CONNECTED:
                self._state = ClientState.CLOSED if self._closing else ClientState.RECONNECTING
                if not self._closing:
                    log.warning("AMI connection lost: %s", conn.lost_reason)
        conn.writer.close()
        if conn.keepalive_task is not None and conn.keepalive_task is not asyncio.current_task():
            conn.keepalive_task.cancel()
        for pending in list(self._pending.values()):
            if not pending.future.done():
                state = (
                    "before its Response"
                    if pending.response is None
                    else (f"after {len(pending.events)} list events, before Complete")
                )
                pending.future.set_exception(
                    ConnectionLostError(
                        f"AMI action {pending.name} (ActionID {pending.action_id}) lost "
                        f"{state}: {conn.lost_reason}"
                    )
                )
        for agi in list(self._agi_pending.values()):
            if not agi.future.done():
                agi.future.set_exception(
                    ConnectionLostError(
                        f"AGI command {agi.command!r} on channel {agi.channel} "
                        f"(CommandID {agi.command_id}) lost before its result: "
                        f"{conn.lost_reason}"
                    )
                )
        conn.done.set()

    # -- dispatch --------------------------------------------------------------------------

    def _on_response(self, response: Response) -> None:
        action_id = response.action_id
        pending = self._pending.get(action_id) if action_id is not None else None
        if pending is None or pending.future.done():
            log.debug("AMI response for unknown ActionID %s ignored", action_id)
            return
        if pending.collect and response.ok and _events_follow(response):
            pending.response = response
            return
        pending.future.set_result((response, []))

    def _on_event(self, event: Event) -> None:
        action_id = event.action_id
        if action_id is not None:
            pending = self._pending.get(action_id)
            if pending is not None and pending.response is not None and not pending.future.done():
                if event.is_list_complete or event.name.lower().endswith("complete"):
                    pending.future.set_result((pending.response, pending.events))
                else:
                    pending.events.append(event)
        if isinstance(event, AsyncAGIExec):
            command_id = event.command_id
            agi = self._agi_pending.get(command_id) if command_id is not None else None
            if agi is not None and not agi.future.done():
                agi.future.set_result(event)
        elif isinstance(event, AsyncAGIEnd | Hangup):
            self._fail_channel(event)
        lname = event.name.lower()
        for callback, names in list(self._subscribers):
            if names is not None and lname not in names:
                continue
            try:
                outcome = callback(event)
            except Exception:
                log.exception("AMI event subscriber %r failed on %s", callback, event.name)
                continue
            if inspect.isawaitable(outcome):
                task = asyncio.ensure_future(outcome)
                self._callback_tasks.add(task)
                task.add_done_callback(self._callback_tasks.discard)


def _events_follow(response: Response) -> bool:
    if response.event_list_started:
        return True
    # Before Asterisk 13 some list actions said only "... will follow" without EventList.
    return "follow" in (response.message or "").lower()
