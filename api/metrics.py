"""Prometheus metrics of one app instance: a registry per app (no global registry).

- ``hotline_http_requests_total{method,route,status}`` and
  ``hotline_http_request_duration_seconds{method,route}``, labelled by the route *template*
  (``/api/v1/cases/{reference}``) so label cardinality stays bounded;
- ``hotline_cases{status}``, ``hotline_calls_open`` and ``hotline_database_up``, read from the
  database at scrape time;
- one access-log line per request (logger ``api.access``) naming the route template, never
  the raw path or query string, which may carry caller numbers.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterable, Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cases.models import CallRecord, Case

access_log = logging.getLogger("api.access")


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

    def describe(self) -> Iterator[GaugeMetricFamily]:
        """Names only: registering the collector must not touch the database."""
        yield GaugeMetricFamily("hotline_database_up", "1 if the case database answered")
        yield GaugeMetricFamily("hotline_cases", "Cases by status", labels=["status"])
        yield GaugeMetricFamily("hotline_calls_open", "Call records still open")

    def collect(self) -> Iterator[GaugeMetricFamily]:
        up = GaugeMetricFamily("hotline_database_up", "1 if the case database answered")
        cases = GaugeMetricFamily("hotline_cases", "Cases by status", labels=["status"])
        calls = GaugeMetricFamily("hotline_calls_open", "Call records still open")
        try:
            with self._sessions() as session:
                for status, count in session.execute(
                    select(Case.status, func.count()).group_by(Case.status)
                ):
                    cases.add_metric([str(status)], float(count))
                open_calls = session.scalar(
                    select(func.count())
                    .select_from(CallRecord)
                    .where(CallRecord.ended_at.is_(None))
                )
        except SQLAlchemyError:
            up.add_metric([], 0.0)
            yield up
            return
        up.add_metric([], 1.0)
        calls.add_metric([], float(open_calls or 0))
        yield up
        yield cases
        yield calls


class RouteTemplates:
    """Maps a request path to its route template (``/api/v1/cases/{reference}``), so labels
    stay bounded. Static templates win over parametrised ones (``/calls/export.csv`` before
    ``/calls/{uniqueid}``)."""

    def __init__(self, templates: Iterable[str]) -> None:
        ordered = sorted(set(templates), key=lambda t: (t.count("{"), -len(t)))
        self._patterns = [
            (re.compile("^" + re.sub(r"\\{[^/]+?\\}", "[^/]+", re.escape(t)) + "$"), t)
            for t in ordered
        ]

    def match(self, path: str) -> str:
        for pattern, template in self._patterns:
            if pattern.match(path):
                return template
        return "unmatched"


class MetricsMiddleware:
    """Pure ASGI middleware (streams pass through untouched) that times every HTTP request."""

    def __init__(self, app: ASGIApp, metrics: HttpMetrics, routes: RouteTemplates) -> None:
        self.app = app
        self.metrics = metrics
        self.routes = routes

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
            route = self.routes.match(str(scope.get("path", "")))
            method = str(scope.get("method", ""))
            elapsed = time.perf_counter() - started
            self.metrics.requests.labels(method, route, str(status)).inc()
            self.metrics.latency.labels(method, route).observe(elapsed)
            # The access log names the route template only: query strings and paths may
            # carry caller numbers (personal data), which never reach the log.
            access_log.info("%s %s %d %.1f ms", method, route, status, elapsed * 1000)


def make_registry(sessions: sessionmaker[Session]) -> tuple[CollectorRegistry, HttpMetrics]:
    registry = CollectorRegistry(auto_describe=True)
    metrics = HttpMetrics(registry)
    registry.register(DatabaseCollector(sessions))
    return registry, metrics
