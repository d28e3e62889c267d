"""HTTP routes, one module per area, gathered into one router."""

from fastapi import APIRouter

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

router = APIRouter()
for area in (auth, users, organizations, clusters, deployments, events, ui, health):
    router.include_router(area.router)
