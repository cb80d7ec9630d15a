"""Dossier lookup, health, Prometheus metrics, the OpenAPI document (every route documented),
and bad input: every malformed request is a 4xx that says what is wrong, never a 500."""

from __future__ import annotations

import random
from datetime import date
from urllib.parse import quote

from fastapi.routing import APIRoute

from api.app import create_app, iter_routes
from cases.db import session_factory, unit_of_work
from cases.dossiers import DossierInfo, upsert
from cases.models import DossierStatus
from tests.api.conftest import NEW_CASE, T0, Api, seed_call

CODE = "000.00.12.H12-241115-0001"


def _seed_dossier(api: Api) -> None:
    info = DossierInfo(
        code=CODE,
        procedure="Đăng ký kết hôn",
        received_on=date(2026, 11, 15),
        due_on=date(2026, 11, 20),
        status=DossierStatus.PROCESSING,
        agency="UBND phường Bạc Liêu",
        applicant="Nguyễn V. A.",
        current_step="Chuyên viên thẩm định",
    )
    with unit_of_work(session_factory(api.engine)) as s:
        upsert(s, [info], T0)


async def test_dossier_lookup(api: Api) -> None:
    _seed_dossier(api)
    for given in (CODE, "000 00 12 h12 241115 0001", "0000012122411150001"):
        r = await api.get("agent1", f"/api/v1/dossiers/{given}")
        assert r.status_code == 200, (given, r.text)
        body = r.json()
        assert body["code"] == CODE and body["overdue"] is True and body["days_overdue"] == 5
    r = await api.get("agent1", "/api/v1/dossiers/12345")
    assert r.status_code == 422 and r.json()["error"] == "invalid_dossier_code"
    assert "has 5 digits, expected 19" in r.json()["detail"]
    r = await api.get("agent1", "/api/v1/dossiers/000.00.12.H12-241115-0002")
    assert r.status_code == 404 and r.json()["error"] == "dossier_not_found"
    assert (await api.client.get(f"/api/v1/dossiers/{CODE}")).status_code == 401


async def test_health_and_metrics(api: Api) -> None:
    r = await api.client.get("/api/v1/health")
    assert r.json() == {"status": "ok", "database": "ok"}
    await api.post("agent1", "/api/v1/cases", NEW_CASE)
    seed_call(api.engine, "2000.1")
    text = (await api.client.get("/metrics")).text
    assert 'hotline_cases{status="received"} 1.0' in text
    assert "hotline_calls_open 0.0" in text
    assert (
        'hotline_http_requests_total{method="POST",route="/api/v1/cases",status="201"} 1.0' in text
    )
    assert 'hotline_http_request_duration_seconds_bucket{le="0.05"' in text.replace(
        'method="GET",route="/api/v1/health",', ""
    )


async def test_health_reports_an_unreachable_database(api: Api) -> None:
    import httpx
    from sqlalchemy import create_engine

    dead = create_engine("postgresql+psycopg://x:y@127.0.0.1:9/none?connect_timeout=1")
    from tests.api.conftest import Clock

    app = create_app(api.settings, engine=dead, clock=Clock())
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        r = await client.get("/api/v1/health")
        assert r.status_code == 503 and r.json()["status"] == "degraded"
        r = await client.get("/api/v1/cases", headers=await api.headers("agent1"))
        assert r.status_code == 503 and r.json()["error"] == "database_unavailable"
    dead.dispose()


