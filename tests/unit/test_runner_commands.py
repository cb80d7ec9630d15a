"""The runner against a small fake AMI client: the exact AGI commands it sends, how it reads
their replies, and how hang-ups, lost connections, transfers and shutdown end a call record."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from ivr.ami.agi import AgiResult, parse_agi_result
from ivr.ami.errors import ChannelGoneError, ConnectionLostError
from ivr.calllog import CallLog
from ivr.ports import CallEnded, CallStarted, CallStep
from ivr.runner import (
    AgiRestarted,
    CallRunner,
    CallServices,
    ConnectionRestored,
    RunnerConfig,
    render_segments,
)
from ivr.services import CallbackRequest, CaseAnswer, Complaint, DossierAnswer, LookupStatus
from ivr.session import CallAnswered, CallSession, Digits, SessionConfig, Text
from tests.unit.session_sim import menu_flow

CHANNEL = "PJSIP/sipp-00000001"
Reply = AgiResult | Exception | Callable[[], AgiResult]


class FakeAmi:
    """Answers AGI commands from a script of (command prefix, reply); records everything."""

    def __init__(self, script: list[tuple[str, Reply]], default: str = "200 result=0") -> None:
        self.script = list(script)
        self.default = default
        self.commands: list[str] = []
        self.actions: list[tuple[str, dict[str, Any]]] = []

    async def agi(self, channel: str, command: str, timeout: float | None = None) -> AgiResult:  # noqa: ASYNC109
        assert channel == CHANNEL
        self.commands.append(command)
        await asyncio.sleep(0)
        if self.script and command.startswith(self.script[0][0]):
            reply = self.script.pop(0)[1]
            if isinstance(reply, Exception):
                raise reply
            return reply() if callable(reply) else reply
        if command == "HANGUP":
            return parse_agi_result("200 result=1")
        assert not self.script, f"expected {self.script[0][0]!r}, got {command!r}"
        raise ChannelGoneError(CHANNEL, "script over: the caller hung up")

    async def action(self, name: str, /, *, timeout_s: float | None = None, **headers: Any) -> Any:
        self.actions.append((name, headers))
        return None


def ok(text: str) -> AgiResult:
    return parse_agi_result(text)


def key(digit: str) -> AgiResult:
    return ok(f"200 result={ord(digit)} endpos=800")


class FakeRecorder:
    def __init__(self) -> None:
        self.started: list[CallStarted] = []
        self.steps: list[CallStep] = []
        self.ended: list[CallEnded] = []

    def call_started(self, call: CallStarted) -> None:
        self.started.append(call)

    def step(self, uniqueid: str, step: CallStep) -> None:
        self.steps.append(step)

    def call_ended(self, uniqueid: str, ended: CallEnded) -> None:
        self.ended.append(ended)

    def close_orphans(self, now: datetime, keep: frozenset[str] = frozenset()) -> int:
        return 0


class FakeDossiers:
    def __init__(self, answer: DossierAnswer | Exception) -> None:
        self.answer = answer
        self.codes: list[str] = []

    def lookup(self, code: str) -> DossierAnswer:
        self.codes.append(code)
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


class FakeCases:
    def __init__(self) -> None:
        self.filed: list[Complaint] = []
        self.callbacks: list[CallbackRequest] = []

    def file_complaint(self, complaint: Complaint) -> str:
        self.filed.append(complaint)
        return "48213576"

    def complaint_status(self, reference: str) -> CaseAnswer:
        return CaseAnswer(LookupStatus.NOT_FOUND)

    def request_callback(self, request: CallbackRequest) -> str:
        self.callbacks.append(request)
        return "50000017"


class FakeTts:
    def __init__(self, prompts_dir: Path) -> None:
        self.prompts_dir = prompts_dir
        self.texts: list[str] = []

    def ensure(self, text: str) -> Path:
        self.texts.append(text)
        path = self.prompts_dir / "tts" / f"t{len(self.texts)}.wav"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"RIFF")
        return path


class Harness:
    def __init__(
        self,
        tmp_path: Path,
        script: list[tuple[str, Reply]],
        dossier: DossierAnswer | Exception | None = None,
    ) -> None:
        self.prompts = tmp_path / "prompts"
        self.recordings = tmp_path / "recordings"
        self.recordings.mkdir(parents=True)
        flow = menu_flow()
        for prompt_id in flow.prompts:
            (self.prompts / f"{prompt_id}.wav").parent.mkdir(parents=True, exist_ok=True)
            (self.prompts / f"{prompt_id}.wav").write_bytes(b"RIFF")
        self.ami = FakeAmi(script)
        self.recorder = FakeRecorder()
        self.calllog = CallLog(self.recorder)
        self.dossiers = FakeDossiers(dossier or DossierAnswer(LookupStatus.NOT_FOUND))
        self.cases = FakeCases()
        self.tts = FakeTts(self.prompts)
        self.session = CallSession(flow, "1732.7", SessionConfig(digit_timeout_ms=3000))
        self.runner = CallRunner(
            ami=self.ami,
            session=self.session,
            call=CallStarted(
                uniqueid="1732.7",
                linkedid="1732.7",
                channel=CHANNEL,
                caller="0912345678",
                dialed="19009120",
                started_at=datetime.now(UTC),
            ),
            services=CallServices(dossiers=self.dossiers, cases=self.cases, tts=self.tts),
            calllog=self.calllog,
            config=RunnerConfig(
                prompts_dir=self.prompts,
                recordings_dir=self.recordings,
                wait_chunk_ms=1000,
                reconnect_grace_s=2.0,
            ),
        )

    async def run(self) -> str:
        outcome = await self.runner.run(CallAnswered())
        await self.calllog.flush()
        self.calllog.close()
        return outcome.value

    def prompts_played(self) -> list[str]:
        return [s.prompt for s in self.recorder.steps if s.kind == "prompt"]


P = "/var/lib/hotline/prompts"
ALL_KEYS = '"0123456789*#"'


async def test_dossier_lookup_over_agi(tmp_path: Path) -> None:
    found = DossierAnswer(
        LookupStatus.FOUND,
        code="000.25.13.H12-261108-0001",
        procedure="Đăng ký kết hôn",
        status_text="đã có kết quả",
        due=date(2026, 11, 15),
    )
    h = Harness(
        tmp_path,
        [
            (f"STREAM FILE {P}/welcome {ALL_KEYS}", ok("200 result=0 endpos=8000")),
            (f"STREAM FILE {P}/main_menu {ALL_KEYS}", key("1")),  # barge-in
            (f"STREAM FILE {P}/dossier_code_ask {ALL_KEYS}", ok("200 result=0 endpos=1")),
            ("WAIT FOR DIGIT 1000", key("4")),
            ("WAIT FOR DIGIT 1000", key("2")),
            ("WAIT FOR DIGIT 1000", key("#")),
            (f'STREAM FILE {P}/tts/t1 ""', ok("200 result=0 endpos=9")),
            (f"STREAM FILE {P}/dossier_after {ALL_KEYS}", ok("200 result=0 endpos=9")),
            ("WAIT FOR DIGIT 1000", ok("200 result=0")),
        ],
        dossier=found,
    )
    assert await h.run() == "completed"  # hung up after being served
    assert h.dossiers.codes == ["42"]
    (text,) = h.tts.texts
    assert "Đăng ký kết hôn" in text and "đã có kết quả" in text
    assert "mã số bốn hai." in text  # the code as typed, digit by digit
    assert "tháng mười một" in text  # the date the Vietnamese way
    assert h.prompts_played() == [
        "welcome",
        "main_menu",
        "dossier_code_ask",
        "tts/t1",
        "dossier_after",
    ]
    digits = [s.digits for s in h.recorder.steps if s.kind == "digits"]
    assert digits == ["1", "42"]
    (ended,) = h.recorder.ended
    assert ended.outcome == "completed"
    assert h.recorder.started[0].caller == "0912345678"


async def test_hangup_during_a_prompt_is_abandoned_and_stops(tmp_path: Path) -> None:
    h = Harness(tmp_path, [(f"STREAM FILE {P}/welcome", ok("200 result=-1 endpos=160"))])
    assert await h.run() == "abandoned"
    assert h.ami.commands == [f"STREAM FILE {P}/welcome {ALL_KEYS}"]


async def test_missing_prompt_is_logged_and_the_call_goes_on(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    h = Harness(
        tmp_path,
        [
            (f"STREAM FILE {P}/welcome", ok("200 result=-1 endpos=0")),
            (f"STREAM FILE {P}/main_menu", ok("200 result=0 endpos=9")),
        ],
    )
    (h.prompts / "welcome.wav").unlink()
    assert await h.run() == "abandoned"
    assert "prompt file" in caplog.text and "hotline prompts build" in caplog.text
    assert any(s.kind == "error" for s in h.recorder.steps)


async def test_silence_is_waited_in_chunks_and_counted(tmp_path: Path) -> None:
    h = Harness(
        tmp_path,
        [
            (f"STREAM FILE {P}/welcome", ok("200 result=0 endpos=9")),
            (f"STREAM FILE {P}/main_menu", ok("200 result=0 endpos=9")),
            ("WAIT FOR DIGIT 1000", ok("200 result=0")),
            ("WAIT FOR DIGIT 1000", ok("200 result=0")),
            ("WAIT FOR DIGIT 1000", ok("200 result=0")),
            (f"STREAM FILE {P}/menu_no_input", ok("200 result=0 endpos=9")),
        ],
    )
    assert await h.run() == "abandoned"
    no_input = [s for s in h.recorder.steps if s.kind == "no_input"]
    assert len(no_input) == 1 and int(no_input[0].detail["silence_ms"]) >= 3000


def drop_then(h: Harness, alive: bool) -> Callable[[], AgiResult]:
    """The AMI connection drops during the command; the controller reconnects a bit later."""

    def reply() -> AgiResult:
        loop = asyncio.get_running_loop()
        loop.call_later(0.01, h.runner.notify, ConnectionRestored(alive=alive))
        raise ConnectionLostError("AMI dropped")

    return reply


async def test_lost_connection_resumes_with_an_apology(tmp_path: Path) -> None:
    h = Harness(
        tmp_path,
        [
            (f"STREAM FILE {P}/welcome", lambda: drop_then(h, True)()),
            (f"STREAM FILE {P}/reconnect_apology", ok("200 result=0 endpos=9")),
            (f"STREAM FILE {P}/main_menu", ok("200 result=0 endpos=9")),
        ],
    )
    h.runner.notify(ConnectionRestored(alive=False))  # stale, from an earlier reconnect
    assert await h.run() == "abandoned"
    assert h.prompts_played()[1:3] == ["reconnect_apology", "main_menu"]


async def test_lost_connection_and_lost_channel_is_an_error(tmp_path: Path) -> None:
    h = Harness(tmp_path, [(f"STREAM FILE {P}/welcome", lambda: drop_then(h, False)())])
    assert await h.run() == "error"
    assert "connection lost" in h.recorder.ended[0].cause


async def test_transfer_redirects_to_the_queue_and_comes_back(tmp_path: Path) -> None:
    h = Harness(
        tmp_path,
        [
            (f"STREAM FILE {P}/welcome", key("0")),
            (f'STREAM FILE {P}/transfer_wait ""', ok("200 result=0 endpos=9")),
            ("SET VARIABLE QUEUE_WAIT_S 30", ok("200 result=1")),
            ("GET VARIABLE QUEUE_RESULT", ok("200 result=1 (TIMEOUT)")),
            (f"STREAM FILE {P}/transfer_busy {ALL_KEYS}", key("9")),
            (f"STREAM FILE {P}/main_menu", ok("200 result=0 endpos=9")),
        ],
    )

    async def back_from_queue() -> None:
        while not h.ami.actions:  # noqa: ASYNC110 - the fake records, it does not signal
            await asyncio.sleep(0)
        h.runner.notify(AgiRestarted({"agi_context": "hotline-queue"}))

    helper = asyncio.create_task(back_from_queue())
    assert await h.run() == "abandoned"
    await helper
    assert h.ami.actions == [
        (
            "Redirect",
            {"Channel": CHANNEL, "Context": "hotline-queue", "Exten": "s", "Priority": "1"},
        )
    ]
    results = [s.detail.get("queue_result") for s in h.recorder.steps if s.kind == "transfer"]
    assert "TIMEOUT" in results


async def test_shutdown_plays_goodbye_and_hangs_up(tmp_path: Path) -> None:
    def stop_during_wait() -> AgiResult:
        h.runner.request_shutdown()  # SIGTERM arrives while we wait for a key
        return ok("200 result=0")

    h = Harness(
        tmp_path,
        [
            (f"STREAM FILE {P}/welcome", ok("200 result=0 endpos=9")),
            (f"STREAM FILE {P}/main_menu", ok("200 result=0 endpos=9")),
            ("WAIT FOR DIGIT 1000", stop_during_wait),
            (f'STREAM FILE {P}/shutdown_goodbye ""', ok("200 result=0 endpos=9")),
            ("HANGUP", ok("200 result=1")),
        ],
    )
    assert await h.run() == "completed"
    assert h.recorder.ended[0].cause == "controller shutdown"
    assert h.ami.commands[-1] == "HANGUP"


async def test_a_failing_service_apologises(tmp_path: Path) -> None:
    h = Harness(
        tmp_path,
        [
            (f"STREAM FILE {P}/welcome", key("1")),
            (f"STREAM FILE {P}/dossier_code_ask", key("7")),
            ("WAIT FOR DIGIT 1000", key("#")),
            (f"STREAM FILE {P}/service_error", ok("200 result=0 endpos=9")),
        ],
        dossier=RuntimeError("database is locked"),
    )
    assert await h.run() == "abandoned"
    assert "service_error" in h.prompts_played()


async def test_complaint_recording_and_case_number(tmp_path: Path) -> None:
    def recorded() -> AgiResult:
        (h.recordings / "1732_7-report_record-1.wav").write_bytes(b"\0" * (44 + 16 * 4000))
        return ok("200 result=35 (dtmf) endpos=32000")

    h = Harness(
        tmp_path,
        [
            (f"STREAM FILE {P}/welcome", key("2")),
            (f"STREAM FILE {P}/report_category_menu", key("1")),
            (f'STREAM FILE {P}/report_record_ask ""', ok("200 result=0 endpos=9")),
            (
                "RECORD FILE /var/lib/hotline/recordings/1732_7-report_record-1 wav "
                '"#" 120000 0 BEEP s=5',
                recorded,
            ),
            (f'STREAM FILE {P}/tts/t1 ""', ok("200 result=0 endpos=9")),
        ],
    )
    assert await h.run() == "completed"  # the complaint was filed before the hang-up
    (complaint,) = h.cases.filed
    assert complaint.category == "environment"
    assert complaint.recording == "1732_7-report_record-1"
    assert complaint.caller == "0912345678"
    rec = next(s for s in h.recorder.steps if s.kind == "recording")
    assert rec.detail["duration_ms"] == "4000"
    assert h.tts.texts[0].count("bốn tám hai một") == 2  # read twice, digit by digit


def test_render_segments_reads_vietnamese() -> None:
    text = render_segments((Text("Mã số "), Digits("48213576"), Text(".")))
    assert text.startswith("Mã số bốn tám hai một")
    assert text.endswith(".")
