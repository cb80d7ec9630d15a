"""Schemas of e-service dossiers (hồ sơ dịch vụ công)."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel

from cases.models import DossierStatus


class DossierPublic(BaseModel):
    code: str  # canonical printed form
    procedure: str
    agency: str
    applicant: str  # minimised at import: family name + initials
    received_on: date
    due_on: date  # ngày hẹn trả
    finished_on: date | None
    status: DossierStatus
    current_step: str
    overdue: bool  # derived from due_on and today (Vietnam time), never stored
    days_overdue: int
