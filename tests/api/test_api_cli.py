"""`hotline api create-user` / `hotline api openapi` and the uvicorn factory, on a real
database."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import Engine

from api.main import factory
from cases.db import session_factory
from cases.users import authenticate
from hotline.cli import main
from tests.api.conftest import SECRET


def test_create_user_reads_the_password_from_the_environment(
    migrated_engine: Engine,
    db_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("HOTLINE_DATABASE_URL", db_url)
    monkeypatch.setenv("HOTLINE_NEW_USER_PASSWORD", "a long password")
    assert main(["api", "create-user", "lan", "--role", "supervisor", "--unit", "IOC"]) == 0
    assert "created supervisor lan" in capsys.readouterr().out
    with session_factory(migrated_engine)() as s:
        user = authenticate(s, "lan", "a long password")
        assert user is not None and user.role == "supervisor" and user.unit == "IOC"
    assert main(["api", "create-user", "lan", "--role", "agent"]) == 1
    assert "already exists" in capsys.readouterr().err
    monkeypatch.setenv("HOTLINE_NEW_USER_PASSWORD", "short")
    assert main(["api", "create-user", "kim", "--role", "agent"]) == 1
    assert "too short" in capsys.readouterr().err


def test_openapi_command_and_factory(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: object
) -> None:
    monkeypatch.setenv("HOTLINE_STATE_DIR", str(tmp_path))
    assert main(["api", "openapi"]) == 0
    spec = json.loads(capsys.readouterr().out)
    assert "/api/v1/cases" in spec["paths"] and "/open311/v2/requests.json" in spec["paths"]
    monkeypatch.setenv("HOTLINE_ENV", "test")
    assert main(["api", "openapi"]) == 1  # default secret refused outside development
    assert "HOTLINE_API_SECRET" in capsys.readouterr().err
    monkeypatch.setenv("HOTLINE_API_SECRET", SECRET)
    assert factory().title == "Hotline 1900 9120 API"
