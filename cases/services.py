"""Case services: the business rules the API, the controller and the CLI share.

Every function takes an open `Session` (the caller owns the transaction: use
`cases.db.unit_of_work`), the acting user's name and the time, and raises domain errors from
`cases.errors`. Every change of a case bumps its `version`, appends to its history (who, when,
why) and queues a snapshot in the outbox in the same transaction, keyed by the case's
reference number, so the IOC database receives it exactly once in effect.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from cases.config import CasesConfig
from cases.domain import (
    CASE_STATUS_LABELS_VI,
    CATEGORY_LABELS_VI,
    CaseStatus,
    Category,
    Channel,
    check_transition,
    new_reference,
    parse_reference,
)
from cases.errors import CaseNotFoundError, ValidationError, WorkflowError
from cases.models import Case, CaseEvent, CaseNote
from cases.outbox import TOPIC_CASE, emit, iso
from cases.places import Place, PlaceDirectory

MAX_TEXT = 20_000
REFERENCE_ATTEMPTS = 8


@dataclass(frozen=True, slots=True)
class NewCase:
    """What is needed to open a case. Give the place as `ward_code` or as free text
    (`place_text`, matched against the served wards)."""

    category: Category
    description: str
    channel: Channel = Channel.PHONE
    caller: str = ""
    ward_code: int | None = None
    place_text: str = ""
    address: str = ""
    latitude: float | None = None
    longitude: float | None = None
    transcript: str = ""
    audio_ref: str = ""
    call_uniqueid: str | None = None
    handled_by: str | None = None


@dataclass(frozen=True, slots=True)
class CaseFilter:
    status: CaseStatus | None = None
    category: Category | None = None
    assigned_unit: str | None = None
    handled_by: str | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None
    caller: str | None = None
    overdue_at: datetime | None = None  # only cases open past their due time at this instant


@dataclass(frozen=True, slots=True)
class ComplaintStatus:
    """What a caller hears when asking about their complaint (tra cứu kết quả phản ánh)."""

    reference: str
    status: CaseStatus
    status_vi: str
    category_vi: str
    created_at: datetime
    due_at: datetime
    overdue: bool
    assigned_unit: str | None


def _clean(text: str, name: str, limit: int = MAX_TEXT) -> str:
    text = unicodedata.normalize("NFC", text).strip()
    if len(text) > limit:
        raise ValidationError(f"{name} is {len(text)} characters long (at most {limit})")
    if "\x00" in text:
        raise ValidationError(f"{name} contains a NUL character")
    return text


def case_snapshot(case: Case) -> dict[str, Any]:
    """The JSON a case is sent to the IOC as."""
    return {
        "reference": case.reference,
        "category": case.category.value,
        "status": case.status.value,
        "channel": case.channel.value,
        "province_code": case.province_code,
        "ward_code": case.ward_code,
        "place": case.place,
        "address": case.address,
        "latitude": case.latitude,
        "longitude": case.longitude,
        "description": case.description,
        "transcript": case.transcript,
        "audio_ref": case.audio_ref,
        "caller": case.caller,
        "call_uniqueid": case.call_uniqueid,
        "created_at": iso(case.created_at),
        "updated_at": iso(case.updated_at),
        "due_at": iso(case.due_at),
        "assigned_unit": case.assigned_unit,
        "handled_by": case.handled_by,
        "version": case.version,
    }


def _changed(session: Session, case: Case, now: datetime) -> None:
    case.version += 1
    case.updated_at = now
    session.flush()
    emit(session, TOPIC_CASE, case.reference, case.version, case_snapshot(case), now)


def create_case(
    session: Session,
    new: NewCase,
    *,
    actor: str,
    config: CasesConfig,
    now: datetime,
    places: PlaceDirectory | None = None,
) -> Case:
    """Open a case (status received), due after the category's SLA."""
    places = places or PlaceDirectory(config)
    category = Category(new.category)
    channel = Channel(new.channel)
    description = _clean(new.description, "Description")
    if not description and not new.transcript and not new.audio_ref:
        raise ValidationError("A case needs a description, a transcript or a recording")
    place: Place | None = None
    if new.ward_code is not None:
        place = places.by_code(new.ward_code)
    elif new.place_text.strip():
        place = places.resolve(new.place_text)
    for name, value in (("latitude", new.latitude), ("longitude", new.longitude)):
        limit = 90 if name == "latitude" else 180
        if value is not None and not -limit <= value <= limit:
            raise ValidationError(f"{name} {value} is outside -{limit}..{limit}")

    case = Case(
        category=category,
        status=CaseStatus.RECEIVED,
        channel=channel,
        province_code=config.province_code,
        ward_code=place.ward_code if place else None,
        place=place.label if place else "",
        address=_clean(new.address, "Address", 300),
        latitude=new.latitude,
        longitude=new.longitude,
        description=description,
        transcript=_clean(new.transcript, "Transcript"),
        audio_ref=_clean(new.audio_ref, "Audio reference", 300),
        caller=_clean(new.caller, "Caller", 32),
        call_uniqueid=new.call_uniqueid,
        created_at=now,
        updated_at=now,
        due_at=now + config.sla_for(category),
        created_by=actor,
        handled_by=new.handled_by,
        assigned_unit=None,
        duplicate_of=None,
        version=0,
    )
    for attempt in range(REFERENCE_ATTEMPTS):
        case.reference = new_reference()
        try:
            with session.begin_nested():
                session.add(case)
            break
        except IntegrityError:
            if attempt == REFERENCE_ATTEMPTS - 1:
                raise
            # the savepoint rollback expunged the pending case: try another random number
    case.history.append(
        CaseEvent(
            at=now,
            actor=actor,
            from_status=None,
            to_status=CaseStatus.RECEIVED,
            reason=f"received via {channel.value}",
        )
    )
    _changed(session, case, now)
    return case


