"""Prometheus metrics of one app instance: a registry per app (no global registry).

- ``hotline_http_requests_total{method,route,status}`` and
  ``hotline_http_request_duration_seconds{method,route}``, labelled by the route *template*
  (``/api/v1/cases/{reference}``) so label cardinality stays bounded;
- ``hotline_cases{status}`` and ``hotline_calls_open``, read from the database at scrape time.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cases.models import CallRecord, Case


class HttpMetrics:
    """Request counters and latency histograms, in `registry`."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.requests = Counter(
            "hotline_http_requests",
            "HTTP requests handled, by route template and status",
            ["method", "route", "status"],
            registry=registry,
        )
        self.latency = Histogram(
            "hotline_http_request_duration_seconds",
            "HTTP request latency, by route template",
            ["method", "route"],
            registry=registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
        )


class DatabaseCollector:
    """Scrape-time gauges read from the case database."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def collect(self) -> Iterator[GaugeMetricFamily]:
        cases = GaugeMetricFamily("hotline_cases", "Cases by status", labels=["status"])
        calls = GaugeMetricFamily("hotline_calls_open", "Call records still open")
        with self._sessions() as session:
            for status, count in session.execute(
                select(Case.status, func.count()).group_by(Case.status)
            ):
                cases.add_metric([str(status)], float(count))
            open_calls = session.scalar(
                select(func.count()).select_from(CallRecord).where(CallRecord.ended_at.is_(None))
            )
        calls.add_metric([], float(open_calls or 0))
        yield cases
        yield calls


class MetricsMiddleware:
    """Pure ASGI middleware (streams pass through untouched) that times every HTTP request."""

    def __init__(self, app: ASGIApp, metrics: HttpMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            route = _route_template(scope)
            method = str(scope.get("method", ""))
            self.metrics.requests.labels(method, route, str(status)).inc()
            self.metrics.latency.labels(method, route).observe(time.perf_counter() - started)


def _route_template(scope: Scope) -> str:
    route: Any = scope.get("route")
    path: str | None = getattr(route, "path", None)
    return path or "unmatched"


def make_registry(sessions: sessionmaker[Session]) -> tuple[CollectorRegistry, HttpMetrics]:
    registry = CollectorRegistry(auto_describe=True)
    metrics = HttpMetrics(registry)
    registry.register(DatabaseCollector(sessions))
    return registry, metrics
