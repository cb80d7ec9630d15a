"""Composition of the call path: real services built from `Settings`, and nothing else.

`build_call_path(settings)` makes the database engine (`cases.db`), the call recorder
(`cases.calls.SqlCallRecorder`), the dossier directory (`cases.dossiers`, SQL or HTTP), the
case desk (`cases.services`) and the prompt synthesiser (`speech.tts.PromptBuilder`), adapted
to the ports of `ivr.services` / `ivr.ports`. The adapters below only translate types and
errors; the rules live in `cases`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import Engine

from cases import dossiers as cd
from cases import services as cs
from cases.calls import SqlCallRecorder
from cases.config import CONFIG_FILE, CasesConfig, load_config
from cases.db import make_engine, session_factory, unit_of_work
from cases.domain import Category, Channel
from cases.errors import (
    CaseNotFoundError,
    DossierNotFoundError,
    InvalidDossierCodeError,
    InvalidReferenceError,
    UnknownPlaceError,
)
from cases.models import DossierStatus
from cases.places import PlaceDirectory
from hotline.settings import Settings
from ivr.flows import Flow, load_flow
from ivr.flows.hours import OfficeHours, parse_office_hours
from ivr.runner import CallServices, RunnerConfig
from ivr.services import CallbackRequest, CaseAnswer, Complaint, DossierAnswer, LookupStatus
from ivr.session import SessionConfig
from ivr.voice import Listener
from ivr.voice.audiosocket import AudioSocketServer
from ivr.voice.listener import (
    AgiRunner,
    AudioSocketListener,
    ListenerConfig,
    Recognizer,
    RecordListener,
)
from speech.intent import IntentRouter, load_intent_data
from speech.tts import PromptBuilder

#: How a dossier's status is said to the caller.
DOSSIER_STATUS_VI: dict[DossierStatus, str] = {
    DossierStatus.RECEIVED: "đã được tiếp nhận",
    DossierStatus.PROCESSING: "đang được giải quyết",
    DossierStatus.SUPPLEMENT: "đang chờ bổ sung giấy tờ",
    DossierStatus.DONE: "đã có kết quả, đang chờ trả",
    DossierStatus.RETURNED: "đã trả kết quả",
    DossierStatus.REFUSED: "bị từ chối giải quyết",
    DossierStatus.WITHDRAWN: "đã được rút",
}


#: The description of a call-back request case (agents search for it).
CALLBACK_DESCRIPTION = "Yêu cầu gọi lại: người gọi không gặp được điện thoại viên."


def _today() -> datetime:
    return datetime.now(UTC)


class DossierDirectoryAdapter:
    """`ivr.services.DossierDirectory` over `cases.dossiers`."""

    def __init__(self, directory: cd.DossierDirectory, fmt: cd.DossierCodeFormat) -> None:
        self.directory = directory
        self.fmt = fmt

    def lookup(self, code: str) -> DossierAnswer:
        try:
            info = cd.lookup_dossier(self.directory, self.fmt, code)
        except InvalidDossierCodeError:
            return DossierAnswer(LookupStatus.INVALID, code=code)
        except DossierNotFoundError:
            return DossierAnswer(LookupStatus.NOT_FOUND, code=code)
        today = _today().date()
        return DossierAnswer(
            LookupStatus.FOUND,
            code=info.code,
            procedure=info.procedure,
            status_text=DOSSIER_STATUS_VI.get(info.status, str(info.status)),
            step=info.current_step,
            due=None if info.finished else info.due_on,
            overdue=info.is_overdue(today),
            needs_papers=info.status is DossierStatus.SUPPLEMENT,
        )


class CaseDeskAdapter:
    """`ivr.services.CaseDesk` over `cases.services`."""

    def __init__(self, engine: Engine, config: CasesConfig, recordings_dir: Path) -> None:
        self.sessions = session_factory(engine)
        self.config = config
        self.recordings_dir = recordings_dir

    def _audio_ref(self, recording: str) -> str:
        """A recording name (keypad RECORD FILE) or a host path (a voice turn's kept audio) as
        the case's audio reference, relative to the recordings dir when it lies inside."""
        path = Path(recording)
        if not path.is_absolute():
            return f"recordings/{recording}.wav"
        try:
            return f"recordings/{path.relative_to(self.recordings_dir)}"
        except ValueError:
            return str(path)

    def file_complaint(self, complaint: Complaint) -> str:
        new = cs.NewCase(
            category=Category(complaint.category),
            description=complaint.transcript,
            channel=Channel.PHONE,
            caller=complaint.caller,
            place_text=complaint.place,
            transcript=complaint.transcript,
            audio_ref=self._audio_ref(complaint.recording) if complaint.recording else "",
            call_uniqueid=complaint.call_uniqueid,
        )
        try:
            return self._create(new)
        except UnknownPlaceError:
            # The caller confirmed a place the case desk does not serve: keep it as an address
            # rather than lose the complaint.
            return self._create(replace(new, place_text="", address=complaint.place))

    def _create(self, new: cs.NewCase) -> str:
        with unit_of_work(self.sessions) as session:
            case = cs.create_case(session, new, actor="ivr", config=self.config, now=_today())
            return case.reference

    def request_callback(self, request: CallbackRequest) -> str:
        """A call-back request is a case the agents work through (category other)."""
        with unit_of_work(self.sessions) as session:
            case = cs.create_case(
                session,
                cs.NewCase(
                    category=Category.OTHER,
                    description=CALLBACK_DESCRIPTION,
                    channel=Channel.PHONE,
                    caller=request.caller,
                    call_uniqueid=request.call_uniqueid,
                ),
                actor="ivr",
                config=self.config,
                now=_today(),
            )
            return case.reference

    def complaint_status(self, reference: str) -> CaseAnswer:
        try:
            with self.sessions() as session:
                status = cs.complaint_status(session, reference, now=_today())
        except InvalidReferenceError:
            return CaseAnswer(LookupStatus.INVALID, reference=reference)
        except CaseNotFoundError:
            return CaseAnswer(LookupStatus.NOT_FOUND, reference=reference)
        return CaseAnswer(
            LookupStatus.FOUND,
            reference=status.reference,
            category=status.category_vi,
            status_text=status.status_vi,
            updated=None,
            resolution="",
        )


@dataclass
class CallPath:
    """Everything the controller needs, built from settings."""

    engine: Engine
    recorder: SqlCallRecorder
    services: CallServices
    flow: Flow
    session_config: SessionConfig
    runner_config: RunnerConfig
    router: IntentRouter  # voice turns: transcripts -> intents, categories, places
    office_hours: OfficeHours | None = None  # None: agents always there

    def with_listener(self, listener: Listener) -> CallPath:
        """The same call path with voice turns on (`ask` nodes listen through `listener`)."""
        return replace(
            self,
            services=replace(self.services, listener=listener),
            session_config=replace(self.session_config, voice=True),
        )


@dataclass(frozen=True)
class ProvinceVoice:
    """What the voice flows read from dialplans/province.yaml: office hours and readings."""

    office_hours: OfficeHours | None
    southern: bool


def load_province_voice(settings: Settings) -> ProvinceVoice:
    path = settings.dialplans_dir / CONFIG_FILE
    raw: Any = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    hours_raw = raw.get("office_hours")
    readings = raw.get("readings", "northern")
    if readings not in ("northern", "southern"):
        raise ValueError(f"{path}: readings must be northern or southern, got {readings!r}")
    return ProvinceVoice(
        office_hours=parse_office_hours(hours_raw, f"{path}: office_hours") if hours_raw else None,
        southern=readings == "southern",
    )


def build_router(settings: Settings, cases_config: CasesConfig) -> IntentRouter:
    """The intent router over dialplans/intents.yaml and the wards this hotline serves."""
    places = [p.ward_name for p in PlaceDirectory(cases_config).all()]
    return IntentRouter(load_intent_data(settings.dialplans_dir / "intents.yaml"), places=places)


def load_menu(settings: Settings) -> Flow:
    return load_flow(settings.dialplans_dir / settings.menu_file)


def session_config(settings: Settings, province: ProvinceVoice | None = None) -> SessionConfig:
    hours = province.office_hours if province else None
    southern = province.southern if province else False
    return SessionConfig(
        digit_timeout_ms=settings.digit_timeout_ms,
        record_max_s=settings.record_max_s,  # also the longest spoken complaint description
        answer_silence_s=settings.answer_silence_s,
        description_silence_s=settings.description_silence_s,
        agent_queue=settings.agent_queue,
        transfer_after_failures=settings.transfer_after_failures,
        office_hours=hours.spoken(southern=southern) if hours else "",
        schedule=hours,
    )


def build_call_path(
    settings: Settings,
    *,
    engine: Engine | None = None,
    prompts_dir: Path | None = None,
    recordings_dir: Path | None = None,
) -> CallPath:
    """The real call path. `prompts_dir`/`recordings_dir` override the settings' paths (a
    private test PBX has its own)."""
    engine = engine or make_engine(settings.db_url)
    cases_config = load_config(settings.dialplans_dir / CONFIG_FILE)
    prompts = prompts_dir or settings.prompts_path
    recordings = recordings_dir or settings.recordings_dir or settings.state_dir / "recordings"
    directory: cd.DossierDirectory
    if settings.dossier_source == "http":
        directory = cd.HttpDossierDirectory(settings.dossier_http_url, settings.dossier_http_token)
    else:
        directory = cd.SqlDossierDirectory(engine)
    fmt = cd.DossierCodeFormat(cases_config.dossier_template)
    builder = PromptBuilder(_PromptSettings(settings, prompts))
    province = load_province_voice(settings)
    router = build_router(settings, cases_config)
    return CallPath(
        engine=engine,
        recorder=SqlCallRecorder(engine),
        services=CallServices(
            dossiers=DossierDirectoryAdapter(directory, fmt),
            cases=CaseDeskAdapter(engine, cases_config, recordings),
            tts=builder,
            router=router,
        ),
        flow=load_menu(settings),
        session_config=replace(
            session_config(settings, province),
            place_hints=tuple(p.ward_name for p in PlaceDirectory(cases_config).all()),
        ),
        runner_config=RunnerConfig(
            prompts_dir=prompts,
            recordings_dir=recordings,
            pbx_prompts=settings.asterisk_prompts_dir,
            queue_context="hotline-queue",
            southern=province.southern,
        ),
        router=router,
        office_hours=province.office_hours,
    )


@dataclass(frozen=True)
class _PromptSettings:
    """Settings seen by PromptBuilder, with the prompts dir possibly overridden."""

    settings: Settings
    prompts: Path

    @property
    def tts_backend(self) -> str:
        return self.settings.tts_backend

    @property
    def prompts_path(self) -> Path:
        return self.prompts

    @property
    def recorded_prompts_path(self) -> Path:
        return self.settings.recorded_prompts_path


async def build_listener(
    settings: Settings,
    ami: AgiRunner,
    recognizer: Recognizer,
    *,
    prompts_dir: Path | None = None,
    recordings_dir: Path | None = None,
) -> tuple[Listener, AudioSocketServer | None]:
    """The voice `Listener` (issue 5): AudioSocket (started here; close it at shutdown) or the
    RECORD FILE fallback, per `settings.listen_backend`. `recognizer` is the process's one
    `speech.workers.SpeechPool` (models load once per worker)."""
    recordings = recordings_dir or settings.recordings_dir or settings.state_dir / "recordings"
    config = ListenerConfig(
        prompts_dir=prompts_dir or settings.prompts_path,
        recordings_dir=recordings,
        pbx_prompts=settings.asterisk_prompts_dir,
        audiosocket_host=settings.audiosocket_host,
    )
    if settings.listen_backend == "record":
        return RecordListener(ami, recognizer, config), None
    if settings.listen_backend != "audiosocket":
        raise ValueError(f"HOTLINE_LISTEN_BACKEND={settings.listen_backend!r}: audiosocket|record")
    server = AudioSocketServer(settings.audiosocket_host, settings.audiosocket_port)
    await server.start()
    return AudioSocketListener(ami, server, recognizer, config), server


@asynccontextmanager
async def open_listener(settings: Settings, ami: AgiRunner) -> AsyncIterator[Listener]:
    """The process's one speech pool (models loaded once per worker) and the voice `Listener`
    over it, for `hotline run`: ``async with open_listener(settings, ami) as listener: ...``."""
    from speech.workers import PoolConfig, SpeechPool

    async with SpeechPool(PoolConfig.from_settings(settings)) as pool:
        listener, server = await build_listener(settings, ami, pool)
        try:
            yield listener
        finally:
            if server is not None:
                await server.close()
