"""The application factory: routes, error handlers, metrics and the services' lifecycle."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool

from simplismart.api.admission import Admission
from simplismart.api.bodylimit import BodySizeLimit
from simplismart.api.core.config import Settings
from simplismart.api.core.db import migrate
from simplismart.api.errors import install_error_handlers
from simplismart.api.head import HeadAsGet
from simplismart.api.kube import Kube
from simplismart.api.metrics import Metrics, MetricsMiddleware
from simplismart.api.routes import allowed_methods, router
from simplismart.api.services import Services

DESCRIPTION = """\
Users, organizations and roles; Clusters and Deployments as Kubernetes custom resources in the
organization's namespace. Every response body carries a `message`; every error is
`{"message": ..., "errors": [{"field": ..., "message": ...}]}`.
Authenticate with the `access_token` from `POST /login` as `Authorization: Bearer <token>`.
"""


def create_app(settings: Settings | None = None, kube: Kube | None = None) -> FastAPI:
    """Build the app; settings are read from the environment at start-up unless given."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        services = Services.build(settings or Settings.from_env(), kube)
        if services.settings.migrate_on_startup:
            await run_in_threadpool(migrate, services.engine)
        app.state.services = services
        services.cache.start(asyncio.get_running_loop())
        try:
            yield
        finally:
            services.close()

    app = FastAPI(
        title="Simplismart API",
        version="1.0.0",
        description=DESCRIPTION,
        lifespan=lifespan,
        # `/deployments/` is not `/deployments`: a 404 as the original answered, not a 307 to a
        # URL built from the Host header (http:// behind a TLS proxy).
        redirect_slashes=False,
        # Served by routes/ui.py from files in the package, not FastAPI's pages from a CDN.
        docs_url=None,
        redoc_url=None,
    )
    app.state.metrics = Metrics()
    # Last added runs first: sizes are checked before a request waits for its turn.
    app.add_middleware(Admission)
    app.add_middleware(BodySizeLimit)
    app.add_middleware(HeadAsGet)
    app.add_middleware(MetricsMiddleware, metrics=app.state.metrics)
    install_error_handlers(app, allowed_methods)
    app.include_router(router)
    return app
