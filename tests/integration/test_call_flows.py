"""Whole calls: sipp dials the real (private) Asterisk, our controller runs the real menu over
AsyncAGI, and the call record lands in a real (SQLite) database.

The controller runs in-process against the private PBX's AMI port. The prompts it plays are
short tones written under ``<pbx prompts>/calltest/`` (the flow's audio content does not matter
here, its timing does; real prompts are 5-15 s long); dynamic read-backs are synthesised for real
(espeak-ng). Keys are RFC 4733 events sent by sipp.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import math
import os
import signal
import struct
import subprocess
import sys
import wave
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select

from cases.calls import get_call
from cases.db import make_engine, session_factory, upgrade
from cases.dossiers import DossierCodeFormat, import_dossiers
from cases.models import CallRecord
from hotline.settings import load_settings
from hotline.wiring import build_call_path
from ivr.ami import AmiClient
from ivr.calllog import CallLog
from ivr.controller import Controller
from ivr.flows import Flow, load_prompts
from ivr.sipp import CallReport, CallSpec, HangupParty, place_call
from tests.fixtures.pbx import RunningPbx

pytestmark = [pytest.mark.asterisk, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
SAMPLE_DOSSIERS = REPO / "data" / "dossiers-sample.csv"
# 000.25.13.H12-261108-0001 (status done) typed on a keypad: the digits of the template slots
DOSSIER_KEYS = "0002513122611080001"
LONG_PROMPTS = {"welcome": 1.5}


def _tone(path: Path, seconds: float, freq: float = 440.0) -> None:
    rate = 8000
    frames = b"".join(
        struct.pack("<h", int(6000 * math.sin(2 * math.pi * freq * n / rate)))
        for n in range(int(rate * seconds))
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(frames)


def write_test_prompts(directory: Path, *, only_missing: bool = False) -> None:
    """A short tone per prompt id of dialplans/prompts.yaml (welcome a little longer)."""
    for prompt_id in load_prompts(REPO / "dialplans" / "prompts.yaml"):
        target = directory / f"{prompt_id}.wav"
        if only_missing and target.exists():
            continue
        _tone(target, LONG_PROMPTS.get(prompt_id, 0.3))


@dataclasses.dataclass
class Hotline:
    pbx: RunningPbx
    engine: Engine
    ami: AmiClient
    controller: Controller
    tts_texts: list[str]

    def spec(self, tmp_path: Path, caller: str, **kwargs: Any) -> CallSpec:
        host, port = self.pbx.sip_address
        fields: dict[str, Any] = {
            "sip_host": host,
            "sip_port": port,
            "number": self.pbx.config.hotline_number,
            "caller_id": caller,
            "wait_before_s": 0.5,
            "hangup_after_s": 2.0,
            "log_dir": tmp_path / f"sipp-{caller}",
            "max_call_s": 40.0,
        }
        fields.update(kwargs)
        return CallSpec(**fields)

    def record(self, caller: str) -> CallRecord:
        with session_factory(self.engine)() as session:
            uniqueid = session.scalars(
                select(CallRecord.uniqueid).where(CallRecord.caller == caller)
            ).one()
            return get_call(session, uniqueid)

    async def closed_record(self, caller: str, timeout_s: float = 10.0) -> CallRecord:
        def closed() -> bool:
            with contextlib.suppress(Exception):
                return self.record(caller).ended_at is not None
            return False

        await until(closed, timeout_s)
        record = self.record(caller)
        assert record.ended_at is not None, f"record of {caller} still open: {_steps(record)}"
        return record


async def until(predicate: Callable[[], bool], timeout_s: float) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while not predicate() and loop.time() < deadline:  # noqa: ASYNC110 - polling a DB/state
        await asyncio.sleep(0.05)


def _steps(record: CallRecord) -> list[str]:
    out = []
    for s in record.steps:
        text = f"{s.kind}:{s.node}"
        if s.prompt:
            text += f":{s.prompt}"
        if s.digits:
            text += f"={s.digits}"
        out.append(text)
    return out


def _explain(report: CallReport, record: CallRecord | None, pbx: RunningPbx) -> str:
    steps = "\n".join(f"  {s.describe()}" for s in report.steps)
    rec = _steps(record) if record is not None else "(no record)"
    return f"{report.summary()}\n{steps}\nrecord: {rec}\n{pbx.logs(20)}"


class RecordingSynth:
    """The real PromptBuilder, noting each text it was asked for."""

    def __init__(self, inner: Any, texts: list[str]) -> None:
        self.inner = inner
        self.texts = texts

    def ensure(self, text: str) -> Path:
        self.texts.append(text)
        path: Path = self.inner.ensure(text)
        return path


@contextlib.asynccontextmanager
async def running_hotline(
    pbx: RunningPbx, engine: Engine, node_changes: dict[str, dict[str, Any]] | None = None
) -> AsyncIterator[Hotline]:
    """Our controller, in-process, on the private PBX's AMI, writing into `engine`."""
    prompts = pbx.config.prompts_dir / "calltest"
    write_test_prompts(prompts)
    settings = load_settings(digit_timeout_ms=1000)
    path = build_call_path(
        settings, engine=engine, prompts_dir=prompts, recordings_dir=pbx.config.recordings_dir
    )
    texts: list[str] = []
    services = dataclasses.replace(path.services, tts=RecordingSynth(path.services.tts, texts))
    changes = {"agent": {"timeout_s": 2}, **(node_changes or {})}
    nodes = dict(path.flow.nodes)
    for node_id, fields in changes.items():
        nodes[node_id] = dataclasses.replace(nodes[node_id], **fields)
    flow: Flow = dataclasses.replace(path.flow, nodes=nodes)
    host, port = pbx.ami_address
    ami = AmiClient(
        host,
        port,
        pbx.config.ami_user,
        pbx.config.ami_secret,
        backoff_initial_s=0.2,
        backoff_max_s=1.0,
    )
    calllog = CallLog(path.recorder)
    executor = ThreadPoolExecutor(max_workers=4)
    controller = Controller(
        ami=ami,
        flow=flow,
        session_config=dataclasses.replace(path.session_config, schedule=None),  # agents: always
        services=services,
        calllog=calllog,
        runner_config=dataclasses.replace(
            path.runner_config,
            pbx_prompts="/var/lib/hotline/prompts/calltest",
            wait_chunk_ms=500,
            reconnect_grace_s=20.0,
        ),
        executor=executor,
        hotline_number=pbx.config.hotline_number,
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


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'hotline.db'}")
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture
async def hotline(pbx: RunningPbx, engine: Engine) -> AsyncIterator[Hotline]:
    async with running_hotline(pbx, engine) as running:
        yield running


