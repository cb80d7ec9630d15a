"""Serve the REST API, create API users, or print the OpenAPI document.

  hotline api                              serve on HOTLINE_API_HOST:HOTLINE_API_PORT
                                           (127.0.0.1:8080 by default; docs at /docs)
  hotline api --port 9000                  same, another port
  hotline api create-user ana --role supervisor
                                           password from HOTLINE_NEW_USER_PASSWORD, or asked
                                           twice on the terminal (10 characters at least)
  hotline api openapi > openapi.json       the OpenAPI document, without serving

Roles: agent (own cases and their calls, numbers masked), supervisor (everything, full
numbers and recordings on request, audited), admin (users; reads masked, edits no case).
Log in with POST /api/v1/auth/token {"username": ..., "password": ...}.

Needs: a migrated database (`hotline db upgrade`); outside development (HOTLINE_ENV) a
HOTLINE_API_SECRET of 16+ random characters — the development default is refused.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys

from cases.db import make_engine, session_factory, unit_of_work
from cases.domain import Role
from cases.errors import CasesError
from cases.types import utcnow
from cases.users import MIN_PASSWORD_LENGTH, create_user
from hotline.errors import HotlineError
from hotline.settings import Settings

HELP = "serve the REST API (FastAPI), create API users, print the OpenAPI document"
PASSWORD_ENV = "HOTLINE_NEW_USER_PASSWORD"


def register(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", help="bind address (default: HOTLINE_API_HOST, 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port (default: HOTLINE_API_PORT, 8080)")
    sub = parser.add_subparsers(dest="api_command", metavar="ACTION")
    user = sub.add_parser("create-user", help="create a user who can log in to the API")
    user.add_argument("name", help="login name (letters, digits, . _ @ -)")
    user.add_argument("--role", required=True, choices=[r.value for r in Role])
    user.add_argument("--unit", default=None, help="the unit the user works for")
    user.add_argument("--display-name", default="", help="full name shown in the history")
    sub.add_parser("openapi", help="print the OpenAPI document (JSON) and exit")


def _password() -> str:
    from_env = os.environ.get(PASSWORD_ENV)
    if from_env:
        return from_env
    if not sys.stdin.isatty():
        raise HotlineError(f"no password: set {PASSWORD_ENV} or run on a terminal")
    first = getpass.getpass(f"password ({MIN_PASSWORD_LENGTH}+ characters): ")
    if getpass.getpass("again: ") != first:
        raise HotlineError("the two passwords differ")
    return first


def run(args: argparse.Namespace, settings: Settings) -> int:
    from api.app import create_app
    from api.errors import ApiError

    if args.api_command == "create-user":
        engine = make_engine(settings.db_url)
        try:
            with unit_of_work(session_factory(engine)) as session:
                user = create_user(
                    session,
                    args.name,
                    _password(),
                    Role(args.role),
                    now=utcnow(),
                    display_name=args.display_name,
                    unit=args.unit,
                )
                print(f"created {args.role} {user.username}")
        except CasesError as exc:
            raise HotlineError(str(exc)) from exc
        finally:
            engine.dispose()
        return 0

    try:
        app = create_app(settings)
    except ApiError as exc:
        raise HotlineError(str(exc)) from exc
    if args.api_command == "openapi":
        print(json.dumps(app.openapi(), ensure_ascii=False, indent=2))
        return 0

    import uvicorn

    uvicorn.run(
        app,
        host=args.host or settings.api_host,
        port=args.port or settings.api_port,
        log_level=settings.log_level.lower(),
        proxy_headers=False,
        access_log=False,  # uvicorn's would log query strings (caller numbers); see api.metrics
    )
    return 0
