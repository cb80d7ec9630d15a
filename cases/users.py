"""Users with roles (agent, supervisor, admin) and their passwords.

Passwords are hashed with the standard library's scrypt (RFC 7914; n=2**14, r=8, p=1, 16-byte
salt), stored as ``scrypt$n$r$p$salt$hash`` (base64) so the cost can be raised later and old
hashes still verify. Verification is constant-time, and costs the same for an unknown user.
Tokens are the API's business (`api`); this module only answers "who is this, and may they".
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from cases.domain import Role
from cases.errors import UserNotFoundError, ValidationError
from cases.models import User

SCRYPT_N = 2**14
SCRYPT_R = 8
SCRYPT_P = 1
MIN_PASSWORD_LENGTH = 10


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def hash_password(password: str, *, n: int = SCRYPT_N) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(
        password.encode("utf-8"), salt=salt, n=n, r=SCRYPT_R, p=SCRYPT_P, dklen=32
    )
    return f"scrypt${n}${SCRYPT_R}${SCRYPT_P}${_b64(salt)}${_b64(digest)}"


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = base64.b64decode(digest)
        got = hashlib.scrypt(
            password.encode("utf-8"),
            salt=base64.b64decode(salt),
            n=int(n),
            r=int(r),
            p=int(p),
            dklen=len(expected),
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, expected)


# Verified against when the user does not exist, so that timing does not reveal usernames.
_DUMMY_HASH = "scrypt$16384$8$1$AAAAAAAAAAAAAAAAAAAAAA==$" + _b64(bytes(32))


def create_user(
    session: Session,
    username: str,
    password: str,
    role: Role,
    *,
    now: datetime,
    display_name: str = "",
    unit: str | None = None,
) -> User:
    username = username.strip()
    if not username or len(username) > 64:
        raise ValidationError("Username must be 1 to 64 characters")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationError(
            f"Password for {username} is too short ({MIN_PASSWORD_LENGTH} characters at least)"
        )
    user = User(
        username=username,
        display_name=display_name,
        role=role,
        password_hash=hash_password(password),
        unit=unit,
        active=True,
        created_at=now,
    )
    try:
        with session.begin_nested():
            session.add(user)
    except IntegrityError as exc:
        raise ValidationError(f"User {username} already exists") from exc
    return user


def find_user(session: Session, username: str) -> User | None:
    return session.scalars(select(User).where(User.username == username)).one_or_none()


def get_user(session: Session, username: str) -> User:
    user = find_user(session, username)
    if user is None:
        raise UserNotFoundError(f"User {username} does not exist")
    return user


def authenticate(session: Session, username: str, password: str) -> User | None:
    """The active user with that name and password, else None (same cost either way)."""
    user = find_user(session, username)
    ok = verify_password(password, user.password_hash if user else _DUMMY_HASH)
    if user is None or not ok or not user.active:
        return None
    return user


def set_password(session: Session, username: str, password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationError(f"Password for {username} is too short")
    get_user(session, username).password_hash = hash_password(password)