async def test_press_1_and_a_keypad_lookup_reads_the_dossier_status(
    hotline: Hotline, tmp_path: Path
) -> None:
    fmt = DossierCodeFormat("ddd.dd.dd.Hdd-dddddd-dddd")
    imported = import_dossiers(hotline.engine, SAMPLE_DOSSIERS, fmt)
    assert imported.accepted > 0
    caller = "0912100001"
    spec = hotline.spec(
        tmp_path, caller, dtmf=f"1,{DOSSIER_KEYS}#", hangup_after_s=4.0, key_ms=120, gap_ms=150
    )
    report = await place_call(spec)
    record = await hotline.closed_record(caller)
    assert report.ok, _explain(report, record, hotline.pbx)
    steps = _steps(record)
    assert "digits:main=1" in steps, steps
    assert "node:dossier_code" in steps
    assert f"digits:dossier_code={DOSSIER_KEYS}" in steps, steps
    lookup = next(s for s in record.steps if s.kind == "lookup")
    assert lookup.detail["outcome"] == "found"
    readback = next(s for s in record.steps if s.kind == "prompt" and s.prompt.startswith("tts/"))
    assert "đã có kết quả, đang chờ trả" in readback.detail["text"]
    assert "Đăng ký kết hôn" in readback.detail["text"]
    # the synthesised file exists where Asterisk was told to play it from
    assert (hotline.pbx.config.prompts_dir / "calltest" / f"{readback.prompt}.wav").is_file()
    assert any("đã có kết quả" in t for t in hotline.tts_texts)
    assert record.outcome == "completed"  # hung up during the read-back: served


async def test_silence_is_reprompted_three_times_then_goodbye(
    hotline: Hotline, tmp_path: Path
) -> None:
    caller = "0912100002"
    report = await place_call(hotline.spec(tmp_path, caller, hangup_after_s=None))
    record = await hotline.closed_record(caller)
    assert report.ok, _explain(report, record, hotline.pbx)
    assert report.hung_up_by is HangupParty.REMOTE
    prompts = [s.prompt for s in record.steps if s.kind == "prompt"]
    assert prompts == ["welcome"] + ["main_menu", "menu_no_input"] * 3 + [
        "main_menu",
        "goodbye_failures",
    ]
    assert sum(1 for s in record.steps if s.kind == "no_input") == 4
    assert record.outcome == "completed"


