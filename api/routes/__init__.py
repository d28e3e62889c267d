"""HTTP routes, one module per area, gathered into one router."""

from fastapi import APIRouter
from fastapi.routing import APIRoute

from simplismart.api.routes import (
    auth,
    clusters,
    deployments,
    events,
    health,
    organizations,
    ui,
    users,
)

AREAS = (auth, users, organizations, clusters, deployments, events, ui, health)

router = APIRouter()
for area in AREAS:
    router.include_router(area.router)


def allowed_methods(path: str) -> set[str]:
    """Every method some route takes at `path`, for a 405's ``Allow`` (``HEAD`` wherever
    ``GET`` is: `head`)."""
    methods = {
        method
        for area in AREAS
        for route in area.router.routes
        if isinstance(route, APIRoute) and route.path_regex.match(path)
        for method in route.methods or ()
    }
    return methods | {"HEAD"} if "GET" in methods else methods
