"""AudioSocket: the sans-I/O codec of Asterisk's AudioSocket protocol and the asyncio server
that hands each connection to the turn waiting for it.

Wire format (Asterisk 22, ``res/res_audiosocket.c``): every message is ``kind`` (1 byte),
``length`` (2 bytes, big-endian), ``payload`` (``length`` bytes).

- ``0x00`` hangup (we send it: ``AudioSocket()`` returns 0 and the dialplan/AGI goes on);
- ``0x01`` UUID (Asterisk sends it first: 16 raw bytes);
- ``0x03`` DTMF (Asterisk sends one ASCII digit; forwarded since Asterisk 22.3, "audiosocket:
  added support for DTMF frames", so keys arrive on the socket during the turn);
- ``0x10`` audio, signed linear 16-bit 8 kHz mono little-endian, both ways;
- ``0xff`` error (Asterisk side; an optional error code byte).

Strategy: `AudioSocketCodec` is h11-shaped: `receive_data(bytes)` (``b""`` = EOF), then
`next_event()` until `NEED_DATA`; `send_*` return bytes. The receive buffer is bounded by the
largest frame (3 + 65535 bytes). `AudioSocketServer` accepts Asterisk's connection, reads the
UUID message, and resolves the future that `expect(uuid)` returned for that turn; an unknown
UUID is told to hang up (0x00) and closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid as uuidlib
from dataclasses import dataclass
from enum import IntEnum
from typing import Final

from ivr.voice.errors import AudioSocketProtocolError

log = logging.getLogger(__name__)

HEADER_BYTES: Final = 3
MAX_PAYLOAD: Final = 0xFFFF


class Kind(IntEnum):
    HANGUP = 0x00
    UUID = 0x01
    DTMF = 0x03
    AUDIO = 0x10
    ERROR = 0xFF


@dataclass(frozen=True, slots=True)
class Hangup:
    """The peer asked to end the session (or, from Asterisk, the socket is closing)."""


@dataclass(frozen=True, slots=True)
class Identified:
    uuid: str  # canonical lower-case 8-4-4-4-12 form


@dataclass(frozen=True, slots=True)
class Dtmf:
    digit: str


@dataclass(frozen=True, slots=True)
class AudioIn:
    pcm: bytes  # s16le 8 kHz mono


@dataclass(frozen=True, slots=True)
class ErrorReported:
    code: int | None


@dataclass(frozen=True, slots=True)
class Unknown:
    kind: int
    payload: bytes


@dataclass(frozen=True, slots=True)
class Closed:
    """End of stream (EOF) on a message boundary."""


class _NeedData:
    def __repr__(self) -> str:
        return "NEED_DATA"


NEED_DATA: Final = _NeedData()

Message = Hangup | Identified | Dtmf | AudioIn | ErrorReported | Unknown | Closed


class AudioSocketCodec:
    """Frames AudioSocket bytes into messages and messages into bytes. No I/O."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._eof = False
        self._closed_reported = False

    def receive_data(self, data: bytes) -> None:
        if self._eof and data:
            raise AudioSocketProtocolError("AudioSocket: data received after EOF")
        if not data:
            self._eof = True
            return
        self._buffer += data

    def next_event(self) -> Message | _NeedData:
        buf = self._buffer
        if len(buf) < HEADER_BYTES:
            return self._at_eof()
        kind = buf[0]
        length = int.from_bytes(buf[1:3], "big")
        if len(buf) < HEADER_BYTES + length:
            return self._at_eof()
        payload = bytes(buf[HEADER_BYTES : HEADER_BYTES + length])
        del buf[: HEADER_BYTES + length]
        return _decode(kind, payload)

    def _at_eof(self) -> Message | _NeedData:
        if not self._eof:
            return NEED_DATA
        if self._buffer:
            raise AudioSocketProtocolError(
                f"AudioSocket: stream ended inside a message ({len(self._buffer)} bytes left)"
            )
        if self._closed_reported:
            return NEED_DATA
        self._closed_reported = True
        return Closed()

    # -- sending -------------------------------------------------------------------------------
    @staticmethod
    def send_audio(pcm: bytes) -> bytes:
        if not pcm or len(pcm) > MAX_PAYLOAD or len(pcm) % 2:
            raise AudioSocketProtocolError(
                f"AudioSocket: audio payload of {len(pcm)} bytes (need 2..65534, even)"
            )
        return _frame(Kind.AUDIO, pcm)

    @staticmethod
    def send_hangup() -> bytes:
        return _frame(Kind.HANGUP, b"")

    @staticmethod
    def send_uuid(value: str) -> bytes:
        """What Asterisk sends first (used by tests and the fake peer)."""
        return _frame(Kind.UUID, uuidlib.UUID(value).bytes)

    @staticmethod
    def send_dtmf(digit: str) -> bytes:
        return _frame(Kind.DTMF, digit.encode("ascii"))


