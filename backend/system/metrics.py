"""Prometheus metrics: Litestar's request metrics plus what the ledger accepts and refuses."""

from __future__ import annotations

import hmac

from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler
from litestar.plugins.prometheus import PrometheusConfig, PrometheusController
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


def prometheus_config() -> PrometheusConfig:
    return PrometheusConfig(
        app_name="cunzhan",
        prefix="cunzhan",
        group_path=True,  # one series per route, not per station id
        exclude=["^/app/", "^/metrics"],
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
