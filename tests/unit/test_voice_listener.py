"""The listeners (ivr.voice.listener) over small fakes below them: a fake Asterisk that answers
``EXEC AudioSocket`` by connecting to our real `AudioSocketServer` on loopback and playing a
scripted caller (20 ms frames, keys, a hang-up), and a fake recogniser. Also the RECORD FILE
fallback over a fake AGI."""

from __future__ import annotations

import asyncio
import contextlib
import time
import wave
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

from ivr.ami.agi import AgiResult, parse_agi_result
from ivr.ami.errors import ChannelGoneError
from ivr.voice.audiosocket import (
    NEED_DATA,
    AudioIn,
    AudioSocketCodec,
    AudioSocketServer,
    Closed,
    Hangup,
)
from ivr.voice.errors import AudioSocketUnavailableError
from ivr.voice.listener import AudioSocketListener, ListenerConfig, RecordListener, TurnStats

RNG = np.random.default_rng(3)
FRAME = 0.02


def speech(seconds: float) -> list[bytes]:
    n = round(seconds / FRAME)
    t = np.arange(160) / 8000
    return [
        (4000 * np.sin(2 * np.pi * 300 * t) + RNG.normal(0, 200, 160)).astype("<i2").tobytes()
        for _ in range(n)
    ]


def quiet(seconds: float) -> list[bytes]:
    return [RNG.normal(0, 8, 160).astype("<i2").tobytes() for _ in range(round(seconds / FRAME))]


Step = bytes | str  # a 20 ms frame, a key, or "HANGUP"


@dataclass
class FakeAsterisk:
    """Plays `script` into the AudioSocket like app_audiosocket does, in real time."""

    script: list[Step]
    received: list[bytes] = field(default_factory=list)
    commands: list[str] = field(default_factory=list)
    connect: bool = True

    async def agi(self, channel: str, command: str, timeout: float | None = None) -> AgiResult:  # noqa: ASYNC109
        self.commands.append(command)
        if not self.connect:
            return parse_agi_result("200 result=-1")
        uuid, address = command.removeprefix("EXEC AudioSocket ").split(",")
        host, port = address.rsplit(":", 1)
        reader, writer = await asyncio.open_connection(host, int(port))
        writer.write(AudioSocketCodec.send_uuid(uuid))
        codec = AudioSocketCodec()
        hung_up = asyncio.Event()

        async def read() -> None:
            while True:
                event = codec.next_event()
                if event is NEED_DATA:
                    codec.receive_data(await reader.read(4096))
                elif isinstance(event, AudioIn):
                    self.received.append(event.pcm)
                elif isinstance(event, Hangup | Closed):
                    hung_up.set()
                    return

        reading = asyncio.create_task(read())
        start = time.monotonic()
        sent = 0
        try:
            for step in [*self.script, *quiet(30)]:
                if hung_up.is_set():
                    break
                if step == "HANGUP":
                    writer.close()
                    raise ChannelGoneError(channel, f"{channel} hung up during AudioSocket")
                if isinstance(step, str):
                    writer.write(AudioSocketCodec.send_dtmf(step))
                    continue
                writer.write(AudioSocketCodec.send_audio(step))
                sent += 1
                await asyncio.sleep(max(0.0, start + sent * FRAME - time.monotonic()))
            await asyncio.wait_for(hung_up.wait(), 5)
            return parse_agi_result("200 result=0")
        finally:
            reading.cancel()
            with contextlib.suppress(asyncio.CancelledError, ConnectionError):
                await reading
            writer.close()


@dataclass
class Said:
    text: str
    confidence: float


@dataclass
class FakeRecognizer:
    text: str = "tôi muốn phản ánh về rác thải"
    delay_s: float = 0.0
    calls: list[int] = field(default_factory=list)

    async def transcribe(
        self, audio: bytes, *, rate: int = 8000, hotwords: Sequence[str] | None = None
    ) -> Said:
        self.calls.append(len(audio))
        await asyncio.sleep(self.delay_s)
        return Said(self.text, 0.9)


