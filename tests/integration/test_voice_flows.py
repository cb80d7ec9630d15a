"""Voice calls end to end: sipp dials the REAL private Asterisk playing real Vietnamese speech
(VIVOS recordings spliced into one caller recording) and DTMF; our controller runs the real voice
menu (dialplans/menu.yaml `ask` nodes) with the real AudioSocket Listener and Whisper in the
speech worker pool; cases and call records land in a real (SQLite) database.

Prompts are short tones (as in test_call_flows: their timing matters here, not their words);
read-backs are synthesised for real, and what Asterisk was told to play is checked against the
database: the case number the caller heard equals the case's reference.

Timing: each utterance of the caller recording starts a few seconds after the previous one ends
(end of speech + recognition + next turn), inside the next turn's listening window (its prompt,
which speech interrupts, plus the no-input time).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import wave
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
import pytest_asyncio
from sqlalchemy import Engine, select

from cases.db import make_engine, session_factory, upgrade
from cases.dossiers import DossierCodeFormat, import_dossiers
from cases.models import Case
from hotline.settings import load_settings
from hotline.wiring import build_call_path
from ivr.ami import AmiClient
from ivr.calllog import CallLog
from ivr.controller import Controller
from ivr.flows import TransferNode
from ivr.sipp import place_call
from ivr.voice.audiosocket import AudioSocketServer
from ivr.voice.listener import AudioSocketListener, ListenerConfig
from speech.asr import AsrConfig
from speech.text import read_digits
from speech.workers import PoolConfig, SpeechPool
from tests.fixtures.pbx import RunningPbx
from tests.integration.test_call_flows import (
    DOSSIER_KEYS,
    SAMPLE_DOSSIERS,
    Hotline,
    RecordingSynth,
    _explain,
    _steps,
    write_test_prompts,
)

pytestmark = [
    pytest.mark.asterisk,
    pytest.mark.models,
    pytest.mark.slow,
    pytest.mark.asyncio(loop_scope="module"),
]

DATA = Path(__file__).resolve().parents[1] / "data"
RATE = 16000


def utterance(name: str) -> np.ndarray:
    for folder in ("vivos-flows", "vivos"):
        path = DATA / folder / name
        if path.is_file():
            with wave.open(str(path)) as wav:
                assert wav.getframerate() == RATE and wav.getnchannels() == 1
                return np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2")
    raise FileNotFoundError(f"{name} is in neither tests/data/vivos-flows nor tests/data/vivos")


def caller_audio(path: Path, plan: list[tuple[float, str]], tail_s: float = 1.0) -> Path:
    """One recording: each (start second, VIVOS file) placed on silence; returns `path`."""
    pieces = [(int(at * RATE), utterance(name)) for at, name in plan]
    end = max(start + len(samples) for start, samples in pieces) + int(tail_s * RATE)
    track = np.zeros(end, dtype="<i2")
    for start, samples in pieces:
        track[start : start + len(samples)] = samples
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes(track.tobytes())
    return path


@dataclasses.dataclass
class Voice:
    server: AudioSocketServer
    pool: SpeechPool


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def voice(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Voice]:
    """The speech pool and AudioSocket server; a test module may set ``WHISPER_WINDOW``."""
    settings = load_settings()
    window = getattr(request.module, "WHISPER_WINDOW", settings.whisper_window)
    tmp = tmp_path_factory.mktemp("voiceflows")
    server = AudioSocketServer("127.0.0.1", 0)
    await server.start()
    pool = SpeechPool(
        PoolConfig(
            workers=1,
            asr=AsrConfig.from_settings(settings, engine="whisper", whisper_window=window),
            prompts_path=tmp / "prompts",
            recorded_prompts_path=tmp / "recorded",
        )
    )
    await pool.start()
    try:
        yield Voice(server, pool)
    finally:
        await pool.close()
        await server.close()


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'hotline.db'}")
    upgrade(engine)
    yield engine
    engine.dispose()


@contextlib.asynccontextmanager
async def voice_hotline(
    pbx: RunningPbx, engine: Engine, voice: Voice, digit_timeout_ms: int = 6000
) -> AsyncIterator[Hotline]:
    """Our controller with voice turns on, in-process, on the private PBX."""
    prompts = pbx.config.prompts_dir / "calltest"
    write_test_prompts(prompts, only_missing=True)
    settings = load_settings(digit_timeout_ms=digit_timeout_ms)
    path = build_call_path(
        settings, engine=engine, prompts_dir=prompts, recordings_dir=pbx.config.recordings_dir
    )
    host, port = pbx.ami_address
    ami = AmiClient(host, port, pbx.config.ami_user, pbx.config.ami_secret, keepalive_s=None)
    listener = AudioSocketListener(
        ami=ami,
        server=voice.server,
        recognizer=voice.pool,
        config=ListenerConfig(
            prompts_dir=pbx.config.prompts_dir, recordings_dir=pbx.config.recordings_dir
        ),
    )
    path = path.with_listener(listener)
    nodes = dict(path.flow.nodes)
    agent = nodes["agent"]
    assert isinstance(agent, TransferNode)
    nodes["agent"] = dataclasses.replace(agent, timeout_s=2)  # nobody answers: quickly
    path = dataclasses.replace(path, flow=dataclasses.replace(path.flow, nodes=nodes))
    texts: list[str] = []
    services = dataclasses.replace(path.services, tts=RecordingSynth(path.services.tts, texts))
    calllog = CallLog(path.recorder)
    executor = ThreadPoolExecutor(max_workers=4)
    controller = Controller(
        ami=ami,
        flow=path.flow,
        session_config=dataclasses.replace(path.session_config, schedule=None),  # agents: always
        services=services,
        calllog=calllog,
        runner_config=dataclasses.replace(
            path.runner_config, pbx_prompts="/var/lib/hotline/prompts/calltest", wait_chunk_ms=500
        ),
        executor=executor,
        hotline_number=pbx.config.hotline_number,
        router=path.router,
        office_hours=None,  # agents always there: the queue itself is tested elsewhere
    )
    controller.attach()
    await ami.connect()
    await asyncio.wait_for(controller.wait_connected(), 10)
    try:
        yield Hotline(pbx, engine, ami, controller, texts)
    finally:
        await controller.stop(5)
        await ami.close()
        calllog.close()
        executor.shutdown()


async def test_spoken_complaint_becomes_a_case_and_its_number_is_read_back(
    pbx: RunningPbx, engine: Engine, voice: Voice, tmp_path: Path
) -> None:
    audio = caller_audio(
        tmp_path / "caller.wav",
        [
            (3.5, "VIVOSSPK01_R005.wav"),  # "khủng hoảng môi trường…": complaint, environment
            (11.0, "VIVOSSPK01_R017.wav"),  # asked the place: no place in it -> asked again
            (18.0, "VIVOSSPK01_R018.wav"),  # no place again -> go on without a place
            (25.5, "VIVOSSPK01_R007.wav"),  # the description, recorded and transcribed
            (37.0, "VIVOSSPK01_R008.wav"),  # "có …" during the summary: yes, file it
        ],
    )
    async with voice_hotline(pbx, engine, voice) as hotline:
        caller = "0912200001"
        spec = hotline.spec(
            tmp_path, caller, wav=audio, wait_before_s=0.0, hangup_after_s=8.0, max_call_s=90.0
        )
        report = await place_call(spec)
        record = await hotline.closed_record(caller, timeout_s=20)
    assert report.ok, _explain(report, record, pbx)
    steps = _steps(record)
    speech = [s for s in record.steps if s.kind == "speech"]
    heard = [(s.node, s.detail.get("transcript"), s.detail.get("decision")) for s in speech]
    assert speech[0].detail["intent"] == "complaint", heard
    assert speech[0].detail["category"] == "environment", heard
    assert "node:report_place" in steps and "node:report_describe" in steps, heard
    assert float(speech[0].detail["latency_s"]) < 5 and float(speech[0].detail["speech_s"]) > 2
    with session_factory(engine)() as session:
        cases = session.scalars(select(Case)).all()
        assert len(cases) == 1, (heard, steps)
        case = cases[0]
        assert case.category == "environment"
        assert case.call_uniqueid == record.uniqueid
        describe = next(s for s in speech if s.node == "report_describe")
        assert case.transcript == describe.detail["transcript"] != ""
        assert case.audio_ref.startswith("recordings/")
        kept = pbx.config.recordings_dir / case.audio_ref.removeprefix("recordings/")
        assert kept.is_file(), case.audio_ref
        reference = case.reference
    # What Asterisk was told to play: the read-back names the case's number, twice, digit by digit
    readback = next(
        s
        for s in record.steps
        if s.kind == "prompt" and "Mã số phản ánh" in s.detail.get("text", "")
    )
    spoken = read_digits(reference, groups=(4, 4))
    assert readback.detail["text"].count(spoken) == 2, (readback.detail["text"], reference)
    assert (pbx.config.prompts_dir / "calltest" / f"{readback.prompt}.wav").is_file()
    assert record.outcome == "completed"


async def test_keypad_dossier_lookup_during_the_voice_menu(
    pbx: RunningPbx, engine: Engine, voice: Voice, tmp_path: Path
) -> None:
    import_dossiers(engine, SAMPLE_DOSSIERS, DossierCodeFormat("ddd.dd.dd.Hdd-dddddd-dddd"))
    async with voice_hotline(pbx, engine, voice) as hotline:
        caller = "0912200002"
        spec = hotline.spec(
            tmp_path,
            caller,
            dtmf=f"1,{DOSSIER_KEYS}#",
            wait_before_s=2.5,
            hangup_after_s=6.0,
            key_ms=120,
            gap_ms=150,
        )
        report = await place_call(spec)
        record = await hotline.closed_record(caller)
    assert report.ok, _explain(report, record, pbx)
    steps = _steps(record)
    assert "digits:voice_main=1" in steps, steps
    assert f"digits:dossier_voice={DOSSIER_KEYS}" in steps, steps
    lookup = next(s for s in record.steps if s.kind == "lookup")
    assert lookup.detail["outcome"] == "found"
    readback = next(s for s in record.steps if s.kind == "prompt" and s.prompt.startswith("tts/"))
    assert "đã có kết quả, đang chờ trả" in readback.detail["text"]
    assert record.outcome == "completed"


async def test_silence_ends_politely(
    pbx: RunningPbx, engine: Engine, voice: Voice, tmp_path: Path
) -> None:
    async with voice_hotline(pbx, engine, voice, digit_timeout_ms=1500) as hotline:
        caller = "0912200003"
        report = await place_call(hotline.spec(tmp_path, caller, hangup_after_s=None))
        record = await hotline.closed_record(caller)
    assert report.ok, _explain(report, record, pbx)
    prompts = [s.prompt for s in record.steps if s.kind == "prompt"]
    assert prompts == ["welcome"] + ["main_menu_voice", "voice_no_input"] * 3 + [
        "main_menu_voice",
        "goodbye_failures",
    ], prompts
    assert [s.detail["decision"] for s in record.steps if s.kind == "speech"] == ["no_input"] * 4
    assert record.outcome == "completed"


async def test_nonsense_falls_back_to_the_keypad_then_ends_politely(
    pbx: RunningPbx, engine: Engine, voice: Voice, tmp_path: Path
) -> None:
    audio = caller_audio(
        tmp_path / "nonsense.wav",
        # the second sentence 2.5 s after the first ends: inside the re-ask turn's window
        # (prompts + 4 s no-input) whether the turn took ~0.7 s (now) or ~2 s (full window)
        [(3.5, "VIVOSSPK01_R017.wav"), (8.5, "VIVOSSPK01_R018.wav")],
    )
    async with voice_hotline(pbx, engine, voice, digit_timeout_ms=4000) as hotline:
        caller = "0912200004"
        spec = hotline.spec(
            tmp_path, caller, wav=audio, wait_before_s=0.0, hangup_after_s=None, max_call_s=60.0
        )
        report = await place_call(spec)
        record = await hotline.closed_record(caller)
    assert report.ok, _explain(report, record, pbx)
    speech = [s for s in record.steps if s.kind == "speech"]
    assert [s.detail["decision"] for s in speech] == ["reask", "reask"], [s.detail for s in speech]
    notes = [s.detail for s in record.steps if s.kind == "note"]
    assert {"keypad_fallback": "main", "no_matches": "2"} in notes
    prompts = [s.prompt for s in record.steps if s.kind == "prompt"]
    assert prompts[-1] == "goodbye_failures" and "main_menu" in prompts
    assert record.outcome == "completed"


async def test_no_agent_then_a_callback_request_by_key(
    pbx: RunningPbx, engine: Engine, voice: Voice, tmp_path: Path
) -> None:
    async with voice_hotline(pbx, engine, voice) as hotline:
        caller = "0912200005"
        spec = hotline.spec(tmp_path, caller, dtmf="0,,,,,3", wait_before_s=2.5, hangup_after_s=8.0)
        report = await place_call(spec)
        record = await hotline.closed_record(caller)
    assert report.ok, _explain(report, record, pbx)
    steps = _steps(record)
    assert "digits:voice_main=0" in steps and "node:agent" in steps, steps
    queue = [s.detail["queue_result"] for s in record.steps if "queue_result" in s.detail]
    assert queue and queue[0] in ("TIMEOUT", "JOINEMPTY"), queue
    assert "digits:agent_busy_voice=3" in steps, steps
    with session_factory(engine)() as session:
        case = session.scalars(select(Case)).one()
        assert case.category == "other" and "gọi lại" in case.description
        assert case.call_uniqueid == record.uniqueid
        reference = case.reference
    said = [s.detail["text"] for s in record.steps if s.kind == "prompt" and "text" in s.detail]
    assert any(read_digits(reference, groups=(4, 4)) in text for text in said), said
    assert record.outcome == "completed"
