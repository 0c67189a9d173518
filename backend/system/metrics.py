"""Prometheus metrics: Litestar's request metrics plus what the ledger accepts and refuses."""

from __future__ import annotations

import hmac
import time
from dataclasses import dataclass
from typing import Any

from litestar.connection import ASGIConnection
from litestar.enums import ScopeType
from litestar.handlers.base import BaseRouteHandler
from litestar.plugins.prometheus import PrometheusConfig, PrometheusController, PrometheusMiddleware
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from prometheus_client import Counter, Histogram

from backend.errors import DomainError
from backend.settings import scope_settings

SYNC_EVENTS = Counter(
    "cunzhan_sync_events_total", "Events pushed by phones, by how they were judged", ["status"]
)
SYNC_BATCH_SECONDS = Histogram(
    "cunzhan_sync_batch_seconds",
    "Time to judge and store one pushed batch",
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)


class RouteSeriesMiddleware(PrometheusMiddleware):
    """Litestar's request metrics (same names, labels and values) with each route's series
    looked up once: Litestar's own builds a request object and four label dicts and looks each
    series up by its labels on every request, a noticeable share of a phone's push."""

    def __init__(self, app: ASGIApp, config: PrometheusConfig) -> None:
        super().__init__(app, config)
        self._series: dict[tuple[str, str, int], _RouteSeries] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await super().__call__(scope, receive, send)
            return
        method, path = scope["method"], scope["path_template"]  # type: ignore[typeddict-item]
        in_progress = self._route_series(method, path, 200).in_progress
        started = time.perf_counter()
        answered = {"status": 200, "duration": 0.0}

        async def timed_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                answered["status"] = message["status"]
            elif message["type"] == "http.response.body":
                answered["duration"] = time.perf_counter() - started
            await send(message)

        in_progress.inc()
        try:
            await self.app(scope, receive, timed_send)
        finally:
            in_progress.dec()
            series = self._route_series(method, path, int(answered["status"]))
            if series.errors is not None:
                series.errors.inc()
            series.count.inc()
            series.time.observe(answered["duration"])

    def _route_series(self, method: str, path: str, status: int) -> _RouteSeries:
        key = (method, path, status)
        found = self._series.get(key)
        if found is None:
            labels: dict[str, str | int | float] = {
                "method": method,
                "path": path,
                "status_code": status,
                "app_name": self._config.app_name,
            }
            values = [*labels.values()]
            in_progress_values = [method, path, 200, self._config.app_name]
            found = self._series[key] = _RouteSeries(
                in_progress=self.requests_in_progress(labels).labels(*in_progress_values),
                count=self.request_count(labels).labels(*values),
                time=self.request_time(labels).labels(*values),
                errors=self.requests_error_count(labels).labels(*values) if status >= 500 else None,
            )
        return found


@dataclass
class _RouteSeries:
    in_progress: Any
    count: Any
    time: Any
    errors: Any


def prometheus_config() -> PrometheusConfig:
    return PrometheusConfig(
        app_name="cunzhan",
        prefix="cunzhan",
        group_path=True,  # one series per route, not per station id
        exclude=["^/app/", "^/metrics"],
        middleware_class=RouteSeriesMiddleware,
    )


def requires_metrics_access(connection: ASGIConnection, _: BaseRouteHandler) -> None:
    """With CUNZHAN_METRICS_TOKEN set, that bearer token; otherwise only a direct loopback call."""
    token = scope_settings(connection.scope).metrics_token
    if token:
        given = connection.headers.get("authorization", "").removeprefix("Bearer ").strip()
        if hmac.compare_digest(given.encode(), token.encode()):
            return
        raise DomainError("unauthorized", status=401)
    client = connection.scope.get("client") or ("", 0)
    proxied = "x-forwarded-for" in connection.headers
    if client[0] not in ("127.0.0.1", "::1") or proxied:
        raise DomainError("forbidden", status=403)


class MetricsController(PrometheusController):
    path = "/metrics"
    guards = [requires_metrics_access]
    include_in_schema = False
