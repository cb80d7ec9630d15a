"""Open311 GeoReport v2 conformance over the hotline's cases: services, service definitions,
POST requests (form-encoded, as the spec says), GET requests / request, open/closed mapping,
and the spec's error format ``[{"code": ..., "description": ...}]``."""

from __future__ import annotations

from typing import Any

from cases.domain import Category
from tests.api.conftest import Api

BASE = "/open311/v2"
SERVICE_FIELDS = {
    "service_code",
    "service_name",
    "description",
    "metadata",
    "type",
    "keywords",
    "group",
}
REQUEST_FIELDS = {
    "service_request_id",
    "status",
    "status_notes",
    "service_name",
    "service_code",
    "description",
    "agency_responsible",
    "service_notice",
    "requested_datetime",
    "updated_datetime",
    "expected_datetime",
    "address",
    "address_id",
    "zipcode",
    "lat",
    "long",
    "media_url",
}


def _is_error(body: Any, code: int) -> bool:
    return (
        isinstance(body, list)
        and len(body) == 1
        and body[0]["code"] == code
        and isinstance(body[0]["description"], str)
        and body[0]["description"] != ""
    )


async def _post(api: Api, **fields: str) -> Any:
    return await api.client.post(f"{BASE}/requests.json", data=fields)


async def test_services_and_definitions(api: Api) -> None:
    r = await api.client.get(f"{BASE}/services.json")
    assert r.status_code == 200
    services = r.json()
    assert [s["service_code"] for s in services] == [c.value for c in Category]
    assert all(set(s) == SERVICE_FIELDS and s["type"] == "realtime" for s in services)
    r = await api.client.get(f"{BASE}/services/traffic.json")
    definition = r.json()
    assert definition["service_code"] == "traffic"
    (ward,) = definition["attributes"]
    assert ward["code"] == "WARD" and ward["datatype"] == "singlevaluelist"
    assert {"key": "31825", "name": ward["values"][0]["name"]} in ward["values"]
    r = await api.client.get(f"{BASE}/services/potholes.json")
    assert r.status_code == 404 and _is_error(r.json(), 404)
    r = await api.client.get(f"{BASE}/services.xml")
    assert r.status_code == 404 and _is_error(r.json(), 404)


async def test_post_request_then_get_it(api: Api) -> None:
    key = (await api.headers("agent1"))["Authorization"].removeprefix("Bearer ")
    r = await _post(
        api,
        api_key=key,
        service_code="environment",
        lat="9.29",
        long="105.72",
        address_string="Đường Trần Phú, Phường Bạc Liêu",
        description="Rác thải ven kênh",
        phone="0912345678",
    )
    assert r.status_code == 200, r.text
    (created,) = r.json()
    ref = created["service_request_id"]
    assert ref in created["service_notice"] and set(created) >= {"service_request_id"}
    r = await api.client.get(f"{BASE}/requests/{ref}.json")
    (req,) = r.json()
    assert set(req) == REQUEST_FIELDS
    assert req["status"] == "open" and req["service_code"] == "environment"
    assert req["lat"] == 9.29 and req["address_id"] == "31825"
    assert "0912345678" not in r.text and "912" not in r.text  # never the caller
    listed = (await api.client.get(f"{BASE}/requests.json")).json()
    assert [x["service_request_id"] for x in listed] == [ref]
    assert (await api.client.get(f"{BASE}/requests.json", params={"status": "closed"})).json() == []
    # our richer statuses map to open/closed
    await api.post("agent1", f"/api/v1/cases/{ref}/status", {"status": "rejected", "reason": "x"})
    (req,) = (await api.client.get(f"{BASE}/requests/{ref}.json")).json()
    assert req["status"] == "closed" and req["status_notes"] == "không được tiếp nhận"
    r = await api.client.get(f"{BASE}/requests.json", params={"service_request_id": ref})
    assert [x["service_request_id"] for x in r.json()] == [ref]


async def test_post_accepts_json_and_ward_attribute(api: Api) -> None:
    key = (await api.headers("super1"))["Authorization"].removeprefix("Bearer ")
    body = {
        "api_key": key,
        "service_code": "traffic",
        "attribute[WARD]": "31834",
        "description": "Ổ gà",
    }
    r = await api.client.post(f"{BASE}/requests.json", json=body)
    assert r.status_code == 200, r.text
    ref = r.json()[0]["service_request_id"]
    (req,) = (await api.client.get(f"{BASE}/requests/{ref}.json")).json()
    assert req["address_id"] == "31834"


async def test_post_errors_follow_the_spec(api: Api) -> None:
    key = (await api.headers("agent1"))["Authorization"].removeprefix("Bearer ")
    cases = {
        "no api_key": ({"service_code": "traffic", "lat": "9", "long": "105"}, 403),
        "bad api_key": ({"api_key": "x.y", "service_code": "traffic", "lat": "9"}, 403),
        "no service_code": ({"api_key": key, "lat": "9", "long": "105"}, 400),
        "unknown service": ({"api_key": key, "service_code": "x", "lat": "9", "long": "1"}, 404),
        "no location": ({"api_key": key, "service_code": "traffic", "description": "x"}, 400),
        "half location": ({"api_key": key, "service_code": "traffic", "lat": "9"}, 400),
        "bad lat": ({"api_key": key, "service_code": "traffic", "lat": "n", "long": "1"}, 400),
        "lat range": (
            {
                "api_key": key,
                "service_code": "traffic",
                "lat": "99",
                "long": "1",
                "description": "x",
            },
            400,
        ),
        "no description": (
            {"api_key": key, "service_code": "traffic", "lat": "9", "long": "105"},
            400,
        ),
        "ward unknown": (
            {"api_key": key, "service_code": "traffic", "address_id": "1", "description": "x"},
            400,
        ),
    }
    for name, (fields, status) in cases.items():
        r = await _post(api, **fields)
        assert r.status_code == status, (name, r.text)
        assert _is_error(r.json(), status), name
    r = await api.client.post(
        f"{BASE}/requests.json", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert r.status_code == 400 and _is_error(r.json(), 400)
    r = await api.client.post(
        f"{BASE}/requests.json", content=b"x", headers={"content-type": "text/plain"}
    )
    assert r.status_code == 400 and _is_error(r.json(), 400)


async def test_get_requests_errors(api: Api) -> None:
    for params in (
        {"service_request_id": "123"},
        {"start_date": "yesterday"},
        {"start_date": "2026-11-01T00:00:00"},
        {"start_date": "2026-11-02T00:00:00Z", "end_date": "2026-11-01T00:00:00Z"},
        {"status": "pending"},
    ):
        r = await api.client.get(f"{BASE}/requests.json", params=params)
        assert r.status_code == 400 and _is_error(r.json(), 400), params
    r = await api.client.get(f"{BASE}/requests/123.json")
    assert r.status_code == 400 and _is_error(r.json(), 400)
    from cases.domain import damm_digit

    unknown = "7654321" + str(damm_digit("7654321"))
    r = await api.client.get(f"{BASE}/requests/{unknown}.json")
    assert r.status_code == 404 and _is_error(r.json(), 404)
    r = await api.client.get(
        f"{BASE}/requests.json",
        params={
            "start_date": "2026-11-01T00:00:00+07:00",
            "end_date": "2026-12-01T00:00:00Z",
            "service_code": "traffic,health",
            "status": "open,closed",
        },
    )
    assert r.status_code == 200 and r.json() == []