def test_openapi_documents_every_route(api: Api) -> None:
    app = api.client._transport.app  # type: ignore[attr-defined]
    spec = app.openapi()
    paths = spec["paths"]
    public = {"/api/v1/auth/token", "/api/v1/health", "/metrics"}
    routes = list(iter_routes(app))
    assert len(routes) >= 20
    for path, methods, route in routes:
        if path in ("/docs", "/redoc", "/openapi.json", "/docs/oauth2-redirect"):
            continue
        assert isinstance(route, APIRoute), path
        assert path in paths, path
        for method in methods - {"HEAD"}:
            op = paths[path][method.lower()]
            where = f"{method} {path}"
            assert op.get("summary") and op.get("tags"), where
            assert "200" in op["responses"] or "201" in op["responses"], where
            if path.startswith("/api/v1") and path not in public:
                assert op.get("security") == [{"HTTPBearer": []}], where
                assert {"401", "403", "422"} <= set(op["responses"]), where
            if path.startswith("/open311"):
                assert "400" in op["responses"] and "404" in op["responses"], where
    assert all(p.startswith(("/api/v1/", "/open311/v2/", "/metrics")) for p in paths)
    post = paths["/open311/v2/requests.json"]["post"]
    assert "application/x-www-form-urlencoded" in post["requestBody"]["content"]
    assert spec["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"


NASTY = ["", "-1", "99999999999999999999", "\x00", "é' OR 1=1 --", "2026-13-45T99:00:00Z",
         "../etc/passwd", "[]"]  # fmt: skip


async def test_no_input_causes_a_500(api: Api) -> None:
    """A small schemathesis: every GET route and query parameter of the OpenAPI document,
    fed hostile values, answers below 500."""
    app = api.client._transport.app  # type: ignore[attr-defined]
    spec = app.openapi()
    headers = await api.headers("super1")
    seen = 0
    for path, ops in spec["paths"].items():
        op = ops.get("get")
        if op is None or path == "/metrics":
            continue
        params = op.get("parameters", [])
        for value in NASTY:
            url = path
            for p in params:
                if p["in"] == "path":
                    url = url.replace("{" + p["name"] + "}", quote(value, safe="") or "x")
            r = await api.client.get(url, headers=headers)
            assert r.status_code < 500, (url, r.status_code, r.text)
            for p in params:
                if p["in"] != "query":
                    continue
                r = await api.client.get(path.replace("{", "").replace("}", ""),
                                         params={p["name"]: value}, headers=headers)  # fmt: skip
                assert r.status_code < 500, (path, p["name"], value, r.text)
                seen += 1
    assert seen > 50


async def test_bad_bodies_are_clear_4xx(api: Api) -> None:
    h = {**(await api.headers("agent1")), "content-type": "application/json"}
    r = await api.client.post("/api/v1/cases", content=b'{"category": ', headers=h)
    assert r.status_code == 422 and "malformed JSON" in r.json()["detail"]
    r = await api.post("agent1", "/api/v1/cases", {**NEW_CASE, "colour": "red"})
    assert r.status_code == 422 and "body.colour: unknown field" in r.json()["detail"]
    r = await api.post("agent1", "/api/v1/cases", {**NEW_CASE, "category": "aliens"})
    assert r.status_code == 422 and "body.category" in r.json()["detail"]
    r = await api.post("agent1", "/api/v1/cases", {**NEW_CASE, "description": "a\x00b"})
    assert r.status_code == 422 and "NUL" in r.json()["detail"]
    r = await api.post("agent1", "/api/v1/cases", [1, 2])
    assert r.status_code == 422
    r = await api.post("agent1", "/api/v1/cases", {**NEW_CASE, "latitude": 91})
    assert r.status_code == 422 and "body.latitude" in r.json()["detail"]
    r = await api.client.put("/api/v1/cases", headers=h)
    assert r.status_code == 405 and r.json()["error"] == "method_not_allowed"
    r = await api.client.get("/api/v1/nothing", headers=h)
    assert r.status_code == 404 and r.json()["detail"] == "Not Found"


def _junk(rng: random.Random, depth: int = 0) -> object:
    kind = rng.randrange(9 if depth < 2 else 6)
    if kind == 0:
        return None
    if kind == 1:
        return rng.choice([True, False])
    if kind == 2:
        return rng.choice([0, -1, 1, 2**31, -(2**63), 10**30, 31825])
    if kind == 3:
        return rng.choice([0.5, -90.0, 1e308, -1e-308, 91.0])
    if kind in (4, 5):
        return rng.choice(["", "x" * 30_000, "\x00", "é\u0301", "traffic", "closed", "' OR 1=1",
                           "2026-02-30T00:00:00Z", "0912345678", "  ", "\ud7ff"])  # fmt: skip
    if kind == 6:
        return [_junk(rng, depth + 1) for _ in range(rng.randrange(3))]
    return {"a": _junk(rng, depth + 1)}


async def test_random_bodies_never_cause_a_500(api: Api) -> None:
    """Bodies for every JSON write operation of the OpenAPI document: the documented fields
    (a random subset, random JSON values) plus now and then an unknown one."""
    app = api.client._transport.app  # type: ignore[attr-defined]
    spec = app.openapi()
    ref = (await api.post("agent1", "/api/v1/cases", NEW_CASE)).json()["reference"]
    headers = await api.headers("super1")
    rng = random.Random(1900_9120)
    tried = 0
    for path, ops in spec["paths"].items():
        for method in ("post", "patch"):
            op = ops.get(method)
            content = (op or {}).get("requestBody", {}).get("content", {})
            if "application/json" not in content:
                continue
            schema = content["application/json"]["schema"]
            if "$ref" in schema:
                schema = spec["components"]["schemas"][schema["$ref"].split("/")[-1]]
            fields = list(schema.get("properties", {}))
            url = path.replace("{reference}", ref)
            for _ in range(40):
                body: dict[str, object] = {f: _junk(rng) for f in fields if rng.random() < 0.6}
                if rng.random() < 0.1:
                    body["unexpected"] = 1
                r = await api.client.request(method, url, json=body, headers=headers)
                assert r.status_code < 500, (method, url, body, r.text)
                tried += 1
    assert tried >= 200