def prompt(dir_: Path, name: str, seconds: float) -> str:
    path = dir_ / f"{name}.wav"
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(8000)
        wav.writeframes((np.ones(int(8000 * seconds)) * 1000).astype("<i2").tobytes())
    return f"/var/lib/hotline/prompts/{name}"


@pytest.fixture
async def server() -> AsyncIterator[AudioSocketServer]:
    srv = AudioSocketServer("127.0.0.1", 0)
    await srv.start()
    yield srv
    await srv.close()


def make(
    server: AudioSocketServer, tmp_path: Path, script: list[Step], **kw: object
) -> tuple[AudioSocketListener, FakeAsterisk, FakeRecognizer]:
    ast = FakeAsterisk(script)
    rec = FakeRecognizer(**kw)  # type: ignore[arg-type]
    config = ListenerConfig(prompts_dir=tmp_path / "p", recordings_dir=tmp_path / "r")
    return AudioSocketListener(ast, server, rec, config), ast, rec


async def test_speech_after_the_prompt_is_recognised_and_kept(
    server: AudioSocketServer, tmp_path: Path
) -> None:
    listener, ast, rec = make(server, tmp_path, [*quiet(0.7), *speech(1.0), *quiet(1.0)])
    heard = await listener.listen(
        channel="PJSIP/a-1",
        uniqueid="1.1",
        prompts=[prompt(tmp_path / "p", "hello", 0.5)],
        silence_s=0.4,
        keep_audio=True,
    )
    assert (heard.transcript, heard.confidence, heard.barged_in, heard.no_input) == (
        "tôi muốn phản ánh về rác thải",
        0.9,
        False,
        False,
    )
    assert ast.commands[0].startswith("EXEC AudioSocket ")
    assert ast.commands[0].endswith(f",127.0.0.1:{server.port}")
    assert 0.9 < heard.speech_s < 1.6 and 0 <= heard.latency_s < 1.0
    assert heard.recording is not None and heard.recording.parent == tmp_path / "r"
    assert listener.last.prompt_sent_s == pytest.approx(0.5)
    # the prompt went out first, whole, then silence frames kept the socket busy
    assert ast.received[:25] == [b"\xe8\x03" * 160] * 25
    assert len(rec.calls) == 1 and server.waiting == 0


async def test_speech_during_the_prompt_stops_it(server: AudioSocketServer, tmp_path: Path) -> None:
    listener, _, _ = make(server, tmp_path, [*quiet(0.4), *speech(0.6), *quiet(1.0)])
    heard = await listener.listen(
        channel="PJSIP/a-2",
        uniqueid="1.2",
        prompts=[prompt(tmp_path / "p", "long", 5.0)],
        silence_s=0.4,
    )
    assert heard.barged_in and heard.transcript
    assert 0.4 < listener.last.prompt_sent_s < 0.8  # onset at 0.4 s + 0.12 s of VAD


async def test_a_key_ends_the_turn_and_keys_are_collected(
    server: AudioSocketServer, tmp_path: Path
) -> None:
    listener, _, rec = make(server, tmp_path, [*quiet(0.3), "1", *quiet(0.2), "2", "#"])
    heard = await listener.listen(
        channel="PJSIP/a-3",
        uniqueid="1.3",
        prompts=[prompt(tmp_path / "p", "long", 5.0)],
        max_digits=8,
    )
    assert (heard.digits, heard.barged_in, heard.transcript, heard.no_input) == (
        "12",
        True,
        "",
        False,
    )
    assert rec.calls == [] and listener.last.prompt_sent_s < 1.0


async def test_silence_is_no_input(server: AudioSocketServer, tmp_path: Path) -> None:
    listener, _, rec = make(server, tmp_path, [])
    heard = await listener.listen(
        channel="PJSIP/a-4",
        uniqueid="1.4",
        prompts=[prompt(tmp_path / "p", "hello", 0.3)],
        no_input_s=0.6,
    )
    assert heard.no_input and heard.transcript == "" and rec.calls == []