def get_case(session: Session, case_id: int) -> Case:
    case = session.get(Case, case_id)
    if case is None:
        raise CaseNotFoundError(f"Case {case_id} does not exist")
    return case


def get_case_by_reference(session: Session, reference: str) -> Case:
    """Case by reference number; InvalidReferenceError if the number itself is malformed."""
    ref = parse_reference(reference)
    case = session.scalars(select(Case).where(Case.reference == ref)).one_or_none()
    if case is None:
        raise CaseNotFoundError(f"Case {ref} does not exist")
    return case


def _record(
    case: Case,
    *,
    actor: str,
    now: datetime,
    from_status: CaseStatus,
    reason: str,
    unit: str | None = None,
) -> None:
    case.history.append(
        CaseEvent(
            at=now,
            actor=actor,
            from_status=from_status,
            to_status=case.status,
            reason=reason,
            assigned_unit=unit,
        )
    )


def change_status(
    session: Session,
    case: Case,
    target: CaseStatus,
    *,
    actor: str,
    reason: str,
    now: datetime,
    duplicate_of: str | None = None,
) -> Case:
    """Move `case` to `target` if the workflow allows it.

    Rejecting or closing as duplicate needs a reason; duplicate needs the original's reference.
    Assignment goes through `assign` (it needs a unit).
    """
    target = CaseStatus(target)
    reason = _clean(reason, "Reason", 2000)
    check_transition(case.reference, case.status, target)
    if target is CaseStatus.ASSIGNED:
        raise WorkflowError(f"Case {case.reference}: use assign to move to assigned (needs a unit)")
    if target in (CaseStatus.REJECTED, CaseStatus.DUPLICATE) and not reason:
        raise ValidationError(f"Case {case.reference}: moving to {target} needs a reason")
    if target is CaseStatus.DUPLICATE:
        if not duplicate_of:
            raise ValidationError(f"Case {case.reference}: duplicate needs the original's number")
        original = get_case_by_reference(session, duplicate_of)
        if original.id == case.id:
            raise ValidationError(f"Case {case.reference} cannot duplicate itself")
        case.duplicate_of = original.id
    previous = case.status
    case.status = target
    _record(case, actor=actor, now=now, from_status=previous, reason=reason)
    _changed(session, case, now)
    return case


def classify(
    session: Session,
    case: Case,
    category: Category,
    *,
    actor: str,
    config: CasesConfig,
    now: datetime,
    reason: str = "",
) -> Case:
    """Set the category (the SLA follows it, from the time received) and move to classified."""
    category = Category(category)
    check_transition(case.reference, case.status, CaseStatus.CLASSIFIED)
    previous = case.status
    case.category = category
    case.due_at = case.created_at + config.sla_for(category)
    case.status = CaseStatus.CLASSIFIED
    _record(
        case,
        actor=actor,
        now=now,
        from_status=previous,
        reason=_clean(reason, "Reason", 2000) or f"category {category.value}",
    )
    _changed(session, case, now)
    return case


def assign(
    session: Session,
    case: Case,
    unit: str,
    *,
    actor: str,
    now: datetime,
    reason: str = "",
    handled_by: str | None = None,
) -> Case:
    """Assign (or reassign) the case to a unit; allowed from classified, assigned, in_progress."""
    unit = _clean(unit, "Unit", 120)
    if not unit:
        raise ValidationError(f"Case {case.reference}: assigning needs a unit")
    check_transition(case.reference, case.status, CaseStatus.ASSIGNED)
    previous = case.status
    case.status = CaseStatus.ASSIGNED
    case.assigned_unit = unit
    if handled_by is not None:
        case.handled_by = handled_by
    _record(
        case,
        actor=actor,
        now=now,
        from_status=previous,
        reason=_clean(reason, "Reason", 2000),
        unit=unit,
    )
    _changed(session, case, now)
    return case


def add_note(session: Session, case: Case, text: str, *, author: str, now: datetime) -> CaseNote:
    text = _clean(text, "Note")
    if not text:
        raise ValidationError(f"Case {case.reference}: a note cannot be empty")
    note = CaseNote(at=now, author=author, text=text)
    case.notes.append(note)
    _changed(session, case, now)
    return note


