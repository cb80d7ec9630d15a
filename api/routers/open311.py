"""Open311 GeoReport v2 over the hotline's cases, so civic tools that speak it can use them.

- ``GET  /open311/v2/services.json``             one service per case category;
- ``GET  /open311/v2/services/{code}.json``      its definition (attribute ``WARD``);
- ``POST /open311/v2/requests.json``             open a case (needs ``api_key``: a token from
  ``POST /api/v1/auth/token``); form-encoded (as the spec says) or JSON;
- ``GET  /open311/v2/requests.json``             search (ids, service, dates, open/closed);
- ``GET  /open311/v2/requests/{id}.json``        one request (a list of one, per the spec).

Our richer statuses map to ``open``/``closed`` (`cases.domain.open311_status`); the
``service_request_id`` is the case's reference number. Reads never show the caller, the
transcript or the recording. Errors are ``[{"code": ..., "description": ...}]`` with HTTP
400/403/404 (`api.problems`).
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Annotated, Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, Query, Request
from sqlalchemy import select

from api.deps import (
    CasesConfigDep,
    ClockDep,
    PlacesDep,
    SessionDep,
    SettingsDep,
    begin_write,
    principal_from_token,
)
from api.errors import AuthError, BadRequestError, ForbiddenError, NotFoundError
from api.schemas.open311 import (
    AttributeValue,
    Open311Error,
    RequestCreated,
    Service,
    ServiceAttribute,
    ServiceDefinition,
    ServiceRequest,
)
from cases import services
from cases.config import CasesConfig
from cases.domain import (
    CASE_STATUS_LABELS_VI,
    CATEGORY_LABELS_VI,
    OPEN311_CLOSED,
    CaseStatus,
    Category,
    Channel,
    Role,
    open311_status,
    parse_reference,
)
from cases.errors import InvalidReferenceError
from cases.models import Case
from cases.places import PlaceDirectory

router = APIRouter(
    prefix="/open311/v2",
    tags=["open311"],
    responses={
        400: {"model": list[Open311Error], "description": "bad request"},
        404: {"model": list[Open311Error], "description": "unknown service or request"},
    },
)

MAX_REQUESTS = 1000
DEFAULT_WINDOW = timedelta(days=90)
WARD_ATTRIBUTE = "WARD"


def _service(category: Category, config: CasesConfig) -> Service:
    hours = int(config.sla_for(category).total_seconds() // 3600)
    return Service(
        service_code=category.value,
        service_name=CATEGORY_LABELS_VI[category],
        description=f"Phản ánh hiện trường: {CATEGORY_LABELS_VI[category]} "
        f"(thời hạn xử lý {hours} giờ)",
        metadata=True,
        type="realtime",
        keywords=category.value.replace("_", ","),
        group="Phản ánh hiện trường",
    )


def _category(code: str) -> Category:
    try:
        return Category(code)
    except ValueError:
        known = ", ".join(c.value for c in Category)
        raise NotFoundError(f"service_code {code!r} is unknown (known: {known})") from None


@router.get("/services.json", summary="Open311: the services (case categories)")
def list_services(config: CasesConfigDep) -> list[Service]:
    return [_service(c, config) for c in Category]


@router.get("/services/{service_code}.json", summary="Open311: one service's definition")
def service_definition(service_code: str, places: PlacesDep) -> ServiceDefinition:
    category = _category(service_code)
    return ServiceDefinition(
        service_code=category.value,
        attributes=[
            ServiceAttribute(
                variable=True,
                code=WARD_ATTRIBUTE,
                datatype="singlevaluelist",
                required=False,
                datatype_description="Mã phường/xã (đơn vị hành chính hiện hành)",
                order=1,
                description="Phường/xã nơi xảy ra sự việc",
                values=[AttributeValue(key=str(p.ward_code), name=p.label) for p in places.all()],
            )
        ],
    )


def _iso(value: datetime | None) -> str:
    return value.isoformat() if value is not None else ""


def _request_public(case: Case, config: CasesConfig) -> ServiceRequest:
    category = Category(case.category)
    return ServiceRequest(
        service_request_id=case.reference,
        status=open311_status(case.status),
        status_notes=CASE_STATUS_LABELS_VI[case.status],
        service_name=CATEGORY_LABELS_VI[category],
        service_code=category.value,
        description=case.description,
        agency_responsible=case.assigned_unit or "",
        service_notice="",
        requested_datetime=_iso(case.created_at),
        updated_datetime=_iso(case.updated_at),
        expected_datetime=_iso(case.due_at),
        address=", ".join(p for p in (case.address, case.place) if p),
        address_id=str(case.ward_code or ""),
        zipcode="",
        lat=case.latitude,
        long=case.longitude,
        media_url="",
    )


async def _fields(request: Request) -> dict[str, str]:
    """The POST parameters, form-encoded (GeoReport v2) or a JSON object."""
    raw = await request.body()
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequestError("request body is not UTF-8") from None
    if ctype == "application/json":
        try:
            data: Any = json.loads(text or "{}")
        except json.JSONDecodeError as exc:
            raise BadRequestError(f"malformed JSON: {exc.msg} at position {exc.pos}") from None
        if not isinstance(data, dict):
            raise BadRequestError("JSON body must be an object")
        return {str(k): "" if v is None else str(v) for k, v in data.items()}
    if ctype in ("application/x-www-form-urlencoded", ""):
        try:
            pairs = parse_qsl(text, keep_blank_values=True, strict_parsing=bool(text))
        except ValueError as exc:
            raise BadRequestError(f"malformed form body: {exc}") from None
        return dict(pairs)
    raise BadRequestError(
        f"content type {ctype!r} is not supported: send application/x-www-form-urlencoded "
        "or application/json"
    )


def _float(fields: dict[str, str], name: str) -> float | None:
    value = fields.get(name, "").strip()
    if not value:
        return None
    try:
        number = float(value)
    except ValueError:
        raise BadRequestError(f"{name} {value!r} is not a number") from None
    if number != number or number in (float("inf"), float("-inf")):
        raise BadRequestError(f"{name} {value!r} is not a finite number")
    return number


def _ward(fields: dict[str, str], places: PlaceDirectory) -> tuple[int | None, str]:
    """(ward_code, place_text) from attribute[WARD], address_id, or the address string."""
    for key in (f"attribute[{WARD_ATTRIBUTE}]", "address_id"):
        value = fields.get(key, "").strip()
        if value:
            if not value.isdigit() or len(value) > 7:
                raise BadRequestError(f"{key} {value!r} is not a ward code")
            return int(value), ""
    address = fields.get("address_string", "")
    for piece in reversed(address.split(",")):
        place = places.match(piece)
        if place is not None:
            return place.ward_code, ""
    return None, ""


CREATE_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            ctype: {
                "schema": {
                    "type": "object",
                    "required": ["api_key", "service_code"],
                    "properties": {
                        "api_key": {"type": "string", "description": "a token of /api/v1"},
                        "service_code": {"type": "string", "enum": [c.value for c in Category]},
                        "lat": {"type": "number"},
                        "long": {"type": "number"},
                        "address_string": {"type": "string"},
                        "address_id": {"type": "string"},
                        "description": {"type": "string"},
                        "phone": {"type": "string"},
                        "attribute[WARD]": {"type": "string"},
                    },
                }
            }
            for ctype in ("application/x-www-form-urlencoded", "application/json")
        },
    }
}


@router.post(
    "/requests.json",
    summary="Open311: create a service request (opens a case)",
    openapi_extra=CREATE_BODY,
    responses={403: {"model": list[Open311Error], "description": "invalid api_key"}},
)
async def create_request(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    config: CasesConfigDep,
    places: PlacesDep,
    clock: ClockDep,
) -> list[RequestCreated]:
    fields = await _fields(request)
    now = clock()
    try:
        user = principal_from_token(session, settings, fields.get("api_key", ""), now)
    except AuthError as exc:
        raise ForbiddenError(f"invalid api_key: {exc}") from None
    if user.role is Role.ADMIN:
        raise ForbiddenError(f"api_key of {user.username} (admin) cannot open cases")
    code = fields.get("service_code", "").strip()
    if not code:
        raise BadRequestError("service_code is required")
    category = _category(code)
    lat, lon = _float(fields, "lat"), _float(fields, "long")
    if (lat is None) != (lon is None):
        raise BadRequestError("lat and long must be given together")
    ward_code, _ = _ward(fields, places)
    address = fields.get("address_string", "").strip()
    if lat is None and not address and ward_code is None:
        raise BadRequestError("a location is required: lat & long, address_string or address_id")
    phone = "".join(ch for ch in fields.get("phone", "") if ch.isdigit() or ch == "+")
    begin_write(session)
    case = services.create_case(
        session,
        services.NewCase(
            category=category,
            description=fields.get("description", ""),
            channel=Channel.APP,
            caller=phone[:32],
            ward_code=ward_code,
            address=address[:300],
            latitude=lat,
            longitude=lon,
            handled_by=user.username if user.role is Role.AGENT else None,
        ),
        actor=user.username,
        config=config,
        now=now,
        places=places,
    )
    session.commit()
    hours = int(config.sla_for(category).total_seconds() // 3600)
    return [
        RequestCreated(
            service_request_id=case.reference,
            service_notice=f"Đã tiếp nhận phản ánh số {case.reference}; "
            f"thời hạn xử lý {hours} giờ.",
        )
    ]


def _when(value: str | None, name: str) -> datetime | None:
    if value is None or not value.strip():
        return None
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise BadRequestError(f"{name} {value!r} is not an ISO 8601 date-time") from None
    if parsed.tzinfo is None:
        raise BadRequestError(f"{name} {value!r} needs a time zone (e.g. +07:00 or Z)")
    return parsed


@router.get("/requests.json", summary="Open311: search service requests")
def list_requests(
    session: SessionDep,
    config: CasesConfigDep,
    clock: ClockDep,
    service_request_id: Annotated[
        str | None, Query(max_length=2000, description="comma-separated ids")
    ] = None,
    service_code: Annotated[str | None, Query(max_length=64)] = None,
    start_date: Annotated[str | None, Query(max_length=40)] = None,
    end_date: Annotated[str | None, Query(max_length=40)] = None,
    status: Annotated[str | None, Query(max_length=20, description="open or closed")] = None,
    jurisdiction_id: Annotated[str | None, Query(max_length=100)] = None,
) -> list[ServiceRequest]:
    query = select(Case)
    if service_request_id:
        refs = []
        for raw in service_request_id.split(","):
            try:
                refs.append(parse_reference(raw))
            except InvalidReferenceError as exc:
                raise BadRequestError(str(exc)) from None
        query = query.where(Case.reference.in_(refs))
    else:
        start, end = _when(start_date, "start_date"), _when(end_date, "end_date")
        if start is None and end is None:
            start = clock() - DEFAULT_WINDOW
        if start and end and start >= end:
            raise BadRequestError(f"start_date {start_date} is not before end_date {end_date}")
        if start is not None:
            query = query.where(Case.created_at >= start)
        if end is not None:
            query = query.where(Case.created_at < end)
        if service_code:
            codes = [_category(c.strip()) for c in service_code.split(",")]
            query = query.where(Case.category.in_(codes))
        if status:
            closed = [s for s in CaseStatus if s in OPEN311_CLOSED]
            wanted = {s.strip() for s in status.split(",")}
            if not wanted <= {"open", "closed"}:
                raise BadRequestError(f"status {status!r}: use open or closed")
            if wanted == {"open"}:
                query = query.where(Case.status.not_in(closed))
            elif wanted == {"closed"}:
                query = query.where(Case.status.in_(closed))
    rows = session.scalars(
        query.order_by(Case.created_at.desc(), Case.id.desc()).limit(MAX_REQUESTS)
    ).all()
    return [_request_public(c, config) for c in rows]


@router.get("/requests/{service_request_id}.json", summary="Open311: one service request")
def get_request(
    service_request_id: str, session: SessionDep, config: CasesConfigDep
) -> list[ServiceRequest]:
    try:
        case = services.get_case_by_reference(session, service_request_id)
    except InvalidReferenceError as exc:
        raise BadRequestError(str(exc)) from None
    return [_request_public(case, config)]
