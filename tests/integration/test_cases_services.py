"""Case services on a real database (SQLite and PostgreSQL): creation, workflow, history,
outbox, complaint status for the phone menu."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from cases import services
from cases.config import CasesConfig, load_config
from cases.db import session_factory, unit_of_work
from cases.domain import CaseStatus, Category, Channel, damm_valid
from cases.errors import (
    CaseNotFoundError,
    InvalidReferenceError,
    UnknownPlaceError,
    ValidationError,
    WorkflowError,
)
from cases.models import OutboxMessage
from cases.services import CaseFilter, NewCase

T0 = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)
CONFIG_FILE = Path(__file__).resolve().parents[2] / "dialplans" / "province.yaml"


@pytest.fixture
def config() -> CasesConfig:
    return load_config(CONFIG_FILE)


def _new(**kw: object) -> NewCase:
    base: dict[str, object] = {
        "category": Category.TRAFFIC,
        "description": "Đèn giao thông ở ngã tư bị hỏng từ sáng",
        "caller": "0912345678",
        "place_text": "phuong bac lieu",
    }
    base.update(kw)
    return NewCase(**base)  # type: ignore[arg-type]


def test_case_lifecycle_is_recorded_with_history_and_outbox(
    migrated_engine: Engine, config: CasesConfig
) -> None:
    sessions = session_factory(migrated_engine)
    with unit_of_work(sessions) as s:
        case = services.create_case(s, _new(), actor="ivr", config=config, now=T0)
        ref, case_id = case.reference, case.id
    assert len(ref) == 8 and damm_valid(ref) and ref[0] != "0"
    assert case.place == "Phường Bạc Liêu, Cà Mau" and case.ward_code == 31825
    assert case.due_at == T0 + timedelta(hours=24)

    steps = [
        ("classify", None),
        ("assign", "Công an phường Bạc Liêu"),
        ("status", CaseStatus.IN_PROGRESS),
        ("status", CaseStatus.RESOLVED),
        ("status", CaseStatus.CLOSED),
    ]
    for n, (what, arg) in enumerate(steps, start=1):
        with unit_of_work(sessions) as s:
            c = services.get_case(s, case_id)
            now = T0 + timedelta(hours=n)
            if what == "classify":
                services.classify(
                    s, c, Category.SECURITY_ORDER, actor="sup", config=config, now=now
                )
            elif what == "assign":
                services.assign(s, c, str(arg), actor="sup", now=now, handled_by="agent1")
            else:
                services.change_status(
                    s, c, CaseStatus(str(arg)), actor="agent1", reason="ok", now=now
                )

    with sessions() as s:
        c = services.case_with_history(s, case_id)
        assert c.status is CaseStatus.CLOSED
        assert c.category is Category.SECURITY_ORDER
        assert c.assigned_unit == "Công an phường Bạc Liêu"
        assert [(e.from_status, e.to_status, e.actor) for e in c.history] == [
            (None, CaseStatus.RECEIVED, "ivr"),
            (CaseStatus.RECEIVED, CaseStatus.CLASSIFIED, "sup"),
            (CaseStatus.CLASSIFIED, CaseStatus.ASSIGNED, "sup"),
            (CaseStatus.ASSIGNED, CaseStatus.IN_PROGRESS, "agent1"),
            (CaseStatus.IN_PROGRESS, CaseStatus.RESOLVED, "agent1"),
            (CaseStatus.RESOLVED, CaseStatus.CLOSED, "agent1"),
        ]
        assert c.history[2].assigned_unit == "Công an phường Bạc Liêu"
        versions = s.scalars(
            select(OutboxMessage.version).where(OutboxMessage.key == ref).order_by(OutboxMessage.id)
        ).all()
        assert versions == [1, 2, 3, 4, 5, 6]
        last = s.scalars(select(OutboxMessage).order_by(OutboxMessage.id.desc())).first()
        assert last is not None and last.payload["status"] == "closed"


def test_workflow_refuses_illegal_moves_and_names_the_state(
    migrated_engine: Engine, config: CasesConfig
) -> None:
    sessions = session_factory(migrated_engine)
    with unit_of_work(sessions) as s:
        case = services.create_case(s, _new(), actor="ivr", config=config, now=T0)
        with pytest.raises(WorkflowError, match=f"Case {case.reference} is received: cannot move"):
            services.change_status(s, case, CaseStatus.RESOLVED, actor="a", reason="", now=T0)
        with pytest.raises(WorkflowError):
            services.assign(s, case, "UBND", actor="a", now=T0)
        with pytest.raises(ValidationError, match="needs a reason"):
            services.change_status(s, case, CaseStatus.REJECTED, actor="a", reason=" ", now=T0)
        services.change_status(s, case, CaseStatus.REJECTED, actor="a", reason="spam", now=T0)
        with pytest.raises(WorkflowError, match="final status"):
            services.change_status(s, case, CaseStatus.CLASSIFIED, actor="a", reason="", now=T0)


def test_duplicate_points_at_the_original(migrated_engine: Engine, config: CasesConfig) -> None:
    sessions = session_factory(migrated_engine)
    with unit_of_work(sessions) as s:
        first = services.create_case(s, _new(), actor="ivr", config=config, now=T0)
        second = services.create_case(s, _new(), actor="ivr", config=config, now=T0)
        with pytest.raises(ValidationError, match="original"):
            services.change_status(s, second, CaseStatus.DUPLICATE, actor="a", reason="x", now=T0)
        services.change_status(
            s,
            second,
            CaseStatus.DUPLICATE,
            actor="a",
            reason="same light",
            now=T0,
            duplicate_of=first.reference,
        )
        assert second.duplicate_of == first.id


def test_places_must_be_served_wards(migrated_engine: Engine, config: CasesConfig) -> None:
    sessions = session_factory(migrated_engine)
    with unit_of_work(sessions) as s:
        with pytest.raises(UnknownPlaceError, match="An Xuyên"):  # Cà Mau, not ex-Bạc Liêu
            services.create_case(s, _new(place_text="An Xuyên"), actor="a", config=config, now=T0)
        with pytest.raises(UnknownPlaceError, match="Ward 1 is not one"):
            services.create_case(s, _new(ward_code=1), actor="a", config=config, now=T0)
        case = services.create_case(
            s, _new(place_text="Xa Ganh Hao", channel=Channel.WEB), actor="a", config=config, now=T0
        )
        assert case.ward_code == 31972


def test_complaint_status_and_listing(migrated_engine: Engine, config: CasesConfig) -> None:
    sessions = session_factory(migrated_engine)
    with unit_of_work(sessions) as s:
        refs = [
            services.create_case(
                s, _new(category=cat), actor="ivr", config=config, now=T0 + timedelta(minutes=i)
            ).reference
            for i, cat in enumerate([Category.TRAFFIC, Category.EDUCATION, Category.TRAFFIC])
        ]
    with sessions() as s:
        status = services.complaint_status(s, refs[0], now=T0 + timedelta(days=2))
        assert status.status_vi == "đã tiếp nhận" and status.category_vi == "Giao thông"
        assert status.overdue  # traffic: 24 h
        spaced = f"{refs[1][:4]} {refs[1][4:]}"
        assert not services.complaint_status(s, spaced, now=T0 + timedelta(days=2)).overdue
        bad = refs[0][:-1] + str((int(refs[0][-1]) + 1) % 10)
        with pytest.raises(InvalidReferenceError, match="check digit"):
            services.complaint_status(s, bad, now=T0)
        with pytest.raises(CaseNotFoundError):
            services.complaint_status(s, "12345671", now=T0)  # well-formed, unknown

        page, total = services.list_cases(s, CaseFilter(category=Category.TRAFFIC), limit=1)
        assert total == 2 and [c.reference for c in page] == [refs[2]]
        assert services.list_cases(s, CaseFilter(), count_limit=1)[1] == 2  # "more than 1"
        overdue, n = services.list_cases(s, CaseFilter(overdue_at=T0 + timedelta(days=2)))
        assert n == 2 and {c.reference for c in overdue} == {refs[0], refs[2]}
        with pytest.raises(ValidationError, match="limit"):
            services.list_cases(s, CaseFilter(), limit=0)