def _filtered(query: Select[Any], f: CaseFilter) -> Select[Any]:
    if f.status is not None:
        query = query.where(Case.status == f.status)
    if f.category is not None:
        query = query.where(Case.category == f.category)
    if f.assigned_unit is not None:
        query = query.where(Case.assigned_unit == f.assigned_unit)
    if f.handled_by is not None:
        query = query.where(Case.handled_by == f.handled_by)
    if f.created_from is not None:
        query = query.where(Case.created_at >= f.created_from)
    if f.created_to is not None:
        query = query.where(Case.created_at < f.created_to)
    if f.caller is not None:
        query = query.where(Case.caller == f.caller)
    if f.overdue_at is not None:
        # One range of ix_cases_status_due_created per open status (migration 0002): the
        # count reads the index only. Same rule as `Case.is_overdue` (past due, not done).
        open_statuses = [s for s in CaseStatus if s not in _DONE]
        query = query.where(Case.status.in_(open_statuses), Case.due_at < f.overdue_at)
    return query


_DONE = frozenset(
    {CaseStatus.RESOLVED, CaseStatus.CLOSED, CaseStatus.REJECTED, CaseStatus.DUPLICATE}
)
MATCH_FIRST_MAX = 10_000
"""An overdue list with at most this many matches is paged match-first (see `list_cases`)."""


def _match_first_page(f: CaseFilter, offset: int, limit: int) -> Select[Any]:
    """The page read from the matches, not from the newest case backwards: the matching
    (id, created_at) come from ix_cases_status_due_created alone (a materialised CTE, so
    the planner cannot fold it back into a backward walk of ``created_at``), are sorted and
    cut to the page, and only then are the page's rows read."""
    matches = _filtered(select(Case.id), f).add_columns(Case.created_at).cte("matches")
    matches = matches.prefix_with("MATERIALIZED")  # SQLite >= 3.35, PostgreSQL >= 12
    page = (
        select(matches.c.id)
        .order_by(matches.c.created_at.desc(), matches.c.id.desc())
        .offset(offset)
        .limit(limit)
    )
    return (
        select(Case)
        .where(Case.id.in_(page.scalar_subquery()))
        .order_by(Case.created_at.desc(), Case.id.desc())
    )


def list_cases(
    session: Session,
    f: CaseFilter,
    *,
    offset: int = 0,
    limit: int = 50,
    count_limit: int | None = None,
) -> tuple[Sequence[Case], int]:
    """A page of cases, newest first, and how many match in all (with `count_limit` = N the
    count stops at N + 1, as in `cases.calls.search_calls`).

    Strategy: a page is read by walking ``created_at`` backwards and keeping the rows that
    match, which is quick when matches are dense among recent cases, and every filter but
    one has an index ending in ``created_at`` that makes it so. Overdue cases are the
    exception: in a hotline that keeps up they are few and old, and that walk reads the whole
    table to fill a page (100k cases: ~250 ms on SQLite, ~110 ms on PostgreSQL), yet both
    planners choose it. So when the count says at most MATCH_FIRST_MAX cases are overdue,
    the page is built from the matches instead (`_match_first_page`: ~1.5 ms for 1,500)."""
    if limit < 1 or limit > 500 or offset < 0:
        raise ValidationError(f"Paging offset={offset} limit={limit}: limit 1..500, offset >= 0")
    if count_limit is None:
        total = session.scalar(_filtered(select(func.count(Case.id)), f)) or 0
    else:
        capped = _filtered(select(Case.id), f).limit(count_limit + 1).subquery()
        total = session.scalar(select(func.count()).select_from(capped)) or 0
    if f.overdue_at is not None and total <= MATCH_FIRST_MAX:
        page = _match_first_page(f, offset, limit)
    else:
        page = (
            _filtered(select(Case), f)
            .order_by(Case.created_at.desc(), Case.id.desc())
            .offset(offset)
            .limit(limit)
        )
    rows = session.scalars(page).all()
    return rows, total


def case_with_history(session: Session, case_id: int) -> Case:
    case = session.scalars(
        select(Case)
        .where(Case.id == case_id)
        .options(selectinload(Case.history), selectinload(Case.notes))
    ).one_or_none()
    if case is None:
        raise CaseNotFoundError(f"Case {case_id} does not exist")
    return case


def complaint_status(session: Session, reference: str, *, now: datetime) -> ComplaintStatus:
    """For the phone menu: InvalidReferenceError (bad number) or CaseNotFoundError."""
    case = get_case_by_reference(session, reference)
    return ComplaintStatus(
        reference=case.reference,
        status=case.status,
        status_vi=CASE_STATUS_LABELS_VI[case.status],
        category_vi=CATEGORY_LABELS_VI[case.category],
        created_at=case.created_at,
        due_at=case.due_at,
        overdue=case.is_overdue(now),
        assigned_unit=case.assigned_unit,
    )
