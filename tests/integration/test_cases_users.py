"""Users, passwords and the audit log on a real database (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine

from cases import audit
from cases.db import session_factory, unit_of_work
from cases.domain import Role
from cases.errors import UserNotFoundError, ValidationError
from cases.users import authenticate, create_user, get_user, set_password

T0 = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)


def test_users_authenticate_by_role_and_reads_are_audited(migrated_engine: Engine) -> None:
    sessions = session_factory(migrated_engine)
    with unit_of_work(sessions) as s:
        create_user(s, "lan.agent", "mật-khẩu-đủ-dài", Role.AGENT, now=T0, display_name="Lan")
        create_user(s, "minh.sup", "another-long-one", Role.SUPERVISOR, now=T0, unit="IOC")
        with pytest.raises(ValidationError, match="already exists"):
            create_user(s, "lan.agent", "mật-khẩu-đủ-dài", Role.ADMIN, now=T0)
        with pytest.raises(ValidationError, match="too short"):
            create_user(s, "short", "abc", Role.AGENT, now=T0)
    with unit_of_work(sessions) as s:
        user = authenticate(s, "lan.agent", "mật-khẩu-đủ-dài")
        assert user is not None and user.role is Role.AGENT and user.display_name == "Lan"
        assert authenticate(s, "lan.agent", "wrong password") is None
        assert authenticate(s, "nobody", "mật-khẩu-đủ-dài") is None
        get_user(s, "minh.sup").active = False
    with unit_of_work(sessions) as s:
        assert authenticate(s, "minh.sup", "another-long-one") is None  # deactivated
        set_password(s, "lan.agent", "a-brand-new-secret")
        with pytest.raises(UserNotFoundError, match="User ghost does not exist"):
            get_user(s, "ghost")
        audit.record(
            s,
            actor="minh.sup",
            action=audit.READ_CALLER_NUMBER,
            target_type="call",
            target_id="1732521600.1",
            now=T0,
            detail={"reason": "call back"},
        )
    with sessions() as s:
        assert authenticate(s, "lan.agent", "a-brand-new-secret") is not None
        entries = audit.entries_for(s, "call", "1732521600.1")
        assert [(e.actor, e.action, e.detail, e.at) for e in entries] == [
            ("minh.sup", "read_caller_number", {"reason": "call back"}, T0)
        ]
