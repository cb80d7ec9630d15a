"""The composition root of the REST API: `create_app(settings)` builds one FastAPI app with
its own engine, session factory, province config, dossier directory, metrics registry and
clock, all kept on ``app.state`` (no module-level app, engine or registry).

Refuses to start with the default API secret outside development (Settings already refuses
it in production; the API also refuses it under ``env=test``), or with a short secret.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from datetime import datetime

from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute
from sqlalchemy import Engine
from starlette.routing import BaseRoute

from api import problems
from api.errors import UnsafeConfigError
from api.metrics import MetricsMiddleware, RouteTemplates, make_registry
from api.routers import audit, auth, calls, cases, health, open311, recordings
from api.routers import dossiers as dossier_routes
from cases.config import CONFIG_FILE, CasesConfig, load_config
from cases.db import make_engine, session_factory
from cases.dossiers import (
    DossierCodeFormat,
    DossierDirectory,
    HttpDossierDirectory,
    SqlDossierDirectory,
)
from cases.places import PlaceDirectory
from cases.types import utcnow
from hotline.settings import DEV_API_SECRET, Environment, Settings

API_PREFIX = "/api/v1"
MIN_SECRET_LENGTH = 16

DESCRIPTION = """\
REST API of the citizens' hotline 1900 9120: the call log, citizens' cases (phản ánh hiện
trường) and their workflow, e-service dossier lookup, and Open311 GeoReport v2 over the
same cases.

Log in with `POST /api/v1/auth/token` and send `Authorization: Bearer <token>`. Roles:
**agent** (sees and edits the cases they handle and those cases' calls; caller numbers
masked), **supervisor** (everything, full caller numbers on request and recordings — every
such read is audited), **admin** (users; reads everything masked, edits no case).
"""


def check_settings(settings: Settings) -> None:
    """UnsafeConfigError if the API secret is the default outside development, or short."""
    if settings.env is not Environment.DEVELOPMENT and settings.api_secret == DEV_API_SECRET:
        raise UnsafeConfigError(
            f"HOTLINE_API_SECRET is the development default but HOTLINE_ENV is "
            f"{settings.env}: set a secret of {MIN_SECRET_LENGTH}+ random characters"
        )
    if settings.env is not Environment.DEVELOPMENT and len(settings.api_secret) < MIN_SECRET_LENGTH:
        raise UnsafeConfigError(
            f"HOTLINE_API_SECRET is {len(settings.api_secret)} characters long; "
            f"{MIN_SECRET_LENGTH} at least outside development"
        )


def iter_routes(app: FastAPI) -> Iterator[tuple[str, frozenset[str], BaseRoute]]:
    """Every endpoint of `app` as (full path, methods, route), through included routers
    (FastAPI keeps them nested rather than copying their routes)."""
    for route in app.routes:
        contexts = getattr(route, "effective_route_contexts", None)
        if contexts is not None:
            for ctx in contexts():
                methods: set[str] | None = getattr(ctx.original_route, "methods", None)
                yield ctx.path, frozenset(methods or ()), ctx.original_route
        elif isinstance(route, APIRoute):
            yield route.path, frozenset(route.methods or ()), route


def make_directory(settings: Settings, engine: Engine) -> DossierDirectory:
    if settings.dossier_source == "http":
        return HttpDossierDirectory(settings.dossier_http_url, settings.dossier_http_token)
    if settings.dossier_source != "sql":
        raise UnsafeConfigError(
            f"HOTLINE_DOSSIER_SOURCE is {settings.dossier_source!r}: use 'sql' or 'http'"
        )
    return SqlDossierDirectory(engine)


def create_app(
    settings: Settings,
    *,
    engine: Engine | None = None,
    cases_config: CasesConfig | None = None,
    dossiers: DossierDirectory | None = None,
    clock: Callable[[], datetime] = utcnow,
) -> FastAPI:
    """Build the API. `engine`, `cases_config`, `dossiers` and `clock` default to the real
    things made from `settings`; tests pass a fixed clock. The engine is not migrated here
    (`hotline db upgrade` does that)."""
    check_settings(settings)
    owned_engine = engine is None
    engine = engine if engine is not None else make_engine(settings.db_url)
    config = cases_config or load_config(settings.dialplans_dir / CONFIG_FILE)
    directory = dossiers if dossiers is not None else make_directory(settings, engine)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        close = getattr(directory, "close", None)
        if dossiers is None and callable(close):
            close()
        if owned_engine:
            engine.dispose()

    app = FastAPI(
        title="Hotline 1900 9120 API",
        version="1.0.0",
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    sessions = session_factory(engine)
    registry, http_metrics = make_registry(sessions)
    app.state.settings = settings
    app.state.engine = engine
    app.state.sessions = sessions
    app.state.cases_config = config
    app.state.places = PlaceDirectory(config)
    app.state.dossiers = directory
    app.state.dossier_format = DossierCodeFormat(config.dossier_template)
    app.state.registry = registry
    app.state.clock = clock

    v1 = APIRouter(prefix=API_PREFIX)
    v1.include_router(auth.router)
    v1.include_router(calls.router)
    v1.include_router(recordings.router)
    v1.include_router(cases.router)
    v1.include_router(dossier_routes.router)
    v1.include_router(audit.router)
    v1.include_router(health.router)
    app.include_router(v1)
    app.include_router(open311.router)
    app.include_router(health.metrics_router)
    problems.install(app)
    routes = RouteTemplates(path for path, _, _ in iter_routes(app))
    app.add_middleware(MetricsMiddleware, metrics=http_metrics, routes=routes)
    return app
