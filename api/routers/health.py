"""Health (is the database reachable?) and Prometheus metrics."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from api.deps import SessionDep

router = APIRouter(tags=["health"])
metrics_router = APIRouter(tags=["health"])


class Health(BaseModel):
    status: str  # "ok" | "degraded"
    database: str  # "ok" or why not


@router.get(
    "/health",
    summary="Is the service up and its database reachable?",
    responses={503: {"model": Health, "description": "the database is not reachable"}},
)
def health(session: SessionDep, response: Response) -> Health:
    try:
        session.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        response.status_code = 503
        return Health(status="degraded", database=f"unreachable: {type(exc).__name__}")
    return Health(status="ok", database="ok")


@metrics_router.get(
    "/metrics",
    summary="Prometheus metrics (text exposition format)",
    response_class=Response,
    responses={200: {"content": {"text/plain": {}}, "description": "Prometheus text format"}},
)
def metrics(request: Request) -> Response:
    return Response(generate_latest(request.app.state.registry), media_type=CONTENT_TYPE_LATEST)
