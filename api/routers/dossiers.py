"""Dossier lookup by code: what a caller or agent gives is normalised first, so an invalid
code is a 422 that says why, and only a well-formed unknown code is a 404."""

from __future__ import annotations

from datetime import timedelta, timezone
from typing import Annotated

from fastapi import APIRouter, Path, Request

from api.deps import ClockDep, CurrentUser
from api.schemas.common import ERROR_RESPONSES, Problem
from api.schemas.dossiers import DossierPublic
from cases.dossiers import DossierCodeFormat, DossierDirectory, lookup_dossier

router = APIRouter(prefix="/dossiers", tags=["dossiers"], responses=ERROR_RESPONSES)

VIETNAM = timezone(timedelta(hours=7), "ICT")  # no daylight saving time


@router.get(
    "/{code}",
    summary="Look a dossier up by code (printed form, or digits only)",
    responses={
        404: {"model": Problem, "description": "a well-formed code the directory does not know"},
        503: {"model": Problem, "description": "the dossier directory did not answer"},
    },
)
def get_dossier(
    code: Annotated[str, Path(max_length=80, examples=["000.00.12.H12-240915-0001"])],
    request: Request,
    user: CurrentUser,
    clock: ClockDep,
) -> DossierPublic:
    directory: DossierDirectory = request.app.state.dossiers
    fmt: DossierCodeFormat = request.app.state.dossier_format
    info = lookup_dossier(directory, fmt, code)
    today = clock().astimezone(VIETNAM).date()
    return DossierPublic(
        code=info.code,
        procedure=info.procedure,
        agency=info.agency,
        applicant=info.applicant,
        received_on=info.received_on,
        due_on=info.due_on,
        finished_on=info.finished_on,
        status=info.status,
        current_step=info.current_step,
        overdue=info.is_overdue(today),
        days_overdue=info.days_overdue(today),
    )
