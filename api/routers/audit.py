"""The audit log, read-only, for supervisors and admins: who read which full caller number or
recording, who logged in, who created which user."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import AwareDatetime
from sqlalchemy import func, select

from api.deps import Principal, SessionDep, require_role
from api.schemas.audit import AuditEntriesPublic, AuditEntryPublic
from api.schemas.common import ERROR_RESPONSES, Limit, Offset
from cases.domain import Role
from cases.models import AuditEntry

router = APIRouter(prefix="/audit", tags=["audit"], responses=ERROR_RESPONSES)

AuditReader = Annotated[Principal, Depends(require_role(Role.SUPERVISOR, Role.ADMIN))]
Text = Annotated[str | None, Query(min_length=1, max_length=64)]


@router.get("", summary="Search the audit log (newest first)")
def list_audit(
    session: SessionDep,
    _user: AuditReader,
    actor: Text = None,
    action: Text = None,
    target_type: Text = None,
    target_id: Text = None,
    since: AwareDatetime | None = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> AuditEntriesPublic:
    conditions = [
        column == value
        for column, value in (
            (AuditEntry.actor, actor),
            (AuditEntry.action, action),
            (AuditEntry.target_type, target_type),
            (AuditEntry.target_id, target_id),
        )
        if value is not None
    ]
    if since is not None:
        conditions.append(AuditEntry.at >= since)
    total = session.scalar(select(func.count(AuditEntry.id)).where(*conditions)) or 0
    rows = session.scalars(
        select(AuditEntry)
        .where(*conditions)
        .order_by(AuditEntry.id.desc())
        .offset(offset)
        .limit(limit)
    ).all()
    return AuditEntriesPublic(
        data=[
            AuditEntryPublic(
                id=e.id,
                at=e.at,
                actor=e.actor,
                action=e.action,
                target_type=e.target_type,
                target_id=e.target_id,
                detail=e.detail,
            )
            for e in rows
        ],
        count=total,
    )
