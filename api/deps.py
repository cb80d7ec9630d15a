"""Request dependencies, as ``Annotated`` aliases: `SessionDep`, `SettingsDep`, `ClockDep`,
`CurrentUser`, and role gates (`SupervisorUser`, `AdminUser`).

Everything comes from ``request.app.state`` (set by `api.app.create_app`): no module globals.
`CurrentUser` verifies the bearer token *and* re-reads the user, so a deactivated user or a
changed role takes effect at once, not when the token expires.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session, sessionmaker

from api import tokens
from api.errors import AuthError, ForbiddenError
from cases.config import CasesConfig
from cases.db import IMMEDIATE_OPTION
from cases.domain import Role
from cases.models import User
from cases.places import PlaceDirectory
from hotline.settings import Settings


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is asking: the authenticated user, as the routers and queries see them."""

    user_id: int
    username: str
    role: Role
    unit: str | None

    @property
    def is_supervisor(self) -> bool:
        """Supervisors see everything, including full caller numbers and recordings."""
        return self.role is Role.SUPERVISOR

    @property
    def sees_all(self) -> bool:
        """Supervisors and admins see every case and call; agents only their own."""
        return self.role in (Role.SUPERVISOR, Role.ADMIN)


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_session(request: Request) -> Iterator[Session]:
    with request.app.state.sessions() as session:
        yield session


def get_session_factory(request: Request) -> sessionmaker[Session]:
    factory: sessionmaker[Session] = request.app.state.sessions
    return factory


def get_clock(request: Request) -> Callable[[], datetime]:
    clock: Callable[[], datetime] = request.app.state.clock
    return clock


def get_cases_config(request: Request) -> CasesConfig:
    config: CasesConfig = request.app.state.cases_config
    return config


def get_places(request: Request) -> PlaceDirectory:
    places: PlaceDirectory = request.app.state.places
    return places


def begin_write(session: Session) -> Session:
    """End the read transaction (authentication) and start a write one. On SQLite this takes
    the write lock up front (``BEGIN IMMEDIATE``, see `cases.db`), so a read-then-write request
    waits for the controller's writer instead of failing with SQLITE_BUSY."""
    if session.in_transaction():
        session.commit()
    session.connection(execution_options={IMMEDIATE_OPTION: True})
    return session


SettingsDep = Annotated[Settings, Depends(get_settings)]
CasesConfigDep = Annotated[CasesConfig, Depends(get_cases_config)]
PlacesDep = Annotated[PlaceDirectory, Depends(get_places)]
SessionDep = Annotated[Session, Depends(get_session)]
SessionFactoryDep = Annotated[sessionmaker[Session], Depends(get_session_factory)]
ClockDep = Annotated[Callable[[], datetime], Depends(get_clock)]

bearer = HTTPBearer(
    auto_error=False,
    description="A token from POST /api/v1/auth/token, sent as `Authorization: Bearer <token>`.",
)


def principal_from_token(
    session: Session, settings: Settings, token: str, now: datetime
) -> Principal:
    """Verify `token` and load its (still active) user; AuthError otherwise."""
    claims = tokens.verify(settings.api_secret, token, int(now.timestamp()))
    user = session.get(User, claims.user_id)
    if user is None or not user.active or user.username != claims.username:
        raise AuthError(f"user {claims.username!r} of this token is unknown or deactivated")
    return Principal(user_id=user.id, username=user.username, role=user.role, unit=user.unit)


def get_current_user(
    session: SessionDep,
    settings: SettingsDep,
    clock: ClockDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Principal:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise AuthError("missing bearer token: send `Authorization: Bearer <token>`")
    return principal_from_token(session, settings, credentials.credentials, clock())


CurrentUser = Annotated[Principal, Depends(get_current_user)]


def require_role(*roles: Role) -> Callable[[Principal], Principal]:
    """A dependency that lets only `roles` through (403 naming the role otherwise)."""
    allowed = ", ".join(sorted(roles))

    def gate(user: CurrentUser) -> Principal:
        if user.role not in roles:
            raise ForbiddenError(f"user {user.username} is {user.role}: this needs {allowed}")
        return user

    return gate


SupervisorUser = Annotated[Principal, Depends(require_role(Role.SUPERVISOR))]
AdminUser = Annotated[Principal, Depends(require_role(Role.ADMIN))]
