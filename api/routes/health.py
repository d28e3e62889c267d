"""Liveness and readiness for probes, no token needed.

Metrics are not here: they are served on their own port (``SIMPLISMART_API_METRICS_PORT``),
which the public never reaches. Readiness tells the public only which dependency fails; why
(exception, configuration paths) goes to the log, for operators.
"""

import logging
from collections.abc import Callable

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from simplismart.api.core.db import ping as ping_database
from simplismart.api.deps import ServicesDep
from simplismart.api.schemas.common import FieldError, Reply

router = APIRouter(tags=["health"])
log = logging.getLogger(__name__)

UNAVAILABLE = "unavailable"


class Readiness(Reply):
    checks: dict[str, str]
    errors: list[FieldError]


@router.get("/healthz", response_model=Reply)
async def healthz() -> Reply:
    """The process is up and serving.

    On the event loop, not a worker thread, and let in past admission: it answers while the
    API sheds load.
    """
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
        except Exception as error:
            log.warning("readiness: %s is unavailable: %r", name, error)
            checks[name] = UNAVAILABLE
            failed.append(FieldError(field=name, message=f"is {UNAVAILABLE} (see the API's log)"))
    ready = not failed
    body = Readiness(
        message="ready" if ready else "not ready: " + ", ".join(e.field for e in failed),
        checks=checks,
        errors=failed,
    )
    return JSONResponse(body.model_dump(), status_code=200 if ready else 503)
