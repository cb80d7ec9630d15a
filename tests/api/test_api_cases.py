"""Cases through the API on SQLite and PostgreSQL: create, list, get, the workflow (409 naming
the states), assignment, notes, and what each role may and may not see or do."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from cases.db import session_factory
from cases.models import AuditEntry
from tests.api.conftest import NEW_CASE, Api


async def _create(api: Api, who: str = "agent1", **overrides: Any) -> dict[str, Any]:
    r = await api.post(who, "/api/v1/cases", {**NEW_CASE, **overrides})
    assert r.status_code == 201, r.text
    body: dict[str, Any] = r.json()
    return body


async def test_agent_opens_a_case_and_sees_it_masked(api: Api) -> None:
    case = await _create(api)
    assert len(case["reference"]) == 8 and case["reference"].isdigit()
    assert case["status"] == "received"
    assert case["handled_by"] == "agent1" and case["created_by"] == "agent1"
    assert case["place"].startswith("Phường") and case["ward_code"] == 31825
    assert case["caller"] == "0912***678" and case["caller_masked"] is True
    assert case["history"][0]["to_status"] == "received"
    assert case["due_at"] > case["created_at"]


async def test_agents_see_only_their_cases_supervisors_all(api: Api) -> None:
    mine = await _create(api, "agent1")
    theirs = await _create(api, "agent2", description="Rác thải", category="environment")
    ref = theirs["reference"]
    r = await api.get("agent1", "/api/v1/cases")
    assert [c["reference"] for c in r.json()["data"]] == [mine["reference"]]
    assert r.json()["count"] == 1
    assert (await api.get("agent1", f"/api/v1/cases/{ref}")).status_code == 404
    r = await api.post("agent1", f"/api/v1/cases/{ref}/notes", {"text": "tôi xem"})
    assert r.status_code == 404
    r = await api.get("agent1", "/api/v1/cases", handled_by="agent2")
    assert r.status_code == 403
    for who in ("super1", "admin1"):
        r = await api.get(who, "/api/v1/cases")
        assert r.json()["count"] == 2, who
        assert all(c["caller_masked"] for c in r.json()["data"])
    assert (await api.get("super1", f"/api/v1/cases/{ref}")).status_code == 200


async def test_full_caller_number_supervisors_only_and_audited(api: Api) -> None:
    case = await _create(api)
    ref = case["reference"]
    r = await api.get("agent1", f"/api/v1/cases/{ref}", reveal_caller="true")
    assert r.status_code == 403 and "only supervisors" in r.json()["detail"]
    r = await api.get("admin1", "/api/v1/cases", reveal_caller="true")
    assert r.status_code == 403
    r = await api.get("super1", f"/api/v1/cases/{ref}", reveal_caller="true")
    assert r.status_code == 200
    assert r.json()["caller"] == "0912345678" and r.json()["caller_masked"] is False
    r = await api.get("super1", "/api/v1/cases", reveal_caller="true")
    assert r.json()["data"][0]["caller"] == "0912345678"
    with session_factory(api.engine)() as s:
        reads = s.scalars(select(AuditEntry).where(AuditEntry.action == "read_caller_number")).all()
    assert [(e.actor, e.target_type, e.target_id) for e in reads] == [
        ("super1", "case", ref),
        ("super1", "case", ref),
    ]


async def test_the_workflow_is_enforced_with_409_naming_the_states(api: Api) -> None:
    ref = (await _create(api))["reference"]
    url = f"/api/v1/cases/{ref}"
    r = await api.post("agent1", f"{url}/status", {"status": "in_progress"})
    assert r.status_code == 409
    assert r.json()["error"] == "illegal_transition"
    assert f"Case {ref} is received: cannot move to in_progress" in r.json()["detail"]
    r = await api.post("agent1", f"{url}/status", {"status": "assigned"})
    assert r.status_code == 409
    r = await api.post("agent1", f"{url}/status", {"status": "classified", "category": "utilities"})
    assert r.status_code == 200 and r.json()["category"] == "utilities"
    r = await api.post("agent1", f"{url}/assign", {"unit": "Điện lực Bạc Liêu"})
    assert r.status_code == 200
    assert r.json()["status"] == "assigned" and r.json()["assigned_unit"] == "Điện lực Bạc Liêu"
    for target in ("in_progress", "resolved", "closed"):
        r = await api.post("agent1", f"{url}/status", {"status": target, "reason": "ok"})
        assert r.status_code == 200, r.text
    r = await api.post("agent1", f"{url}/status", {"status": "in_progress"})
    assert r.status_code == 409 and "none (final status)" in r.json()["detail"]
    history = (await api.get("agent1", url)).json()["history"]
    assert [h["to_status"] for h in history] == [
        "received", "classified", "assigned", "in_progress", "resolved", "closed",
    ]  # fmt: skip
    assert all(h["actor"] == "agent1" for h in history)


async def test_reject_and_duplicate_need_reasons(api: Api) -> None:
    first = (await _create(api))["reference"]
    ref = (await _create(api))["reference"]
    r = await api.post("agent1", f"/api/v1/cases/{ref}/status", {"status": "rejected"})
    assert r.status_code == 422 and "needs a reason" in r.json()["detail"]
    r = await api.post(
        "agent1", f"/api/v1/cases/{ref}/status", {"status": "duplicate", "reason": "trùng"}
    )
    assert r.status_code == 422 and "original" in r.json()["detail"]
    r = await api.post(
        "agent1",
        f"/api/v1/cases/{ref}/status",
        {"status": "duplicate", "reason": "trùng", "duplicate_of": first},
    )
    assert r.status_code == 200 and r.json()["duplicate_of"] == first
    r = await api.post(
        "agent1", f"/api/v1/cases/{ref}/status", {"status": "resolved", "category": "traffic"}
    )
    assert r.status_code == 422 and "category can only be given" in r.text


async def test_assign_to_another_agent_is_for_supervisors(api: Api) -> None:
    ref = (await _create(api))["reference"]
    await api.post("agent1", f"/api/v1/cases/{ref}/status", {"status": "classified"})
    body = {"unit": "Công an phường", "handled_by": "agent2"}
    r = await api.post("agent1", f"/api/v1/cases/{ref}/assign", body)
    assert r.status_code == 403 and "only supervisors" in r.json()["detail"]
    r = await api.post("super1", f"/api/v1/cases/{ref}/assign", body)
    assert r.status_code == 200 and r.json()["handled_by"] == "agent2"
    assert (await api.get("agent1", f"/api/v1/cases/{ref}")).status_code == 404
    assert (await api.get("agent2", f"/api/v1/cases/{ref}")).status_code == 200


async def test_notes_and_admins_cannot_edit(api: Api) -> None:
    ref = (await _create(api))["reference"]
    r = await api.post("agent1", f"/api/v1/cases/{ref}/notes", {"text": "Đã gọi lại công dân"})
    assert r.status_code == 201 and r.json()["author"] == "agent1"
    r = await api.post("admin1", f"/api/v1/cases/{ref}/notes", {"text": "x"})
    assert r.status_code == 403 and "admins do not edit" in r.json()["detail"]
    r = await api.post("admin1", "/api/v1/cases", NEW_CASE)
    assert r.status_code == 403
    notes = (await api.get("super1", f"/api/v1/cases/{ref}")).json()["notes"]
    assert [n["text"] for n in notes] == ["Đã gọi lại công dân"]


async def test_list_filters_and_paging(api: Api) -> None:
    refs = []
    for i in range(5):
        api.clock.advance(minutes=1)
        cat = "traffic" if i % 2 == 0 else "health"
        refs.append((await _create(api, category=cat))["reference"])
    r = await api.get("agent1", "/api/v1/cases", limit=2, offset=1)
    assert r.json()["count"] == 5
    assert [c["reference"] for c in r.json()["data"]] == [refs[3], refs[2]]
    r = await api.get("super1", "/api/v1/cases", category="health")
    assert {c["reference"] for c in r.json()["data"]} == {refs[1], refs[3]}
    r = await api.get("super1", "/api/v1/cases", status="classified")
    assert r.json()["count"] == 0
    assert (await api.get("super1", "/api/v1/cases", overdue="true")).json()["count"] == 0
    api.clock.advance(hours=25)  # traffic SLA is 24 h, health 48 h
    api.tokens.clear()  # they expired meanwhile
    r = await api.get("super1", "/api/v1/cases", overdue="true")
    assert {c["reference"] for c in r.json()["data"]} == {refs[0], refs[2], refs[4]}
    assert all(c["overdue"] for c in r.json()["data"])


async def test_invalid_reference_is_422_unknown_is_404(api: Api) -> None:
    r = await api.get("super1", "/api/v1/cases/12345678")
    assert r.status_code == 422 and "check digit" in r.json()["detail"]
    r = await api.get("super1", "/api/v1/cases/abc")
    assert r.status_code == 422 and r.json()["error"] == "invalid_reference"
    from cases.domain import damm_digit

    unknown = "1234567" + str(damm_digit("1234567"))
    r = await api.get("super1", f"/api/v1/cases/{unknown}")
    assert r.status_code == 404


async def test_place_must_be_a_served_ward(api: Api) -> None:
    r = await api.post("agent1", "/api/v1/cases", {**NEW_CASE, "ward_code": 1})
    assert r.status_code == 422 and r.json()["error"] == "unknown_place"
    del_ward = {k: v for k, v in NEW_CASE.items() if k != "ward_code"}
    r = await api.post("agent1", "/api/v1/cases", {**del_ward, "place_text": "phuong bac lieu"})
    assert r.status_code == 201 and r.json()["place"].startswith("Phường Bạc Liêu")


async def test_edit_details_recorded_and_final_cases_frozen(api: Api) -> None:
    ref = (await _create(api))["reference"]
    url = f"/api/v1/cases/{ref}"
    h = await api.headers("agent1")
    r = await api.client.patch(url, json={"address": "Cầu Kim Sơn", "ward_code": 31834}, headers=h)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["address"] == "Cầu Kim Sơn" and body["ward_code"] == 31834
    assert body["version"] == 2
    assert body["history"][-1]["reason"] == "edited: address, ward_code, place"
    for bad in ({}, {"colour": "x"}, {"ward_code": 31834, "place_text": "Bạc Liêu"},
                {"ward_code": 1}, {"description": ""}):  # fmt: skip
        r = await api.client.patch(url, json=bad, headers=h)
        assert r.status_code == 422, (bad, r.text)
    r = await api.client.patch(url, json={"address": "x"}, headers=await api.headers("agent2"))
    assert r.status_code == 404
    await api.post("agent1", f"{url}/status", {"status": "rejected", "reason": "spam"})
    r = await api.client.patch(url, json={"address": "y"}, headers=h)
    assert r.status_code == 409 and "is rejected: its details are final" in r.json()["detail"]


async def test_concurrent_writes_while_the_controller_records(api: Api) -> None:
    """API writes run in worker threads next to the controller's writer: none may fail with a
    lock error (SQLite takes the write lock at BEGIN; PostgreSQL just works)."""
    import asyncio
    import threading

    from tests.api.conftest import seed_call

    h = await api.headers("agent1")

    def controller() -> None:
        for i in range(15):
            seed_call(api.engine, f"3000.{i}")

    writer = threading.Thread(target=controller)
    writer.start()
    responses = await asyncio.gather(
        *(api.client.post("/api/v1/cases", json=NEW_CASE, headers=h) for _ in range(20))
    )
    await asyncio.to_thread(writer.join)
    assert [r.status_code for r in responses] == [201] * 20, [r.text for r in responses]
    refs = {r.json()["reference"] for r in responses}
    assert len(refs) == 20
    listed = await api.get("agent1", "/api/v1/cases", limit=50)
    assert listed.json()["count"] == 20
    assert (await api.get("super1", "/api/v1/calls")).json()["count"] == 15
