"""The real listeners: `AudioSocketListener` (live, barge-in by voice and key) and
`RecordListener` (the ``RECORD FILE`` fallback, barge-in by key only). Both implement
`ivr.voice.port.Listener`.

Strategy (AudioSocket, Asterisk 22): for a turn we expect a fresh UUID on our
`AudioSocketServer`, then run ``EXEC AudioSocket <uuid>,<host>:<port>`` over AsyncAGI. The app
connects, sends the UUID, and from then on Asterisk sends the caller's audio (slin 8 kHz, 20 ms
frames) and keys (0x03 DTMF) and plays whatever audio we send. On the event loop:

- the *sender* writes the prompts' audio in 20 ms frames paced on an absolute schedule (no
  drift), then silence, so the app never sits 2 s without activity (``MAX_WAIT_TIMEOUT_MSEC``);
  a barge-in stops the prompt at the next frame;
- the *reader* feeds each inbound frame and key to the pure `Turn` (VAD + endpointer);
- recognition runs in the speech worker pool (another process): when the caller pauses for
  ``early_s`` a speculative recognition of the utterance so far starts, so that when the
  endpointer confirms the end of speech the transcript is often already there;
- at the end we send the AudioSocket hangup message (0x00): ``AudioSocket()`` returns 0 and the
  AGI command completes; the channel stays in AsyncAGI for the next command.

A caller hanging up closes the socket (the app's ``ast_read`` fails) and ends the AGI command:
that becomes `ChannelGoneError`. Every task, socket and waiting UUID is released on every path.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
import uuid as uuidlib
import wave
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from ivr.ami.agi import AgiResult
from ivr.ami.errors import ChannelGoneError
from ivr.voice.audiosocket import (
    AudioIn,
    AudioSocketCodec,
    AudioSocketServer,
    Closed,
    Connection,
    Dtmf,
    ErrorReported,
    Hangup,
)
from ivr.voice.errors import AudioSocketUnavailableError, RecognitionError
from ivr.voice.port import Heard
from ivr.voice.turn import FRAME_S, RATE, EndReason, Turn, TurnConfig, TurnEvent

log = logging.getLogger(__name__)

FRAME_BYTES = int(RATE * FRAME_S) * 2
SILENCE_FRAME = bytes(FRAME_BYTES)
EARLY_S = 0.15  # default pause that starts a speculative recognition (docs: Turn latency)


class AgiRunner(Protocol):
    """What the listener needs of `ivr.ami.AmiClient`."""

    async def agi(self, channel: str, command: str, timeout: float | None = None) -> AgiResult: ...  # noqa: ASYNC109


class Transcript(Protocol):
    @property
    def text(self) -> str: ...

    @property
    def confidence(self) -> float: ...


class Recognizer(Protocol):
    """Whole-utterance recognition off the event loop (`speech.workers.SpeechPool` fits)."""

    async def transcribe(
        self, audio: bytes, *, rate: int = RATE, hotwords: Sequence[str] | None = None
    ) -> Transcript: ...


@dataclass(frozen=True)
class ListenerConfig:
    """Where prompts and recordings are, on both sides, and the AudioSocket address."""

    prompts_dir: Path  # host side of pbx_prompts
    recordings_dir: Path  # host side of pbx_recordings
    pbx_prompts: str = "/var/lib/hotline/prompts"
    pbx_recordings: str = "/var/lib/hotline/recordings"
    audiosocket_host: str = "127.0.0.1"  # as Asterisk dials it
    connect_timeout_s: float = 5.0
    early_s: float = EARLY_S  # pause before a speculative recognition starts
    speculate_max_s: float = 10.0  # no speculation on longer utterances

    def host_prompt(self, prompt: str) -> Path:
        """``/var/lib/hotline/prompts/tts/ab12`` -> ``<prompts_dir>/tts/ab12.wav``."""
        root = self.pbx_prompts.rstrip("/") + "/"
        relative = prompt[len(root) :] if prompt.startswith(root) else prompt.lstrip("/")
        path = self.prompts_dir / relative
        return path if path.suffix == ".wav" else path.with_name(path.name + ".wav")


def load_prompt_pcm(path: Path) -> bytes:
    """A prompt WAV as s16le 8 kHz mono (the contract's prompt format; others are converted)."""
    with wave.open(str(path), "rb") as wav:
        rate, channels, width = wav.getframerate(), wav.getnchannels(), wav.getsampwidth()
        data = wav.readframes(wav.getnframes())
    if (rate, channels, width) == (RATE, 1, 2):
        return data
    from speech.audio import parse_wav  # rare path: a prompt not built to the contract

    return parse_wav(path.read_bytes(), name=str(path)).to_rate(RATE).to_bytes()


@dataclass
class TurnStats:
    """What the benchmark and tests read after a turn (the port's `Heard` stays small)."""

    channel: str = ""
    prompt_s: float = 0.0  # prompt audio in the turn
    prompt_sent_s: float = 0.0  # prompt audio actually sent before it ended or was stopped
    speech_end_at: float | None = None  # monotonic time the last speech frame arrived
    transcript_at: float | None = None
    speculative_hits: int = 0
    reason: EndReason | None = None
    first_audio_at: float | None = None  # monotonic time the first prompt frame was written
    max_lag_s: float = 0.0  # worst lateness of an outbound frame against its 20 ms schedule
    ended_at: float | None = None  # monotonic time the turn's end was decided


@dataclass
class _Speculation:
    samples: int
    task: asyncio.Task[Transcript]


class _Speculator:
    """One turn's speculative recognitions (started at pauses; at most one kept)."""

    def __init__(
        self, recognizer: Recognizer, hints: Sequence[str], early_s: float, max_s: float
    ) -> None:
        self.recognizer = recognizer
        self.hints = tuple(hints) or None
        self.early_s = early_s
        self.max_s = max_s
        self.current: _Speculation | None = None

    def transcribe(self, pcm: bytes) -> Awaitable[Transcript]:
        return self.recognizer.transcribe(pcm, rate=RATE, hotwords=self.hints)

    def maybe_start(self, turn: Turn) -> None:
        """Start recognising the utterance so far when the caller pauses (wins latency).

        Not for long utterances (a complaint description pauses often, and each speculation
        costs a whole recognition that cancelling cannot stop in the worker), and never two at
        once: while one still runs, the next pause waits for it."""
        if not turn.heard_speech or turn.pause_s < self.early_s or turn.reason:
            return
        samples = turn.utterance_samples
        if samples > self.max_s * RATE:
            return
        spec = self.current
        if spec is not None and spec.samples >= samples - int(turn.pause_s * RATE):
            return  # already recognising this much speech
        if spec is not None and not spec.task.done():
            return
        self.cancel()
        task: asyncio.Task[Transcript] = asyncio.ensure_future(self.transcribe(turn.utterance))
        task.add_done_callback(_retrieve)
        self.current = _Speculation(samples, task)

    def take(self) -> _Speculation | None:
        spec, self.current = self.current, None
        return spec

    def cancel(self) -> None:
        spec = self.take()
        if spec is not None:
            spec.task.cancel()


def _retrieve(task: asyncio.Task[Transcript]) -> None:
    """A superseded speculation's failure is not news (the final recognition reports)."""
    if not task.cancelled():
        task.exception()


@dataclass
class AudioSocketListener:
    """`Listener` over AudioSocket run from AsyncAGI (the live path)."""

    ami: AgiRunner
    server: AudioSocketServer
    recognizer: Recognizer
    config: ListenerConfig
    clock: Callable[[], float] = time.monotonic
    on_turn: Callable[[TurnStats], None] | None = None
    last: TurnStats = field(default_factory=TurnStats)

    async def listen(
        self,
        *,
        channel: str,
        uniqueid: str,
        prompts: Sequence[str],
        no_input_s: float = 5.0,
        silence_s: float = 0.8,
        max_speech_s: float = 15.0,
        hints: Sequence[str] = (),
        keep_audio: bool = False,
        max_digits: int = 0,
        terminator: str = "#",
    ) -> Heard:
        prompt_pcm = b"".join(
            await asyncio.gather(*(self._load_prompt(channel, prompt) for prompt in prompts))
        )
        turn = Turn(
            TurnConfig(
                no_input_s=no_input_s,
                silence_s=silence_s,
                max_speech_s=max_speech_s,
                max_digits=max_digits,
                terminator=terminator,
            ),
            prompting=bool(prompt_pcm),
        )
        stats = TurnStats(channel=channel, prompt_s=len(prompt_pcm) / 2 / RATE)
        self.last = stats
        turn_id = str(uuidlib.uuid4())
        arrived = self.server.expect(turn_id)
        address = f"{self.config.audiosocket_host}:{self.server.port}"
        agi = asyncio.create_task(self.ami.agi(channel, f"EXEC AudioSocket {turn_id},{address}"))
        connection: Connection | None = None
        speculator = _Speculator(
            self.recognizer, hints, self.config.early_s, self.config.speculate_max_s
        )
        try:
            connection = await self._connected(channel, arrived, agi)
            await self._run(connection, turn, prompt_pcm, stats, speculator)
            ended_by_us = turn.reason is not None
            await connection.close(hangup=ended_by_us)
            async with asyncio.timeout(self.config.connect_timeout_s):
                result = await agi
            if not ended_by_us or (result.value or 0) < 0:
                raise ChannelGoneError(channel, f"caller hung up during listen turn {turn_id}")
        except BaseException:
            speculator.cancel()
            if connection is not None:
                await connection.close(hangup=False)
            agi.cancel()
            with contextlib.suppress(BaseException):
                await agi
            raise
        finally:
            self.server.forget(turn_id)
        heard = await self._recognize(turn, stats, speculator, keep_audio, uniqueid)
        stats.reason = turn.reason
        if self.on_turn is not None:
            self.on_turn(stats)
        return heard

    async def _load_prompt(self, channel: str, prompt: str) -> bytes:
        """A prompt's audio; a missing or unreadable file is skipped (as a failed STREAM FILE
        would be), so the caller still gets the turn."""
        path = self.config.host_prompt(prompt)
        try:
            return await asyncio.to_thread(load_prompt_pcm, path)
        except (OSError, EOFError, wave.Error, ValueError) as exc:
            log.warning("listen on %s: prompt %s (%s) skipped: %s", channel, prompt, path, exc)
            return b""

    async def _connected(
        self, channel: str, arrived: asyncio.Future[Connection], agi: asyncio.Task[AgiResult]
    ) -> Connection:
        waiting: set[asyncio.Future[object]] = {arrived, agi}  # type: ignore[arg-type]
        done, _ = await asyncio.wait(
            waiting,
            timeout=self.config.connect_timeout_s,
            return_when=asyncio.FIRST_COMPLETED,
        )
        if arrived in done:
            return arrived.result()
        if agi in done:
            result = agi.result()  # raises ChannelGoneError when the caller is gone
            raise AudioSocketUnavailableError(
                f"AudioSocket on {channel} returned {result.raw!r} before connecting to "
                f"{self.config.audiosocket_host}:{self.server.port}"
            )
        raise AudioSocketUnavailableError(
            f"AudioSocket on {channel}: no connection to {self.config.audiosocket_host}:"
            f"{self.server.port} within {self.config.connect_timeout_s} s"
        )

    async def _run(
        self,
        conn: Connection,
        turn: Turn,
        prompt_pcm: bytes,
        stats: TurnStats,
        speculator: _Speculator,
    ) -> None:
        """Play and listen until the turn ends or the socket closes."""
        stop_prompt = asyncio.Event()
        ended = asyncio.Event()

        def react(event: TurnEvent | None) -> None:
            if event is TurnEvent.BARGED_IN:
                stop_prompt.set()
            elif event is TurnEvent.ENDED:
                stats.ended_at = self.clock()
                stop_prompt.set()
                ended.set()

        async def send() -> None:
            start = self.clock()
            offset = 0
            frames = 0
            while not ended.is_set():
                if offset < len(prompt_pcm) and not stop_prompt.is_set():
                    chunk = prompt_pcm[offset : offset + FRAME_BYTES]
                    if len(chunk) < FRAME_BYTES:
                        chunk += bytes(FRAME_BYTES - len(chunk))
                    if offset == 0:
                        stats.first_audio_at = self.clock()
                    offset += FRAME_BYTES
                    stats.prompt_sent_s = min(offset, len(prompt_pcm)) / 2 / RATE
                    if offset >= len(prompt_pcm):
                        turn.prompts_finished()
                else:
                    chunk = SILENCE_FRAME
                stats.max_lag_s = max(stats.max_lag_s, self.clock() - (start + frames * FRAME_S))
                conn.write(AudioSocketCodec.send_audio(chunk))
                frames += 1
                delay = start + frames * FRAME_S - self.clock()
                if delay > 0:
                    await asyncio.sleep(delay)

        async def receive() -> None:
            while True:
                message = await conn.next_message()
                if isinstance(message, AudioIn):
                    react(turn.audio(message.pcm))
                    if turn.last_frame_speech:
                        stats.speech_end_at = self.clock()
                    speculator.maybe_start(turn)
                elif isinstance(message, Dtmf):
                    react(turn.key(message.digit))
                elif isinstance(message, Closed | Hangup):
                    return
                elif isinstance(message, ErrorReported):
                    log.warning("AudioSocket error from Asterisk (code %s)", message.code)
                if ended.is_set():
                    return

        async def watchdog() -> None:
            # the caller's RTP may pause (no frames, so no audio clock): count wall time then
            last = turn.audio_s
            while not ended.is_set():
                await asyncio.sleep(0.25)
                if turn.audio_s == last:
                    react(turn.tick(0.25))
                last = turn.audio_s

        tasks: list[asyncio.Task[object]] = [
            asyncio.create_task(f()) for f in (send, receive, watchdog)
        ]
        try:
            waiter = asyncio.create_task(ended.wait())
            tasks.append(waiter)
            await asyncio.wait([tasks[1], waiter], return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        if tasks[1].done() and not tasks[1].cancelled() and tasks[1].exception() is not None:
            raise tasks[1].exception()  # type: ignore[misc]

    async def _recognize(
        self,
        turn: Turn,
        stats: TurnStats,
        speculator: _Speculator,
        keep_audio: bool,
        uniqueid: str,
    ) -> Heard:
        spec = speculator.take()
        recording: Path | None = None
        text, confidence, latency = "", 0.0, 0.0
        pcm = turn.utterance
        if keep_audio and pcm:
            recording = await asyncio.to_thread(self._write_recording, uniqueid, pcm)
        if turn.heard_speech and pcm:
            # the speculation is good if no speech came after it started
            speech_samples = int(turn.last_speech_s * RATE)
            utterance_start = int((turn.audio_s - len(pcm) / 2 / RATE) * RATE)
            covered = spec is not None and utterance_start + spec.samples >= speech_samples
            try:
                if spec is not None and covered:
                    stats.speculative_hits += 1
                    result = await spec.task
                else:
                    if spec is not None:
                        spec.task.cancel()
                    result = await speculator.transcribe(pcm)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                raise RecognitionError(f"recognition failed for call {uniqueid}: {exc}") from exc
            stats.transcript_at = self.clock()
            text, confidence = result.text, result.confidence
            if stats.speech_end_at is not None:
                latency = stats.transcript_at - stats.speech_end_at
        elif spec is not None:
            spec.task.cancel()
        return Heard(
            transcript=text,
            confidence=confidence,
            digits=turn.digits,
            barged_in=turn.barged_in,
            no_input=turn.reason is EndReason.NO_INPUT
            or (turn.reason is EndReason.DIGIT_TIMEOUT and not turn.digits),
            speech_s=turn.speech_s,
            latency_s=latency,
            recording=recording,
        )

    def _write_recording(self, uniqueid: str, pcm: bytes) -> Path:
        name = f"listen-{uniqueid.replace('.', '-')}-{uuidlib.uuid4().hex[:8]}.wav"
        path = self.config.recordings_dir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        with wave.open(str(path), "wb") as wav:
            wav.setnchannels(1)
            wav.setsampwidth(2)
            wav.setframerate(RATE)
            wav.writeframes(pcm)
        return path


@dataclass
class RecordListener:
    """`Listener` without AudioSocket: ``STREAM FILE`` (keys stop it) then ``RECORD FILE``.

    Loses barge-in by voice (Asterisk plays the prompt whole unless a key is pressed); keys
    work in the same turn: a key during a prompt or the recording ends it, and the remaining
    keys (``max_digits``) are read with ``WAIT FOR DIGIT``. Recognition runs on the recorded
    file in the worker pool.
    """

    ami: AgiRunner
    recognizer: Recognizer
    config: ListenerConfig
    clock: Callable[[], float] = time.monotonic
    reader: Callable[[Path], Awaitable[bytes]] | None = None

    async def listen(
        self,
        *,
        channel: str,
        uniqueid: str,
        prompts: Sequence[str],
        no_input_s: float = 5.0,
        silence_s: float = 0.8,
        max_speech_s: float = 15.0,
        hints: Sequence[str] = (),
        keep_audio: bool = False,
        max_digits: int = 0,
        terminator: str = "#",
    ) -> Heard:
        keys = "0123456789*#"
        digits = ""
        for prompt in prompts:
            result = await self.ami.agi(channel, f'STREAM FILE {prompt} "{keys}"')
            _check_alive(channel, result, prompt)
            if (result.value or 0) > 0:
                digits = chr(result.value or 0)
                break
        name = f"listen-{uniqueid.replace('.', '-')}-{uuidlib.uuid4().hex[:8]}"
        recorded = b""
        if not digits:
            # res_agi counts s= silence from the start of the recording too (not only after
            # speech), so it must allow the caller no_input_s to begin: utterances in this
            # fallback end after that much trailing silence, not silence_s.
            silence = max(1, math.ceil(no_input_s))
            line = (
                f'RECORD FILE {self.config.pbx_recordings}/{name} wav "{keys}" '
                f"{int((no_input_s + max_speech_s) * 1000)} 0 s={silence}"
            )
            result = await self.ami.agi(channel, line, timeout=no_input_s + max_speech_s + 30)
            _check_alive(channel, result, "RECORD FILE")
            # res_agi: "(dtmf)" carries the key; "(timeout)" carries ast_waitfor's leftover ms
            if result.data == "dtmf" and (result.value or 0) > 0:
                digits = chr(result.value or 0)
            else:
                host = self.config.recordings_dir / f"{name}.wav"
                read = self.reader or _read_pcm
                recorded = await read(host)
        barged = bool(digits)
        if digits:
            return await self._keys(channel, digits, max_digits, terminator, no_input_s, barged)
        turn = Turn(
            TurnConfig(no_input_s=no_input_s, silence_s=silence_s, max_speech_s=max_speech_s),
            prompting=False,
        )
        for i in range(0, len(recorded) - FRAME_BYTES + 1, FRAME_BYTES):
            if turn.audio(recorded[i : i + FRAME_BYTES]) is TurnEvent.ENDED:
                break
        if not turn.heard_speech:
            host = self.config.recordings_dir / f"{name}.wav"
            if not keep_audio:
                with contextlib.suppress(OSError):
                    host.unlink()
            return Heard("", 0.0, "", False, True, 0.0, 0.0, None)
        started = self.clock()
        result_asr = await self.recognizer.transcribe(
            turn.utterance, rate=RATE, hotwords=tuple(hints) or None
        )
        host = self.config.recordings_dir / f"{name}.wav"
        if not keep_audio:
            with contextlib.suppress(OSError):
                host.unlink()
        return Heard(
            transcript=result_asr.text,
            confidence=result_asr.confidence,
            digits="",
            barged_in=False,
            no_input=False,
            speech_s=turn.speech_s,
            latency_s=self.clock() - started,
            recording=host if keep_audio else None,
        )

    async def _keys(
        self,
        channel: str,
        first: str,
        max_digits: int,
        terminator: str,
        no_input_s: float,
        barged: bool,
    ) -> Heard:
        turn = Turn(TurnConfig(max_digits=max_digits, terminator=terminator), prompting=False)
        event = turn.key(first)
        while event is not TurnEvent.ENDED:
            result = await self.ami.agi(channel, f"WAIT FOR DIGIT {int(no_input_s * 1000)}")
            _check_alive(channel, result, "WAIT FOR DIGIT")
            if (result.value or 0) <= 0:
                break
            event = turn.key(chr(result.value or 0))
        return Heard("", 0.0, turn.digits, barged, not turn.digits, 0.0, 0.0, None)


def _check_alive(channel: str, result: AgiResult, what: str) -> None:
    if (result.value or 0) < 0:
        raise ChannelGoneError(channel, f"caller hung up during {what}")


async def _read_pcm(path: Path) -> bytes:
    return await asyncio.to_thread(load_prompt_pcm, path)
