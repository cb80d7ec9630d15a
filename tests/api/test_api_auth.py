"""Authentication and the token: login, expiry, forgery, deactivation, role gates, and the
refusal of default secrets outside development."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from api import tokens
from api.app import check_settings, create_app
from api.errors import AuthError, UnsafeConfigError
from cases.db import session_factory, unit_of_work
from cases.models import AuditEntry, User
from hotline.settings import DEV_API_SECRET, Settings
from tests.api.conftest import PASSWORD, SECRET, Api


def test_token_roundtrip_and_tamper() -> None:
    claims = tokens.Claims(1, "a", "agent", 100, 200)
    token = tokens.issue("k" * 20, claims)
    assert tokens.verify("k" * 20, token, 150) == claims
    with pytest.raises(AuthError, match="signature"):
        tokens.verify("x" * 20, token, 150)
    _body, mac = token.split(".")
    forged = tokens._b64(b'{"exp":9999999999,"iat":1,"role":"supervisor","sub":"a","uid":1}')
    with pytest.raises(AuthError, match="signature"):
        tokens.verify("k" * 20, f"{forged}.{mac}", 150)
    with pytest.raises(AuthError, match="expired"):
        tokens.verify("k" * 20, token, 200)
    for bad in ("", "abc", ".", "a.", "é.é"):
        with pytest.raises(AuthError):
            tokens.verify("k" * 20, bad, 150)


async def test_login_issues_a_token_and_is_audited(api: Api) -> None:
    r = await api.client.post(
        "/api/v1/auth/token", json={"username": "agent1", "password": PASSWORD}
    )
    assert r.status_code == 200
    body = r.json()
    assert body["role"] == "agent" and body["token_type"] == "bearer"
    me = await api.client.get(
        "/api/v1/users/me", headers={"Authorization": f"Bearer {body['access_token']}"}
    )
    assert me.json()["username"] == "agent1"
    with session_factory(api.engine)() as s:
        actions = s.scalars(select(AuditEntry.action).where(AuditEntry.actor == "agent1")).all()
    assert "login" in actions


@pytest.mark.parametrize(
    "body",
    [
        {"username": "agent1", "password": "wrong password"},
        {"username": "nobody", "password": PASSWORD},
    ],
)
async def test_wrong_credentials_are_401(api: Api, body: dict[str, str]) -> None:
    r = await api.client.post("/api/v1/auth/token", json=body)
    assert r.status_code == 401
    assert "wrong username or password" in r.json()["detail"]


async def test_missing_bad_and_expired_tokens_are_401(api: Api) -> None:
    assert (await api.client.get("/api/v1/cases")).status_code == 401
    r = await api.client.get("/api/v1/cases", headers={"Authorization": "Bearer nonsense"})
    assert r.status_code == 401 and "malformed token" in r.json()["detail"]
    headers = await api.headers("agent1")
    api.clock.advance(seconds=3601)
    r = await api.client.get("/api/v1/cases", headers=headers)
    assert r.status_code == 401 and "expired" in r.json()["detail"]


async def test_deactivated_user_is_refused_at_once(api: Api) -> None:
    headers = await api.headers("agent2")
    assert (await api.client.get("/api/v1/cases", headers=headers)).status_code == 200
    with unit_of_work(session_factory(api.engine)) as s:
        s.scalars(select(User).where(User.username == "agent2")).one().active = False
    r = await api.client.get("/api/v1/cases", headers=headers)
    assert r.status_code == 401 and "deactivated" in r.json()["detail"]


async def test_token_signed_with_another_secret_is_refused(api: Api) -> None:
    forged = tokens.issue(
        "another-secret-entirely", tokens.Claims(1, "super1", "supervisor", 0, 2**40)
    )
    r = await api.client.get("/api/v1/cases", headers={"Authorization": f"Bearer {forged}"})
    assert r.status_code == 401 and "signature" in r.json()["detail"]


async def test_only_admins_create_users(api: Api) -> None:
    new = {"username": "agent3", "password": "long enough pw", "role": "agent"}
    for who in ("agent1", "super1"):
        r = await api.client.post("/api/v1/users", json=new, headers=await api.headers(who))
        assert r.status_code == 403, who
        assert "this needs admin" in r.json()["detail"]
    r = await api.client.post("/api/v1/users", json=new, headers=await api.headers("admin1"))
    assert r.status_code == 201 and r.json()["role"] == "agent"
    again = await api.client.post("/api/v1/users", json=new, headers=await api.headers("admin1"))
    assert again.status_code == 422 and "already exists" in again.json()["detail"]


def test_default_secret_refused_outside_development(tmp_path: object) -> None:
    check_settings(Settings(env="development"))
    with pytest.raises(UnsafeConfigError, match="HOTLINE_API_SECRET"):
        check_settings(Settings(env="test", api_secret=DEV_API_SECRET))
    with pytest.raises(UnsafeConfigError, match="characters long"):
        check_settings(Settings(env="test", api_secret="short"))
    with pytest.raises(UnsafeConfigError):
        create_app(Settings(env="test"))
    check_settings(Settings(env="test", api_secret=SECRET))