def _frame(kind: Kind, payload: bytes) -> bytes:
    return bytes([kind]) + len(payload).to_bytes(2, "big") + payload


def _decode(kind: int, payload: bytes) -> Message:
    if kind == Kind.HANGUP:
        return Hangup()
    if kind == Kind.UUID:
        if len(payload) != 16:
            raise AudioSocketProtocolError(
                f"AudioSocket: UUID message of {len(payload)} bytes (need 16)"
            )
        return Identified(str(uuidlib.UUID(bytes=payload)))
    if kind == Kind.DTMF:
        try:
            digit = payload.decode("ascii")
        except UnicodeDecodeError as exc:
            raise AudioSocketProtocolError(f"AudioSocket: DTMF payload {payload!r}") from exc
        if len(digit) != 1 or digit.upper() not in "0123456789*#ABCD":
            raise AudioSocketProtocolError(f"AudioSocket: DTMF payload {payload!r}")
        return Dtmf(digit.upper())
    if kind == Kind.AUDIO:
        if len(payload) % 2:
            raise AudioSocketProtocolError(
                f"AudioSocket: audio payload of {len(payload)} bytes is not whole samples"
            )
        return AudioIn(payload)
    if kind == Kind.ERROR:
        return ErrorReported(payload[0] if payload else None)
    return Unknown(kind, payload)


# --- the asyncio side -------------------------------------------------------------------------
@dataclass
class Connection:
    """One accepted AudioSocket connection, identified; the codec keeps any bytes already read."""

    uuid: str
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    codec: AudioSocketCodec

    async def next_message(self) -> Message:
        while True:
            event = self.codec.next_event()
            if not isinstance(event, _NeedData):
                return event
            data = await self.reader.read(4096)
            self.codec.receive_data(data)

    def write(self, data: bytes) -> None:
        if not self.writer.is_closing():
            self.writer.write(data)

    async def close(self, *, hangup: bool = True) -> None:
        with contextlib.suppress(ConnectionError, OSError):
            if hangup and not self.writer.is_closing():
                self.writer.write(AudioSocketCodec.send_hangup())
                await self.writer.drain()
        self.writer.close()
        with contextlib.suppress(ConnectionError, OSError):
            await self.writer.wait_closed()


class AudioSocketServer:
    """Accepts Asterisk's AudioSocket connections and routes them to turns by UUID."""

    def __init__(self, host: str, port: int, *, identify_timeout_s: float = 5.0) -> None:
        self.host = host
        self.port = port
        self.identify_timeout_s = identify_timeout_s
        self._waiting: dict[str, asyncio.Future[Connection]] = {}
        self._server: asyncio.Server | None = None
        self.rejected = 0

    async def start(self) -> None:
        if self._server is None:
            self._server = await asyncio.start_server(self._accept, self.host, self.port)
            sock = self._server.sockets[0]
            self.port = int(sock.getsockname()[1])  # port 0 -> the one picked
            log.info("AudioSocket server on %s:%d", self.host, self.port)

    async def close(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.close()
            await server.wait_closed()
        for future in self._waiting.values():
            future.cancel()
        self._waiting.clear()

    @property
    def waiting(self) -> int:
        return len(self._waiting)

    def expect(self, uuid: str) -> asyncio.Future[Connection]:
        """A future resolved with the connection that identifies as `uuid`. Call `forget` when
        the turn is over (whatever happened)."""
        key = str(uuidlib.UUID(uuid))
        future: asyncio.Future[Connection] = asyncio.get_running_loop().create_future()
        self._waiting[key] = future
        return future

    def forget(self, uuid: str) -> None:
        future = self._waiting.pop(str(uuidlib.UUID(uuid)), None)
        if future is not None and not future.done():
            future.cancel()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        codec = AudioSocketCodec()
        try:
            async with asyncio.timeout(self.identify_timeout_s):
                while True:
                    event = codec.next_event()
                    if isinstance(event, _NeedData):
                        codec.receive_data(await reader.read(4096))
                        continue
                    break
        except (TimeoutError, AudioSocketProtocolError, ConnectionError) as exc:
            log.warning("AudioSocket connection dropped before identifying: %s", exc)
            writer.close()
            return
        if not isinstance(event, Identified):
            log.warning("AudioSocket connection opened with %r, not a UUID: closed", event)
            writer.close()
            return
        future = self._waiting.get(event.uuid)
        connection = Connection(event.uuid, reader, writer, codec)
        if future is None or future.done():
            self.rejected += 1
            log.warning("AudioSocket connection for unknown turn %s: told to hang up", event.uuid)
            await connection.close()
            return
        future.set_result(connection)
