"""Errors of the REST API layer (authentication, authorisation, bad requests).

Domain errors come from `cases.errors`; both kinds are turned into HTTP responses in one place,
`api.problems`. Messages name the thing and its state.
"""

from __future__ import annotations


class ApiError(Exception):
    """Root of the api package's errors."""


class AuthError(ApiError):
    """The request carries no valid credentials (missing, malformed, forged or expired token)."""


class ForbiddenError(ApiError):
    """The user is authenticated but their role may not do this."""


class NotFoundError(ApiError):
    """The thing asked for does not exist (or is not visible to this user)."""


class BadRequestError(ApiError):
    """The request is well-formed HTTP but its content is invalid."""


class ConflictError(ApiError):
    """The request conflicts with the current state of the resource."""


class UnsafeConfigError(ApiError):
    """The app refuses to start with this configuration (e.g. a default secret in production)."""
