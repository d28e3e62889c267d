"""Liveness, readiness and metrics: for probes and Prometheus, no token needed."""

from collections.abc import Callable

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from simplismart.api.core.db import ping as ping_database
from simplismart.api.deps import ServicesDep
from simplismart.api.errors import ApiError
from simplismart.api.metrics import Metrics
from simplismart.api.schemas.common import FieldError, Reply

router = APIRouter(tags=["health"])


class Readiness(Reply):
    checks: dict[str, str]
    errors: list[FieldError]


@router.get("/healthz", response_model=Reply)
def healthz() -> Reply:
    """The process is up and serving."""
    return Reply(message="ok")


@router.get("/readyz", response_model=Readiness, responses={503: {"model": Readiness}})
def readyz(services: ServicesDep) -> JSONResponse:
    """The database, Redis and the Kubernetes API (with the CRDs installed) all answer."""
    probes: dict[str, Callable[[], object]] = {
        "database": lambda: ping_database(services.engine),
        "redis": services.redis.ping,
        "kubernetes": services.kube.ping,
    }
    checks: dict[str, str] = {}
    failed: list[FieldError] = []
    for name, probe in probes.items():
        try:
            probe()
            checks[name] = "ok"
        except ApiError as error:
            checks[name] = error.message
        except Exception as error:
            checks[name] = f"unreachable: {type(error).__name__}"
        if checks[name] != "ok":
            failed.append(FieldError(field=name, message=checks[name]))
    ready = not failed
    body = Readiness(
        message="ready" if ready else "not ready: " + ", ".join(e.field for e in failed),
        checks=checks,
        errors=failed,
    )
    return JSONResponse(body.model_dump(), status_code=200 if ready else 503)


@router.get("/metrics", response_class=Response, include_in_schema=False)
def metrics(request: Request) -> Response:
    """Prometheus exposition of this process's request counters and latencies."""
    registry = request.app.state.metrics
    assert isinstance(registry, Metrics)
    return Response(generate_latest(registry.registry), media_type=CONTENT_TYPE_LATEST)
