"""Probes, metrics, and what the API answers when a dependency is down."""

import asyncio
import time
from typing import Any, cast

import pytest
from fastapi.testclient import TestClient
from prometheus_client import generate_latest

from simplismart.api.app import create_app
from simplismart.api.routes import health
from simplismart.api.routes.health import Readiness
from tests.api.conftest import make_settings
from tests.api.support import Api, Backend, unit_only


def test_healthz(api: Api) -> None:
    assert api.call("GET", "/healthz").json() == {"message": "ok"}


def test_readyz_reports_each_dependency(api: Api) -> None:
    answer = api.call("GET", "/readyz")
    body = answer.json()
    assert set(body["checks"]) == {"database", "redis", "kubernetes"}
    if api.backend.tier == "integration":
        assert answer.status_code == 200
        assert body == {
            "message": "ready",
            "checks": {"database": "ok", "redis": "ok", "kubernetes": "ok"},
            "errors": [],
        }
    else:  # the unit tier has no Redis
        assert answer.status_code == 503
        assert body["message"] == "not ready: redis"
        assert body["errors"][0]["field"] == "redis"


@unit_only
def test_readyz_notices_kubernetes_going_away(api: Api) -> None:
    assert api.backend.fake is not None
    api.backend.fake.reachable = False
    body = api.call("GET", "/readyz").json()
    assert body["checks"]["kubernetes"] == "unavailable"


def test_metrics_count_requests_by_route_template(api: Api) -> None:
    org = api.organization()
    api.call("GET", "/deployments/nothing-here", org.viewer)
    metrics = api.client.app.state.metrics  # type: ignore[attr-defined]
    text = generate_latest(metrics.registry).decode()
    assert (
        'simplismart_api_requests_total{method="GET",route="/deployments/{name}",status="404"} 1.0'
        in text
    )
    assert "simplismart_api_request_duration_seconds_bucket" in text


def test_methods_a_client_makes_up_share_one_series(api: Api) -> None:
    """Any token is a method to the HTTP parser: each one named would be a series kept for
    ever, so a loop of made-up methods would grow the process without bound."""
    for index in range(3):
        api.client.request(f"MADEUP{index}", "/clusters")
    metrics = api.client.app.state.metrics  # type: ignore[attr-defined]
    text = generate_latest(metrics.registry).decode()
    assert "MADEUP" not in text
    other = 'simplismart_api_requests_total{method="OTHER",route="/clusters",status="405"} 3.0'
    assert other in text


def test_openapi_and_docs_are_served(api: Api) -> None:
    schema = api.call("GET", "/openapi.json").json()
    assert {"/register", "/login", "/create_deployment", "/deployments/{name}"} <= set(
        schema["paths"]
    )
    docs = api.call("GET", "/docs")
    assert docs.status_code == 200
    # Served from the package: no other origin's script runs beside the dashboard's token.
    assert "https://" not in docs.text
    assert "script-src 'self'" in docs.headers["content-security-policy"]
    bundle = api.call("GET", "/docs/swagger-ui-bundle.js")
    assert bundle.status_code == 200
    assert bundle.headers["content-type"].startswith("text/javascript")
    assert api.call("GET", "/docs/index.html").status_code == 404  # only the page's own files
    assert api.call("GET", "/ui/docs.js").status_code == 404
    assert api.call("GET", "/redoc").status_code == 404


@unit_only
def test_an_unreachable_database_is_503(backend: Backend) -> None:
    settings = make_settings(
        "postgresql+psycopg://postgres@127.0.0.1:1/nothing", migrate_on_startup=0
    )
    with TestClient(create_app(settings, backend.kube)) as client:
        registered = client.post("/register", json={"username": "u", "password": "long enough"})
        assert registered.status_code == 503
        assert registered.json() == {
            "message": "the database is unavailable; try again later",
            "errors": [],
        }
        ready = client.get("/readyz").json()
        assert ready["checks"]["database"] == "unavailable"


def test_a_flood_of_readiness_probes_costs_one_check(monkeypatch: pytest.MonkeyPatch) -> None:
    checks: list[float] = []

    def check(_services: object) -> tuple[Readiness, bool]:
        checks.append(time.monotonic())
        time.sleep(0.05)  # a database, Redis and Kubernetes round trip
        return Readiness(message="ready", checks={}, errors=[]), True

    monkeypatch.setattr(health, "_check", check)

    async def flood() -> list[bool]:
        last = health._LastReadiness()
        answers = await asyncio.gather(*(last.get(cast(Any, None)) for _ in range(50)))
        return [ready for _, ready in answers]

    assert asyncio.run(flood()) == [True] * 50
    assert len(checks) == 1