async def test_hanging_up_mid_prompt_leaves_an_abandoned_record(
    hotline: Hotline, tmp_path: Path
) -> None:
    caller = "0912100003"
    report = await place_call(hotline.spec(tmp_path, caller, wait_before_s=0.0, hangup_after_s=0.6))
    record = await hotline.closed_record(caller)
    assert report.ok, _explain(report, record, hotline.pbx)
    assert record.outcome == "abandoned"
    assert [s.prompt for s in record.steps if s.kind == "prompt"] == ["welcome"]
    assert record.cause  # the hang-up cause Asterisk gave


async def test_agent_queue_timeout_returns_to_the_menu(hotline: Hotline, tmp_path: Path) -> None:
    caller = "0912100004"
    report = await place_call(hotline.spec(tmp_path, caller, dtmf="0", hangup_after_s=7.0))
    record = await hotline.closed_record(caller)
    assert report.ok, _explain(report, record, hotline.pbx)
    steps = _steps(record)
    assert "digits:main=0" in steps
    transfer = [s for s in record.steps if s.kind == "transfer" and "queue_result" in s.detail]
    assert transfer and transfer[0].detail["queue_result"] in ("TIMEOUT", "JOINEMPTY")
    after = steps[steps.index("node:agent_busy") :]
    assert "prompt:agent_busy:transfer_busy" in after and "node:main" in after, steps


