"""Signed bearer tokens: ``base64url(json claims) + "." + base64url(HMAC-SHA256)``.

Strategy: a token carries who (user id, username), what role, and until when (``exp``, Unix
seconds); it is signed with ``settings.api_secret`` and checked with a constant-time compare.
Pure functions: the clock comes in as an argument. No dependency beyond the standard library.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass

from api.errors import AuthError

ROLES = ("agent", "supervisor", "admin")


@dataclass(frozen=True, slots=True)
class Claims:
    user_id: int
    username: str
    role: str
    issued_at: int
    expires_at: int


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    pad = "=" * (-len(text) % 4)
    return base64.urlsafe_b64decode(text + pad)


def _mac(secret: str, body: str) -> str:
    return _b64(hmac.new(secret.encode(), body.encode("ascii"), hashlib.sha256).digest())


def issue(secret: str, claims: Claims) -> str:
    """Sign `claims` with `secret`."""
    payload = {
        "uid": claims.user_id,
        "sub": claims.username,
        "role": claims.role,
        "iat": claims.issued_at,
        "exp": claims.expires_at,
    }
    body = _b64(json.dumps(payload, separators=(",", ":"), sort_keys=True).encode())
    return f"{body}.{_mac(secret, body)}"


def verify(secret: str, token: str, now: int) -> Claims:
    """Check the signature and expiry of `token` at Unix time `now`; AuthError if bad."""
    body, sep, mac = token.partition(".")
    if not sep or not body or not mac:
        raise AuthError("malformed token: expected <claims>.<signature>")
    try:
        body.encode("ascii")
        mac.encode("ascii")
    except UnicodeEncodeError:
        raise AuthError("malformed token: not base64url") from None
    if not hmac.compare_digest(_mac(secret, body), mac):
        raise AuthError("invalid token signature")
    try:
        data = json.loads(_unb64(body))
        claims = Claims(
            user_id=int(data["uid"]),
            username=str(data["sub"]),
            role=str(data["role"]),
            issued_at=int(data["iat"]),
            expires_at=int(data["exp"]),
        )
    except (ValueError, KeyError, TypeError) as exc:
        raise AuthError("malformed token claims") from exc
    if claims.role not in ROLES:
        raise AuthError(f"token role {claims.role!r} is unknown")
    if now >= claims.expires_at:
        raise AuthError(f"token expired at {claims.expires_at} (now {now})")
    return claims
