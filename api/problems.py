"""The one place that turns errors into HTTP responses.

Domain errors (`cases.errors`) and API errors (`api.errors`) map to status codes here, and
nowhere else: routers and services only raise. The body is ``{"detail": message, "error":
code}`` (the message names the thing and its state). Under ``/open311`` the body follows
GeoReport v2 instead: ``[{"code": <status>, "description": message}]``.

Request validation errors (bad JSON, unknown fields, bad dates, out-of-range paging) are 422
with one line per problem saying where and what; nothing a client sends may produce a 500.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from api import errors as api_errors
from cases import errors as domain

log = logging.getLogger(__name__)

OPEN311_PREFIX = "/open311"

# Most specific first: the first isinstance match wins.
STATUS_BY_ERROR: tuple[tuple[type[Exception], int, str], ...] = (
    (api_errors.AuthError, 401, "unauthenticated"),
    (api_errors.ForbiddenError, 403, "forbidden"),
    (api_errors.NotFoundError, 404, "not_found"),
    (api_errors.ConflictError, 409, "conflict"),
    (api_errors.BadRequestError, 422, "invalid"),
    (domain.InvalidDossierCodeError, 422, "invalid_dossier_code"),
    (domain.InvalidReferenceError, 422, "invalid_reference"),
    (domain.UnknownPlaceError, 422, "unknown_place"),
    (domain.ValidationError, 422, "invalid"),
    (domain.CaseNotFoundError, 404, "case_not_found"),
    (domain.CallNotFoundError, 404, "call_not_found"),
    (domain.DossierNotFoundError, 404, "dossier_not_found"),
    (domain.UserNotFoundError, 404, "user_not_found"),
    (domain.NotFoundError, 404, "not_found"),
    (domain.WorkflowError, 409, "illegal_transition"),
    (domain.PermissionDeniedError, 403, "forbidden"),
    (domain.DirectoryUnavailableError, 503, "directory_unavailable"),
    (domain.DatabaseError, 503, "database_unavailable"),
    (OperationalError, 503, "database_unavailable"),
    (DataError, 422, "invalid_value"),
)


def status_for(exc: Exception) -> tuple[int, str]:
    """The HTTP status and stable error code for `exc` (500/internal if it is not ours)."""
    for cls, status, code in STATUS_BY_ERROR:
        if isinstance(exc, cls):
            return status, code
    return 500, "internal"


def problem(request: Request, status: int, code: str, message: str) -> JSONResponse:
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    if request.url.path.startswith(OPEN311_PREFIX):
        status = 400 if status == 422 else status  # GeoReport v2 uses 400 for bad input
        return JSONResponse(
            [{"code": status, "description": message}], status_code=status, headers=headers
        )
    return JSONResponse({"detail": message, "error": code}, status_code=status, headers=headers)


def _where(loc: tuple[Any, ...] | list[Any]) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] == "body" and len(parts) > 1:
        parts = parts[1:]
        return "body." + ".".join(parts)
    return ".".join(parts) or "request"


def describe_validation(exc: RequestValidationError) -> str:
    """One readable line per problem: ``query.limit: Input should be less than or equal to 500``."""
    lines = []
    for err in exc.errors():
        kind = err.get("type", "")
        where = _where(err.get("loc", ()))
        msg = str(err.get("msg", "invalid"))
        if kind == "json_invalid":
            ctx = err.get("ctx") or {}
            msg = f"malformed JSON ({ctx.get('error', 'cannot parse')})"
        elif kind == "extra_forbidden":
            msg = "unknown field"
        lines.append(f"{where}: {msg}")
    return "; ".join(lines) or "invalid request"


def install(app: FastAPI) -> None:
    """Register the handlers on `app`."""

    async def on_api_error(request: Request, exc: Exception) -> JSONResponse:
        status, code = status_for(exc)
        if status >= 500:
            log.warning("%s %s: %s", request.method, request.url.path, exc)
        message = str(exc)
        if isinstance(exc, OperationalError):
            message = "database unavailable"
        elif isinstance(exc, DataError):
            # e.g. a NUL character, which PostgreSQL text cannot hold
            message = f"a value was refused by the database: {str(exc.orig).splitlines()[0]}"
        return problem(request, status, code, message)

    async def on_validation(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        return problem(request, 422, "invalid_request", describe_validation(exc))

    async def on_http(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return problem(request, exc.status_code, code, str(exc.detail))

    async def on_unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return problem(request, 500, "internal", "internal error; see the server log")

    app.add_exception_handler(api_errors.ApiError, on_api_error)
    app.add_exception_handler(domain.CasesError, on_api_error)
    app.add_exception_handler(OperationalError, on_api_error)
    app.add_exception_handler(DataError, on_api_error)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(Exception, on_unexpected)
