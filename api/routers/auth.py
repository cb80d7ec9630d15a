"""Authentication: username + password -> a signed bearer token (HMAC-SHA256 with
``settings.api_secret``, valid ``settings.token_ttl_s`` seconds); who am I; user management
(admins only)."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, status

from api import tokens
from api.deps import AdminUser, ClockDep, CurrentUser, SessionDep, SettingsDep, begin_write
from api.errors import AuthError, NotFoundError
from api.schemas.auth import TokenPublic, TokenRequest, UserCreate, UserPublic
from api.schemas.common import ERROR_RESPONSES
from cases import audit, users
from cases.models import User

router = APIRouter(tags=["auth"], responses=ERROR_RESPONSES)


def _public(user: User) -> UserPublic:
    return UserPublic(
        id=user.id,
        username=user.username,
        display_name=user.display_name,
        role=user.role,
        unit=user.unit,
        active=user.active,
    )


@router.post("/auth/token", summary="Log in: get a bearer token")
def issue_token(
    body: TokenRequest, session: SessionDep, settings: SettingsDep, clock: ClockDep
) -> TokenPublic:
    user = users.authenticate(session, body.username, body.password)
    if user is None:
        raise AuthError("wrong username or password, or the user is deactivated")
    now = clock()
    issued = int(now.timestamp())
    claims = tokens.Claims(
        user_id=user.id,
        username=user.username,
        role=str(user.role),
        issued_at=issued,
        expires_at=issued + settings.token_ttl_s,
    )
    begin_write(session)
    audit.record(
        session,
        actor=user.username,
        action=audit.LOGIN,
        target_type="user",
        target_id=user.username,
        now=now,
    )
    session.commit()
    return TokenPublic(
        access_token=tokens.issue(settings.api_secret, claims),
        expires_at=datetime.fromtimestamp(claims.expires_at, UTC),
        role=user.role,
    )


@router.get("/users/me", summary="Who am I")
def me(session: SessionDep, user: CurrentUser) -> UserPublic:
    row = session.get(User, user.user_id)
    if row is None:  # pragma: no cover - CurrentUser just loaded it
        raise NotFoundError(f"user {user.username} does not exist")
    return _public(row)


@router.post("/users", status_code=status.HTTP_201_CREATED, summary="Create a user (admins)")
def create_user(
    body: UserCreate, session: SessionDep, admin: AdminUser, clock: ClockDep
) -> UserPublic:
    begin_write(session)
    now = clock()
    user = users.create_user(
        session,
        body.username,
        body.password,
        body.role,
        now=now,
        display_name=body.display_name,
        unit=body.unit,
    )
    session.flush()
    audit.record(
        session,
        actor=admin.username,
        action="create_user",
        target_type="user",
        target_id=user.username,
        now=now,
        detail={"role": str(body.role)},
    )
    session.commit()
    return _public(user)
