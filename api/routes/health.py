"""Liveness and readiness for probes, no token needed.

Metrics are not here: they are served on their own port (``SIMPLISMART_API_METRICS_PORT``),
which the public never reaches. Readiness tells the public only which dependency fails; why
(exception, configuration paths) goes to the log, for operators.
"""

import asyncio
import logging
import math
import time
from collections.abc import Callable

import anyio
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from simplismart.api.core.db import ping as ping_database
from simplismart.api.deps import ServicesDep
from simplismart.api.schemas.common import FieldError, Reply
from simplismart.api.services import Services

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


#: Readiness is checked at most this often: a flood of probes costs one check a second.
READINESS_SECONDS = 1.0


class _LastReadiness:
    """The last readiness answer, checked again when stale by one request while the others
    wait for it: one worker thread and one database connection at most, whatever the load,
    so `/readyz` needs no admission and a kubelet's probe is answered while the API sheds
    load."""

    def __init__(self) -> None:
        self._lock = asyncio.Lock()
        self._checked = -math.inf
        self._answer: tuple[Readiness, bool] | None = None

    async def get(self, services: Services) -> tuple[Readiness, bool]:
        async with self._lock:
            if self._answer is None or time.monotonic() - self._checked >= READINESS_SECONDS:
                self._answer = await anyio.to_thread.run_sync(_check, services)
                self._checked = time.monotonic()
            return self._answer


@router.get("/readyz", response_model=Readiness, responses={503: {"model": Readiness}})
async def readyz(request: Request, services: ServicesDep) -> JSONResponse:
    """The database, Redis and the Kubernetes API (with the CRDs installed) all answer."""
    state = request.app.state
    if not hasattr(state, "readiness"):
        state.readiness = _LastReadiness()
    body, ready = await state.readiness.get(services)
    return JSONResponse(body.model_dump(), status_code=200 if ready else 503)


def _check(services: Services) -> tuple[Readiness, bool]:
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
    body = Readiness(
        message="ready" if not failed else "not ready: " + ", ".join(e.field for e in failed),
        checks=checks,
        errors=failed,
    )
    return body, not failed
