"""Recordings of a call or a case: supervisors only, and every download is audited (who,
when, which recording) before a byte is sent."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import FileResponse

from api.deps import ClockDep, SessionDep, SettingsDep, SupervisorUser, begin_write
from api.errors import NotFoundError
from api.recordings import recording_file
from api.schemas.common import ERROR_RESPONSES, Problem
from api.views import recording_names
from cases import audit, services
from cases.calls import find_call
from hotline.settings import Settings

router = APIRouter(tags=["recordings"], responses=ERROR_RESPONSES)

WAV_RESPONSES: dict[int | str, dict[str, object]] = {
    200: {"content": {"audio/wav": {}}, "description": "the recording (WAV)"},
    404: {"model": Problem, "description": "no such call/case, or it has no recording"},
}


def _send(
    session: SessionDep,
    settings: Settings,
    actor: str,
    name: str,
    target_type: str,
    target_id: str,
    clock: ClockDep,
) -> FileResponse:
    root = settings.recordings_dir or settings.state_dir / "recordings"
    path = recording_file(root, name)
    begin_write(session)
    audit.record(
        session,
        actor=actor,
        action=audit.READ_RECORDING,
        target_type=target_type,
        target_id=target_id,
        now=clock(),
        detail={"recording": path.stem},
    )
    session.commit()
    return FileResponse(path, media_type="audio/wav", filename=path.name)


@router.get(
    "/calls/{uniqueid}/recording",
    summary="Download a call's recording (supervisors; audited)",
    response_class=FileResponse,
    responses=WAV_RESPONSES,
)
def call_recording(
    uniqueid: str,
    session: SessionDep,
    settings: SettingsDep,
    user: SupervisorUser,
    clock: ClockDep,
    n: Annotated[int, Query(ge=1, le=100, description="which recording (1 = first)")] = 1,
) -> FileResponse:
    record = find_call(session, uniqueid)
    if record is None:
        raise NotFoundError(f"call {uniqueid} does not exist")
    names = recording_names(record)
    if len(names) < n:
        raise NotFoundError(f"call {uniqueid} has {len(names)} recording(s), not {n}")
    return _send(session, settings, user.username, names[n - 1], "call", uniqueid, clock)


@router.get(
    "/cases/{reference}/recording",
    summary="Download a case's recording (supervisors; audited)",
    response_class=FileResponse,
    responses=WAV_RESPONSES,
)
def case_recording(
    reference: str,
    session: SessionDep,
    settings: SettingsDep,
    user: SupervisorUser,
    clock: ClockDep,
) -> FileResponse:
    case = services.get_case_by_reference(session, reference)
    if not case.audio_ref:
        raise NotFoundError(f"case {case.reference} has no recording")
    return _send(session, settings, user.username, case.audio_ref, "case", case.reference, clock)
