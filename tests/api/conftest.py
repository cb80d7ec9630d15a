"""Fixtures of the API tests: `create_app()` on a real, migrated database (SQLite and
PostgreSQL through `db_url`), a settable clock, one user per role, and helpers to log in."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, delete, update

from api.app import create_app
from cases.config import CONFIG_FILE, CasesConfig, load_config
from cases.db import make_engine, session_factory, unit_of_work, upgrade
from cases.domain import Role
from cases.models import Base, Case, User
from cases.users import hash_password
from hotline.settings import REPO_ROOT, Settings
from tests.fixtures.db import BACKENDS, PG_URL, _pg_schema_url

SECRET = "test-secret-0123456789abcdef"
PASSWORD = "correct horse battery"
T0 = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)
USERS = {
    "agent1": Role.AGENT,
    "agent2": Role.AGENT,
    "super1": Role.SUPERVISOR,
    "admin1": Role.ADMIN,
}


@dataclass
class Clock:
    now: datetime = T0

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> None:
        self.now += timedelta(**kwargs)


@dataclass
class Api:
    client: httpx.AsyncClient
    engine: Engine
    clock: Clock
    settings: Settings
    tokens: dict[str, str] = field(default_factory=dict)

    async def headers(self, username: str) -> dict[str, str]:
        if username not in self.tokens:
            r = await self.client.post(
                "/api/v1/auth/token", json={"username": username, "password": PASSWORD}
            )
            assert r.status_code == 200, r.text
            self.tokens[username] = r.json()["access_token"]
        return {"Authorization": f"Bearer {self.tokens[username]}"}

    async def get(self, username: str, url: str, **params: str | int) -> httpx.Response:
        return await self.client.get(url, headers=await self.headers(username), params=params)

    async def post(self, username: str, url: str, body: object) -> httpx.Response:
        return await self.client.post(url, headers=await self.headers(username), json=body)


@pytest.fixture(scope="session")
def province_config() -> CasesConfig:
    return load_config(REPO_ROOT / "dialplans" / CONFIG_FILE)


@pytest.fixture
def api_settings(tmp_path: Path) -> Settings:
    recordings = tmp_path / "recordings"
    recordings.mkdir()
    return Settings(
        env="test",
        api_secret=SECRET,
        state_dir=tmp_path,
        recordings_dir=recordings,
        token_ttl_s=3600,
    )


@pytest.fixture(scope="session", params=BACKENDS)
def api_engine_shared(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Engine]:
    """One migrated database per backend for the whole API suite (migrating a fresh schema
    per test costs ~1.5 s on PostgreSQL); `api_engine` empties it before each test."""
    if request.param == "sqlite":
        urls: Iterator[str] = iter([f"sqlite:///{tmp_path_factory.mktemp('api')}/api.db"])
    else:
        urls = _pg_schema_url(PG_URL)
    url = next(urls)
    engine = make_engine(url)
    upgrade(engine)
    try:
        yield engine
    finally:
        engine.dispose()
        next(urls, None)  # drops the PostgreSQL schema


@pytest.fixture
def api_engine(api_engine_shared: Engine) -> Engine:
    """The shared database, emptied (every table but Alembic's)."""
    with api_engine_shared.begin() as conn:
        conn.execute(update(Case).values(duplicate_of=None))
        for table in reversed(Base.metadata.sorted_tables):
            conn.execute(delete(table))
    return api_engine_shared


@pytest.fixture
async def api(
    api_engine: Engine, api_settings: Settings, province_config: CasesConfig
) -> AsyncIterator[Api]:
    migrated_engine = api_engine
    clock = Clock()
    with unit_of_work(session_factory(migrated_engine)) as session:
        for name, role in USERS.items():  # a cheap scrypt cost: tests, not production
            session.add(
                User(
                    username=name,
                    display_name=name,
                    role=role,
                    password_hash=hash_password(PASSWORD, n=2**8),
                    unit="UBND phường" if role is Role.AGENT else None,
                    active=True,
                    created_at=T0,
                )
            )
    app = create_app(
        api_settings, engine=migrated_engine, cases_config=province_config, clock=clock
    )
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://api.test") as client:
        yield Api(client=client, engine=migrated_engine, clock=clock, settings=api_settings)


def seed_call(
    engine: Engine,
    uniqueid: str,
    *,
    caller: str = "0912345678",
    started_at: datetime = T0,
    outcome: str = "completed",
    intent: str = "",
    recording: str = "",
) -> None:
    """A finished call record through the real recorder (steps included)."""
    from cases.calls import SqlCallRecorder
    from ivr.ports import CallEnded, CallStarted, CallStep, Outcome, StepKind

    recorder = SqlCallRecorder(engine)
    recorder.call_started(
        CallStarted(
            uniqueid=uniqueid,
            linkedid=uniqueid,
            channel=f"PJSIP/sipp-{uniqueid}",
            caller=caller,
            dialed="19009120",
            started_at=started_at,
            answered_at=started_at,
        )
    )
    recorder.step(uniqueid, CallStep(kind=StepKind.NODE, at=started_at, node="main"))
    if intent:
        recorder.step(
            uniqueid,
            CallStep(
                kind=StepKind.SPEECH, at=started_at, node="main", transcript="x", intent=intent
            ),
        )
    if recording:
        recorder.step(
            uniqueid,
            CallStep(
                kind=StepKind.RECORDING, at=started_at, node="record", detail={"name": recording}
            ),
        )
    recorder.call_ended(
        uniqueid, CallEnded(outcome=Outcome(outcome), ended_at=started_at + timedelta(minutes=2))
    )


NEW_CASE = {
    "category": "traffic",
    "description": "Đèn giao thông ở ngã tư bị hỏng",
    "caller": "0912345678",
    "ward_code": 31825,
    "address": "Ngã tư Trần Phú",
}