async def test_hang_up_is_channel_gone_and_nothing_leaks(
    server: AudioSocketServer, tmp_path: Path
) -> None:
    listener, _, _ = make(server, tmp_path, [*quiet(0.3), "HANGUP"])
    before = len(asyncio.all_tasks())
    with pytest.raises(ChannelGoneError):
        await listener.listen(
            channel="PJSIP/a-5", uniqueid="1.5", prompts=[prompt(tmp_path / "p", "l", 3.0)]
        )
    await asyncio.sleep(0)
    assert server.waiting == 0 and len(asyncio.all_tasks()) <= before


async def test_no_connection_is_a_clear_error(server: AudioSocketServer, tmp_path: Path) -> None:
    listener, ast, _ = make(server, tmp_path, [])
    ast.connect = False
    with pytest.raises(AudioSocketUnavailableError, match=r"returned .* before connecting"):
        await listener.listen(channel="PJSIP/a-6", uniqueid="1.6", prompts=[])
    assert server.waiting == 0


@dataclass
class Switch:
    """One fake Asterisk per channel behind one AGI runner (as the real AmiClient is shared)."""

    lines: dict[str, FakeAsterisk]

    async def agi(self, channel: str, command: str, timeout: float | None = None) -> AgiResult:  # noqa: ASYNC109
        return await self.lines[channel].agi(channel, command, timeout)


async def test_a_slow_recognition_does_not_delay_another_callers_prompt(
    server: AudioSocketServer, tmp_path: Path
) -> None:
    """One listener serves two calls at once (as wired). Caller A's recognition takes 1.5 s
    (awaited, off the loop); caller B's prompt keeps its 20 ms pacing meanwhile."""
    switch = Switch(
        {"A": FakeAsterisk([*speech(0.5), *quiet(0.5)]), "B": FakeAsterisk([*quiet(3.0)])}
    )
    stats: dict[str, TurnStats] = {}
    listener = AudioSocketListener(
        switch,
        server,
        FakeRecognizer(delay_s=1.5),
        ListenerConfig(prompts_dir=tmp_path / "p", recordings_dir=tmp_path / "r"),
        on_turn=lambda s: stats.__setitem__(s.channel, s),
    )
    heard_a, heard_b = await asyncio.gather(
        listener.listen(channel="A", uniqueid="2.1", prompts=[], silence_s=0.3),
        listener.listen(
            channel="B",
            uniqueid="2.2",
            prompts=[prompt(tmp_path / "p", "b", 2.0)],
            no_input_s=0.3,
        ),
    )
    assert heard_a.transcript and heard_b.no_input
    assert stats["A"].transcript_at is not None and stats["B"].first_audio_at is not None
    assert stats["A"].transcript_at - stats["A"].speech_end_at > 1.5  # type: ignore[operator]
    assert stats["B"].prompt_sent_s == pytest.approx(2.0)
    # a loop waiting on A's recognition would make one of B's frames ~1.5 s late; a loaded
    # machine may delay a frame by tens of ms (this bound once failed at 0.05 s under load)
    assert stats["B"].max_lag_s < 0.5, stats["B"]


@dataclass
class FakeAgi:
    """AGI replies for the RECORD FILE listener, in order."""

    replies: list[str]
    commands: list[str] = field(default_factory=list)

    async def agi(self, channel: str, command: str, timeout: float | None = None) -> AgiResult:  # noqa: ASYNC109
        self.commands.append(command)
        return parse_agi_result(self.replies.pop(0))


async def test_record_fallback_transcribes_the_recording(tmp_path: Path) -> None:
    pcm = b"".join([*quiet(0.5), *speech(1.0), *quiet(1.0)])

    async def read(path: Path) -> bytes:
        assert path.parent == tmp_path / "r" and path.name.startswith("listen-1-7-")
        return pcm

    agi = FakeAgi(["200 result=0 endpos=8000", "200 result=18984 (timeout) endpos=20000"])
    rec = FakeRecognizer()
    config = ListenerConfig(prompts_dir=tmp_path / "p", recordings_dir=tmp_path / "r")
    listener = RecordListener(agi, rec, config, reader=read)
    heard = await listener.listen(channel="C", uniqueid="1.7", prompts=["/x/hello"])
    assert heard.transcript == rec.text and not heard.barged_in and not heard.no_input
    assert agi.commands[0] == 'STREAM FILE /x/hello "0123456789*#"'
    assert agi.commands[1].startswith("RECORD FILE /var/lib/hotline/recordings/listen-1-7-")
    assert agi.commands[1].endswith(' wav "0123456789*#" 20000 0 s=5')


