"""The call log through the API: search by time range, caller, outcome and intent, paging,
CSV export, call detail with steps, recordings — and what each role may see."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

from sqlalchemy import select

from cases.db import session_factory
from cases.models import AuditEntry
from tests.api.conftest import NEW_CASE, T0, Api, seed_call


def _seed(api: Api) -> None:
    seed_call(api.engine, "1000.1", caller="0912345678", started_at=T0, intent="dossier")
    seed_call(api.engine, "1000.2", caller="0987654321", started_at=T0 + timedelta(hours=1),
              outcome="abandoned")  # fmt: skip
    seed_call(api.engine, "1000.3", caller="0912345678", started_at=T0 + timedelta(hours=2),
              outcome="transferred", intent="complaint", recording="1000.3-record-1")  # fmt: skip


def _audits(api: Api, action: str) -> list[tuple[str, str, str]]:
    with session_factory(api.engine)() as s:
        rows = s.scalars(select(AuditEntry).where(AuditEntry.action == action)).all()
        return [(e.actor, e.target_type, e.target_id) for e in rows]


async def test_search_filters_and_paging(api: Api) -> None:
    _seed(api)
    r = await api.get("super1", "/api/v1/calls")
    assert r.status_code == 200
    assert [c["uniqueid"] for c in r.json()["data"]] == ["1000.3", "1000.2", "1000.1"]
    assert all(c["caller_masked"] and "***" in c["caller"] for c in r.json()["data"])
    cases: dict[str, tuple[dict[str, str | int], list[str]]] = {
        "caller": ({"caller": "0912345678"}, ["1000.3", "1000.1"]),
        "outcome": ({"outcome": "abandoned"}, ["1000.2"]),
        "intent": ({"intent": "complaint"}, ["1000.3"]),
        "range": (
            {
                "started_from": (T0 + timedelta(minutes=30)).isoformat(),
                "started_to": (T0 + timedelta(hours=2)).isoformat(),
            },
            ["1000.2"],
        ),
        "page": ({"limit": 1, "offset": 1}, ["1000.2"]),
    }
    for name, (params, expected) in cases.items():
        r = await api.get("super1", "/api/v1/calls", **params)
        assert [c["uniqueid"] for c in r.json()["data"]] == expected, name
    r = await api.get("super1", "/api/v1/calls", limit=1)
    assert r.json()["count"] == 3 and len(r.json()["data"]) == 1
    r = await api.get("super1", "/api/v1/calls", outcome="open")
    assert r.json()["count"] == 0


async def test_agent_sees_only_calls_of_cases_they_handle(api: Api) -> None:
    _seed(api)
    assert (await api.get("agent1", "/api/v1/calls")).json()["count"] == 0
    assert (await api.get("agent1", "/api/v1/calls/1000.3")).status_code == 404
    r = await api.post("agent1", "/api/v1/cases", {**NEW_CASE, "call_uniqueid": "1000.3"})
    assert r.status_code == 201
    r = await api.get("agent1", "/api/v1/calls")
    assert [c["uniqueid"] for c in r.json()["data"]] == ["1000.3"]
    detail = (await api.get("agent1", "/api/v1/calls/1000.3")).json()
    assert detail["caller"] == "0912***678"
    assert [s["kind"] for s in detail["steps"]] == ["node", "speech", "recording"]
    assert detail["recordings"] == ["1000.3-record-1"]
    assert (await api.get("agent2", "/api/v1/calls/1000.3")).status_code == 404
    r = await api.get("agent1", "/api/v1/calls/1000.3", reveal_caller="true")
    assert r.status_code == 403


async def test_supervisor_full_numbers_are_audited(api: Api) -> None:
    _seed(api)
    r = await api.get("super1", "/api/v1/calls/1000.1", reveal_caller="true")
    assert r.json()["caller"] == "0912345678"
    r = await api.get("super1", "/api/v1/calls", reveal_caller="true", caller="0912345678")
    assert [c["caller"] for c in r.json()["data"]] == ["0912345678", "0912345678"]
    assert _audits(api, "read_caller_number") == [
        ("super1", "call", "1000.1"),
        ("super1", "call", "1000.3"),
        ("super1", "call", "1000.1"),
    ]


async def test_csv_export_streams_masked_unless_revealed(api: Api) -> None:
    _seed(api)
    r = await api.get("agent1", "/api/v1/calls/export.csv")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert list(csv.reader(io.StringIO(r.text)))[1:] == []  # header only: none of agent1's
    r = await api.get("super1", "/api/v1/calls/export.csv", outcome="transferred")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert [(x["uniqueid"], x["caller"], x["intent"]) for x in rows] == [
        ("1000.3", "0912***678", "complaint")
    ]
    assert _audits(api, "read_caller_number") == []
    r = await api.get("super1", "/api/v1/calls/export.csv", reveal_caller="true")
    assert [x["caller"] for x in csv.DictReader(io.StringIO(r.text))] == [
        "0912345678", "0987654321", "0912345678",
    ]  # fmt: skip
    assert _audits(api, "read_caller_number") == [("super1", "call_export", "csv")]


async def test_recordings_supervisor_only_and_audited(api: Api) -> None:
    _seed(api)
    root = api.settings.recordings_dir
    assert root is not None
    wav = b"RIFF" + b"\x00" * 40
    (root / "1000.3-record-1.wav").write_bytes(wav)
    r = await api.post("agent1", "/api/v1/cases", {**NEW_CASE, "call_uniqueid": "1000.3"})
    ref = r.json()["reference"]
    for who in ("agent1", "admin1"):
        r = await api.get(who, "/api/v1/calls/1000.3/recording")
        assert r.status_code == 403, who
    r = await api.get("super1", "/api/v1/calls/1000.3/recording")
    assert r.status_code == 200 and r.content == wav
    assert r.headers["content-type"] == "audio/wav"
    assert (await api.get("super1", "/api/v1/calls/1000.1/recording")).status_code == 404
    assert (await api.get("super1", f"/api/v1/cases/{ref}/recording")).status_code == 404
    assert (await api.get("super1", "/api/v1/calls/1000.3/recording", n=2)).status_code == 404
    assert _audits(api, "read_recording") == [("super1", "call", "1000.3")]


async def test_call_search_rejects_bad_input(api: Api) -> None:
    bad: dict[str, dict[str, str | int]] = {
        "naive date": {"started_from": "2026-11-25T00:00:00"},
        "not a date": {"started_from": "yesterday"},
        "reversed": {"started_from": T0.isoformat(), "started_to": T0.isoformat()},
        "limit 0": {"limit": 0},
        "limit 501": {"limit": 501},
        "negative offset": {"offset": -1},
        "bad outcome": {"outcome": "exploded"},
        "bad caller": {"caller": "09x"},
        "bad reveal": {"reveal_caller": "maybe"},
    }
    for name, params in bad.items():
        r = await api.get("super1", "/api/v1/calls", **params)
        assert r.status_code == 422, (name, r.text)
        assert r.json()["detail"], name
    r = await api.get("super1", "/api/v1/calls", limit=501)
    assert "query.limit" in r.json()["detail"]
    r = await api.get("super1", "/api/v1/calls", started_from="2026-11-25T00:00:00")
    assert "timezone" in r.json()["detail"]


async def test_audit_log_is_for_supervisors_and_admins(api: Api) -> None:
    _seed(api)
    await api.get("super1", "/api/v1/calls/1000.1", reveal_caller="true")
    assert (await api.get("agent1", "/api/v1/audit")).status_code == 403
    for who in ("super1", "admin1"):
        r = await api.get(who, "/api/v1/audit", action="read_caller_number")
        assert r.status_code == 200, who
        assert [(e["actor"], e["target_id"]) for e in r.json()["data"]] == [("super1", "1000.1")]
    r = await api.get("admin1", "/api/v1/audit", action="login", limit=1)
    assert r.json()["count"] == 3 and len(r.json()["data"]) == 1  # agent1, super1, admin1