def _asterisk_pids(root: Path) -> list[int]:
    """Asterisk processes whose root is our private chroot (the ones our fixture started)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            comm = (entry / "comm").read_text().strip()
            if comm == "asterisk" and os.readlink(entry / "root") == str(root):
                pids.append(int(entry.name))
    return pids


async def test_killing_asterisk_mid_call_closes_records_and_reconnects(
    hotline: Hotline, tmp_path: Path
) -> None:
    callers = ["0912100005", "0912100006"]
    calls = [
        asyncio.create_task(
            place_call(hotline.spec(tmp_path, c, hangup_after_s=None, max_call_s=30.0))
        )
        for c in callers
    ]
    await until(lambda: len(hotline.controller.calls) == 2, 10)
    assert len(hotline.controller.calls) == 2
    await asyncio.sleep(0.5)
    pids = _asterisk_pids(hotline.pbx.root)
    assert pids, "no asterisk process found in the private root"
    for pid in pids:
        os.kill(pid, signal.SIGKILL)
    # Restart at once: the two sipp callers are still waiting for a BYE that will not come.
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, hotline.pbx.local.down)
    await loop.run_in_executor(None, hotline.pbx.local.up)
    await until(lambda: hotline.controller.connections >= 2 and hotline.ami.connected, 20)
    assert hotline.controller.connections >= 2 and hotline.ami.connected
    for caller in callers:
        record = await hotline.closed_record(caller, timeout_s=25)
        assert record.outcome == "error", _steps(record)
        assert "Asterisk connection lost" in record.cause
    assert not hotline.controller.calls
    for call in calls:
        call.cancel()
    await asyncio.gather(*calls, return_exceptions=True)
    # and the controller takes new calls again
    caller = "0912100007"
    report = await place_call(hotline.spec(tmp_path, caller, dtmf="1", hangup_after_s=1.5))
    record = await hotline.closed_record(caller)
    assert report.ok, _explain(report, record, hotline.pbx)
    assert "node:dossier_code" in _steps(record)


async def test_sigterm_says_goodbye_to_live_callers(pbx: RunningPbx, tmp_path: Path) -> None:
    """`hotline run` as a process: SIGTERM -> the caller hears the goodbye and is hung up."""
    db = tmp_path / "run.db"
    upgrade(f"sqlite:///{db}")
    write_test_prompts(pbx.config.prompts_dir / "calltest")
    host, port = pbx.ami_address
    sip_host, sip_port = pbx.sip_address
    env = {
        **os.environ,
        "HOTLINE_AMI_HOST": host,
        "HOTLINE_AMI_PORT": str(port),
        "HOTLINE_AMI_USER": pbx.config.ami_user,
        "HOTLINE_AMI_SECRET": pbx.config.ami_secret,
        "HOTLINE_DATABASE_URL": f"sqlite:///{db}",
        "HOTLINE_PROMPTS_DIR": str(pbx.config.prompts_dir / "calltest"),
        "HOTLINE_ASTERISK_PROMPTS_DIR": "/var/lib/hotline/prompts/calltest",
        "HOTLINE_RECORDINGS_DIR": str(pbx.config.recordings_dir),
        "HOTLINE_DIGIT_TIMEOUT_MS": "3000",
        "HOTLINE_IOC_DATABASE_URL": f"sqlite:///{tmp_path / 'ioc.db'}",
        "HOTLINE_AUDIOSOCKET_PORT": str(pbx.config.audiosocket_port),
    }
    log_path = tmp_path / "run.log"
    with log_path.open("wb") as log_file:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "hotline.cli",
            "run",
            "--stop-timeout",
            "30",
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    try:
        await until(lambda: b"AMI connected" in log_path.read_bytes(), 20)
        assert b"AMI connected" in log_path.read_bytes(), log_path.read_text()
        caller = "0912100008"
        spec = CallSpec(
            sip_host=sip_host,
            sip_port=sip_port,
            number=pbx.config.hotline_number,
            caller_id=caller,
            wait_before_s=0.5,
            hangup_after_s=None,
            max_call_s=60.0,
            log_dir=tmp_path / "sipp",
        )
        call = asyncio.create_task(place_call(spec))
        engine = make_engine(f"sqlite:///{db}")

        def call_recorded() -> bool:
            with session_factory(engine)() as session:
                return (
                    session.scalars(select(CallRecord).where(CallRecord.caller == caller)).first()
                    is not None
                )

        await until(call_recorded, 30)
        assert call_recorded(), log_path.read_text()
        await asyncio.sleep(1.0)
        proc.send_signal(signal.SIGTERM)
        report = await call
        code = await asyncio.wait_for(proc.wait(), 40)
        assert code == 0, log_path.read_text()
        with session_factory(engine)() as session:
            uniqueid = session.scalars(
                select(CallRecord.uniqueid).where(CallRecord.caller == caller)
            ).one()
            record = get_call(session, uniqueid)
        engine.dispose()
        assert report.ok, _explain(report, record, pbx)
        assert report.hung_up_by is HangupParty.REMOTE
        assert record.outcome == "completed" and record.cause == "controller shutdown"
        assert [s.prompt for s in record.steps if s.kind == "prompt"][-1] == "shutdown_goodbye"
        assert "0912100008" not in log_path.read_text()  # caller numbers are masked in logs
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


async def test_a_call_parked_before_the_controller_starts_is_adopted(
    pbx: RunningPbx, engine: Engine, tmp_path: Path
) -> None:
    """Asterisk does not replay AsyncAGIStart: the controller finds the call by listing
    channels at login, apologises and plays the menu."""
    host, port = pbx.sip_address
    caller = "0912100009"
    spec = CallSpec(
        sip_host=host,
        sip_port=port,
        number=pbx.config.hotline_number,
        caller_id=caller,
        wait_before_s=3.0,
        dtmf="3",
        hangup_after_s=2.0,
        max_call_s=30.0,
        log_dir=tmp_path / "sipp",
    )
    call = asyncio.create_task(place_call(spec))
    await asyncio.sleep(1.5)  # answered and parked in AGI(agi:async), nobody listening
    async with running_hotline(pbx, engine) as hotline:
        report = await call
        record = await hotline.closed_record(caller)
    assert report.ok, _explain(report, record, pbx)
    steps = _steps(record)
    prompts = [s.prompt for s in record.steps if s.kind == "prompt"]
    assert prompts[:2] == ["reconnect_apology", "main_menu"], steps
    assert "digits:main=3" in steps and "node:case_code" in steps


async def test_a_recorded_complaint_becomes_a_case_read_back_twice(
    pbx: RunningPbx, engine: Engine, tmp_path: Path
) -> None:
    speech = tmp_path / "speech.wav"  # 2 s of "voice": what matters is that it is not silence
    _tone(speech, 2.0, freq=300.0)
    changes = {"report_record": {"silence_s": 2}}
    async with running_hotline(pbx, engine, changes) as hotline:
        caller = "0912100010"
        spec = hotline.spec(tmp_path, caller, dtmf="2,1", wav=speech, hangup_after_s=5.0)
        report = await place_call(spec)
        record = await hotline.closed_record(caller)
    assert report.ok, _explain(report, record, pbx)
    steps = _steps(record)
    assert "digits:report_category=1" in steps, steps
    rec = next(s for s in record.steps if s.kind == "recording")
    assert int(rec.detail["duration_ms"]) > 1000, rec.detail
    wav = pbx.config.recordings_dir / f"{rec.detail['name']}.wav"
    assert wav.is_file() and wav.stat().st_size > 16_000
    created = next(s for s in record.steps if s.kind == "case")
    assert created.detail["outcome"] == "created"
    reference = created.detail["case_reference"]
    from cases.services import get_case_by_reference

    with session_factory(engine)() as session:
        case = get_case_by_reference(session, reference)
        assert case.category.value == "environment"
        assert case.audio_ref.endswith(f"{rec.detail['name']}.wav")
        assert case.call_uniqueid == record.uniqueid
    readback = next(t for t in hotline.tts_texts if "Mã số phản ánh" in t)
    from speech.text import read_digits

    assert readback.count(read_digits(reference, groups=(4, 4))) == 2