async def test_record_fallback_keys_during_the_prompt(tmp_path: Path) -> None:
    agi = FakeAgi(["200 result=49 endpos=100", "200 result=50", "200 result=35"])
    config = ListenerConfig(prompts_dir=tmp_path / "p", recordings_dir=tmp_path / "r")
    listener = RecordListener(agi, FakeRecognizer(), config)
    heard = await listener.listen(channel="C", uniqueid="1.8", prompts=["/x/a"], max_digits=6)
    assert (heard.digits, heard.barged_in) == ("12", True)
    assert agi.commands[1:] == ["WAIT FOR DIGIT 5000", "WAIT FOR DIGIT 5000"]


async def test_record_fallback_hang_up(tmp_path: Path) -> None:
    agi = FakeAgi(["200 result=-1"])
    config = ListenerConfig(prompts_dir=tmp_path / "p", recordings_dir=tmp_path / "r")
    with pytest.raises(ChannelGoneError):
        await RecordListener(agi, FakeRecognizer(), config).listen(
            channel="C", uniqueid="1.9", prompts=["/x/a"]
        )


async def test_record_fallback_a_key_during_the_recording(tmp_path: Path) -> None:
    agi = FakeAgi(["200 result=0 endpos=8000", "200 result=51 (dtmf) endpos=1200"])
    config = ListenerConfig(prompts_dir=tmp_path / "p", recordings_dir=tmp_path / "r")
    heard = await RecordListener(agi, FakeRecognizer(), config).listen(
        channel="C", uniqueid="1.10", prompts=["/x/a"]
    )
    assert (heard.digits, heard.transcript, heard.no_input) == ("3", "", False)


async def test_a_missing_prompt_is_skipped(server: AudioSocketServer, tmp_path: Path) -> None:
    listener, _, _ = make(server, tmp_path, [])
    heard = await listener.listen(
        channel="PJSIP/a-7",
        uniqueid="1.11",
        prompts=["/var/lib/hotline/prompts/nope", prompt(tmp_path / "p", "ok", 0.2)],
        no_input_s=0.2,
    )
    assert heard.no_input and listener.last.prompt_s == pytest.approx(0.2)


async def test_speculation_at_a_pause_is_used_when_no_speech_follows(
    server: AudioSocketServer, tmp_path: Path
) -> None:
    listener, _, rec = make(server, tmp_path, [*speech(1.0), *quiet(1.0)])
    await listener.listen(channel="S1", uniqueid="3.1", prompts=[], silence_s=0.6)
    assert listener.last.speculative_hits == 1 and len(rec.calls) == 1


async def test_speech_after_a_speculation_is_recognised_again_in_full(
    server: AudioSocketServer, tmp_path: Path
) -> None:
    script: list[Step] = [*speech(0.6), *quiet(0.35), *speech(0.6), *quiet(1.0)]
    listener, _, rec = make(server, tmp_path, script)
    await listener.listen(channel="S2", uniqueid="3.2", prompts=[], silence_s=0.6)
    # one speculation per pause; the second covers all the speech and is the one used
    assert len(rec.calls) == 2 and rec.calls[1] > rec.calls[0] + 0.5 * 16000
    assert listener.last.speculative_hits == 1


async def test_no_speculation_on_long_utterances(server: AudioSocketServer, tmp_path: Path) -> None:
    listener, _, rec = make(server, tmp_path, [*speech(1.0), *quiet(1.0)])
    listener.config = ListenerConfig(
        prompts_dir=tmp_path / "p", recordings_dir=tmp_path / "r", speculate_max_s=0.5
    )
    await listener.listen(channel="S3", uniqueid="3.3", prompts=[], silence_s=0.6)
    assert listener.last.speculative_hits == 0 and len(rec.calls) == 1
