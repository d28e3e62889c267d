"""Prometheus metrics of the HTTP API: requests by route and status, and their latency.

Served on a port of their own (as the operator does), never on the public API port: request
counts by route tell an outsider what others are doing.

A plain ASGI middleware (not Starlette's BaseHTTPMiddleware) so that measuring adds almost
nothing to each request. Routes are labelled by their template (``/deployments/{name}``), never
by the concrete path, so the number of series stays bounded.
"""

import logging
import time
from typing import Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Histogram,
    ProcessCollector,
    start_http_server,
)
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger(__name__)


class Metrics:
    """One registry per app, so that several apps (as in tests) never share counters."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        ProcessCollector(registry=self.registry)
        self.requests = Counter(
            "simplismart_api_requests",
            "HTTP requests answered, by method, route template and status code.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "simplismart_api_request_duration_seconds",
            "Time to answer an HTTP request, by method and route template.",
            ["method", "route"],
            registry=self.registry,
        )


def serve_metrics(metrics: Metrics, host: str, port: int) -> None:
    """Expose ``metrics`` at ``http://host:port/metrics`` from a background thread.

    A port already taken costs the metrics, not the API: it is logged and the API serves on.
    """
    try:
        start_http_server(port, addr=host, registry=metrics.registry)
    except OSError as error:
        log.error(
            "cannot serve metrics on %s:%d (%s); serving the API without them", host, port, error
        )


#: The methods recorded by name; any other is counted as OTHER.
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


class MetricsMiddleware:
    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_recording_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_recording_status)
        finally:
            route = _template(scope)
            # A client names its own method (any token h11 accepts): one series each would
            # let anyone grow the registry without bound.
            method = scope["method"] if scope["method"] in KNOWN_METHODS else "OTHER"
            self.metrics.requests.labels(method, route, str(status)).inc()
            self.metrics.latency.labels(method, route).observe(time.perf_counter() - started)


def _template(scope: Scope) -> str:
    route: Any = scope.get("route")
    return str(getattr(route, "path", None) or "unmatched")
