"""The case list's `count` is capped (exact up to `COUNT_LIMIT`, then COUNT_LIMIT + 1), on
SQLite and PostgreSQL, for a plain list and for the overdue list; the page is unchanged."""

from __future__ import annotations

import pytest

from api.routers import cases as cases_router
from tests.api.conftest import NEW_CASE, Api


async def test_case_list_count_stops_one_past_the_cap(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    refs = []
    for _ in range(5):
        api.clock.advance(minutes=1)
        r = await api.post("agent1", "/api/v1/cases", NEW_CASE)
        assert r.status_code == 201, r.text
        refs.append(r.json()["reference"])
    exact = await api.get("super1", "/api/v1/cases", limit=2)
    assert exact.json()["count"] == 5  # under the real cap: exact
    monkeypatch.setattr(cases_router, "COUNT_LIMIT", 3)
    r = await api.get("super1", "/api/v1/cases", limit=2)
    assert r.json()["count"] == 4  # "more than 3"
    assert [c["reference"] for c in r.json()["data"]] == [refs[4], refs[3]]
    api.clock.advance(hours=25)  # traffic SLA is 24 h: all five are overdue
    api.tokens.clear()
    r = await api.get("super1", "/api/v1/cases", overdue="true", limit=1)
    assert r.json()["count"] == 4
    assert [c["reference"] for c in r.json()["data"]] == [refs[-1]]
    monkeypatch.setattr(cases_router, "COUNT_LIMIT", 5)
    r = await api.get("super1", "/api/v1/cases", overdue="true")
    assert r.json()["count"] == 5  # exactly the cap: still exact
