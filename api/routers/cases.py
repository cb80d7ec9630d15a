"""Cases: create, list with filters and paging, get, change status (workflow enforced: 409
naming the states), assign, add notes. Agents see and edit only the cases they handle;
supervisors everything; admins read everything and change nothing."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, status
from pydantic import AwareDatetime

from api import edits
from api.deps import (
    CasesConfigDep,
    ClockDep,
    CurrentUser,
    PlacesDep,
    Principal,
    SessionDep,
    begin_write,
)
from api.errors import BadRequestError, ForbiddenError, NotFoundError
from api.schemas.cases import (
    CaseAssign,
    CaseCreate,
    CaseDetail,
    CasesPublic,
    CaseStatusChange,
    CaseUpdate,
    NoteCreate,
    NotePublic,
)
from api.schemas.common import ERROR_RESPONSES, Limit, Offset, Problem, RevealCaller
from api.views import case_detail, case_public, check_reveal
from cases import services
from cases.domain import CaseStatus, Category, Role
from cases.errors import CaseNotFoundError
from cases.models import Case

router = APIRouter(prefix="/cases", tags=["cases"], responses=ERROR_RESPONSES)

Reference = Annotated[
    str,
    Path(
        max_length=32,
        description="the case's reference number (8 digits with a check digit; spaces, "
        "dots and dashes are ignored)",
    ),
]
COUNT_LIMIT = 10_000
"""A list's `count` stops at COUNT_LIMIT + 1 ("more than 10,000"), as a paged list shows it:
an exact count of a broad filter (overdue: half the table) costs more than the page itself."""
WRITE_RESPONSES: dict[int | str, dict[str, object]] = {
    404: {"model": Problem, "description": "no such case (or not one of yours)"},
    409: {"model": Problem, "description": "the workflow does not allow this change"},
}


def _visible(session: SessionDep, user: Principal, reference: str) -> Case:
    try:
        case = services.get_case_by_reference(session, reference)
    except CaseNotFoundError:
        case = None
    if case is None or not (user.sees_all or case.handled_by == user.username):
        raise NotFoundError(f"case {reference} does not exist or is not one of yours")
    return case


def _editable(session: SessionDep, user: Principal, reference: str) -> Case:
    if user.role is Role.ADMIN:
        raise ForbiddenError(f"user {user.username} is admin: admins do not edit cases")
    return _visible(session, user, reference)


def _duplicate_ref(session: SessionDep, case: Case) -> str | None:
    if case.duplicate_of is None:
        return None
    original = session.get(Case, case.duplicate_of)
    return original.reference if original else None


def _detail(
    session: SessionDep, user: Principal, case: Case, clock: ClockDep, reveal: bool = False
) -> CaseDetail:
    full = services.case_with_history(session, case.id)
    return case_detail(
        session, user, full, reveal=reveal, now=clock(), duplicate_of=_duplicate_ref(session, full)
    )


@router.post("", status_code=status.HTTP_201_CREATED, summary="Open a case")
def create_case(
    body: CaseCreate,
    session: SessionDep,
    user: CurrentUser,
    clock: ClockDep,
    config: CasesConfigDep,
    places: PlacesDep,
) -> CaseDetail:
    if user.role is Role.ADMIN:
        raise ForbiddenError(f"user {user.username} is admin: admins do not open cases")
    if body.handled_by not in (None, user.username) and not user.is_supervisor:
        raise ForbiddenError(
            f"user {user.username} is {user.role}: only supervisors open cases for others"
        )
    begin_write(session)
    case = services.create_case(
        session,
        services.NewCase(
            category=body.category,
            description=body.description,
            channel=body.channel,
            caller=body.caller,
            ward_code=body.ward_code,
            place_text=body.place_text,
            address=body.address,
            latitude=body.latitude,
            longitude=body.longitude,
            transcript=body.transcript,
            call_uniqueid=body.call_uniqueid,
            handled_by=body.handled_by or user.username,
        ),
        actor=user.username,
        config=config,
        now=clock(),
        places=places,
    )
    session.commit()
    return _detail(session, user, case, clock)


@router.get(
    "",
    summary="List cases (filters, paging; newest first)",
    description=f"`count` is exact up to {COUNT_LIMIT:,}; beyond that it is {COUNT_LIMIT + 1:,} "
    f"(more than {COUNT_LIMIT:,} match).",
)
def list_cases(
    session: SessionDep,
    user: CurrentUser,
    clock: ClockDep,
    status_: Annotated[CaseStatus | None, Query(alias="status")] = None,
    category: Category | None = None,
    assigned_unit: Annotated[str | None, Query(min_length=1, max_length=120)] = None,
    handled_by: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
    created_from: AwareDatetime | None = None,
    created_to: AwareDatetime | None = None,
    overdue: Annotated[bool, Query(description="only open cases past their due time")] = False,
    limit: Limit = 50,
    offset: Offset = 0,
    reveal_caller: RevealCaller = False,
) -> CasesPublic:
    reveal = check_reveal(user, reveal_caller)
    if created_from and created_to and created_from >= created_to:
        raise BadRequestError(
            f"created_from {created_from.isoformat()} is not before "
            f"created_to {created_to.isoformat()}"
        )
    if not user.sees_all:
        if handled_by not in (None, user.username):
            raise ForbiddenError(
                f"user {user.username} is agent: cannot list cases handled by {handled_by}"
            )
        handled_by = user.username
    now = clock()
    rows, total = services.list_cases(
        session,
        services.CaseFilter(
            status=status_,
            category=category,
            assigned_unit=assigned_unit,
            handled_by=handled_by,
            created_from=created_from,
            created_to=created_to,
            overdue_at=now if overdue else None,
        ),
        offset=offset,
        limit=limit,
        count_limit=COUNT_LIMIT,
    )
    data = [case_public(session, user, c, reveal=reveal, now=now) for c in rows]
    if reveal:
        session.commit()
    return CasesPublic(data=data, count=total)


@router.get(
    "/{reference}", summary="One case with its history and notes", responses=WRITE_RESPONSES
)
def get_case(
    reference: Reference,
    session: SessionDep,
    user: CurrentUser,
    clock: ClockDep,
    reveal_caller: RevealCaller = False,
) -> CaseDetail:
    reveal = check_reveal(user, reveal_caller)
    detail = _detail(session, user, _visible(session, user, reference), clock, reveal)
    if reveal:
        session.commit()
    return detail


@router.patch(
    "/{reference}", summary="Edit a case's details (description, place)", responses=WRITE_RESPONSES
)
def update_case(
    reference: Reference,
    body: CaseUpdate,
    session: SessionDep,
    user: CurrentUser,
    clock: ClockDep,
    places: PlacesDep,
) -> CaseDetail:
    begin_write(session)
    case = _editable(session, user, reference)
    edits.update_case(
        session,
        case,
        edits.CaseChanges(**body.model_dump(exclude_unset=True)),
        actor=user.username,
        now=clock(),
        places=places,
    )
    session.commit()
    return _detail(session, user, case, clock)


@router.post("/{reference}/status", summary="Change a case's status", responses=WRITE_RESPONSES)
def change_status(
    reference: Reference,
    body: CaseStatusChange,
    session: SessionDep,
    user: CurrentUser,
    clock: ClockDep,
    config: CasesConfigDep,
) -> CaseDetail:
    begin_write(session)
    case = _editable(session, user, reference)
    if body.status is CaseStatus.CLASSIFIED:
        services.classify(
            session,
            case,
            body.category or case.category,
            actor=user.username,
            config=config,
            now=clock(),
            reason=body.reason,
        )
    else:
        services.change_status(
            session,
            case,
            body.status,
            actor=user.username,
            reason=body.reason,
            now=clock(),
            duplicate_of=body.duplicate_of,
        )
    session.commit()
    return _detail(session, user, case, clock)


@router.post(
    "/{reference}/assign",
    summary="Assign (or reassign) a case to a unit",
    responses=WRITE_RESPONSES,
)
def assign_case(
    reference: Reference,
    body: CaseAssign,
    session: SessionDep,
    user: CurrentUser,
    clock: ClockDep,
) -> CaseDetail:
    if body.handled_by is not None and not user.is_supervisor:
        raise ForbiddenError(
            f"user {user.username} is {user.role}: only supervisors choose who handles a case"
        )
    begin_write(session)
    case = _editable(session, user, reference)
    services.assign(
        session,
        case,
        body.unit,
        actor=user.username,
        now=clock(),
        reason=body.reason,
        handled_by=body.handled_by,
    )
    session.commit()
    return _detail(session, user, case, clock)


@router.post(
    "/{reference}/notes",
    status_code=status.HTTP_201_CREATED,
    summary="Add a note to a case",
    responses=WRITE_RESPONSES,
)
def add_note(
    reference: Reference,
    body: NoteCreate,
    session: SessionDep,
    user: CurrentUser,
    clock: ClockDep,
) -> NotePublic:
    begin_write(session)
    case = _editable(session, user, reference)
    note = services.add_note(session, case, body.text, author=user.username, now=clock())
    session.commit()
    return NotePublic(id=note.id, at=note.at, author=note.author, text=note.text)
