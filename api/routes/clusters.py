"""Clusters in the caller's organization: create, list, one with its queue, delete."""

from typing import Any

from fastapi import APIRouter, Response, status

from simplismart.api.cache import Page, PageToken
from simplismart.api.deps import AdminMember, DeveloperMember, KubeDep, ServicesDep, ViewerMember
from simplismart.api.errors import NotFoundError
from simplismart.api.quotas import check_cluster_quota
from simplismart.api.routes.common import (
    AUTHENTICATED,
    JSON,
    CacheDep,
    ContinueToken,
    Limit,
    ObjectName,
    errors,
)
from simplismart.api.routes.strict import StrictRoute
from simplismart.api.schemas.cluster import (
    REQUEST_FIELDS,
    ClusterCreate,
    ClusterDeletedReply,
    ClusterDetail,
    ClusterDetailReply,
    ClusterListReply,
    ClusterOut,
    ClusterReply,
    QueueEntry,
)
from simplismart.api.schemas.deployment import DeploymentOut
from simplismart.crds import CLUSTER, DEPLOYMENT, Phase

router = APIRouter(tags=["clusters"], route_class=StrictRoute)


@router.post(
    "/create_cluster",
    status_code=status.HTTP_201_CREATED,
    response_model=ClusterReply,
    responses=errors(*AUTHENTICATED, 409),
)
def create_cluster(
    body: ClusterCreate,
    member: DeveloperMember,
    kube: KubeDep,
    services: ServicesDep,
    cache: CacheDep,
) -> ClusterReply:
    """Create a cluster with a fixed total of CPU, RAM and GPU (DEVELOPER or ADMIN).

    Refused with 409 beyond the organization's quotas: the number of clusters and the total
    CPU, RAM and GPU of all its clusters.
    """
    check_cluster_quota(kube, member.namespace, services.settings.quotas, body.spec().resources)
    created = kube.create_object(
        CLUSTER, member.namespace, body.name, body.spec().to_wire(), REQUEST_FIELDS
    )
    cache.clusters.upsert(created)
    return ClusterReply(message=f"cluster {body.name!r} created", cluster=ClusterOut.of(created))


@router.get("/clusters", response_model=ClusterListReply, responses=errors(*AUTHENTICATED))
def list_clusters(
    member: ViewerMember, cache: CacheDep, limit: Limit = None, continue_token: ContinueToken = None
) -> Response:
    """Your organization's clusters in name order, with what the operator last reported."""
    after = PageToken.decode(continue_token) if continue_token else None
    page = Page.take(cache.clusters.after(member.namespace, after), limit)
    return Response(page.json("clusters", f"{len(page.entries)} cluster(s)"), media_type=JSON)


@router.get(
    "/clusters/{name}", response_model=ClusterDetailReply, responses=errors(*AUTHENTICATED, 404)
)
def get_cluster(
    name: ObjectName, member: ViewerMember, kube: KubeDep, cache: CacheDep
) -> ClusterDetailReply:
    """One cluster: capacity, allocation, counts, last scheduling decision and its queue.

    The cluster is read from the API server; its queue from the watch cache.
    """
    cluster = ClusterOut.of(kube.get_object(CLUSTER, member.namespace, name))
    queued = [
        DeploymentOut.model_validate_json(entry.json)
        for entry in cache.deployments.after(member.namespace, None)
        if entry.facets.cluster == name and entry.facets.phase is Phase.QUEUED
    ]
    queued.sort(key=lambda d: (d.queue_position is None, d.queue_position or 0, d.queued_at or 0))
    queue = [
        QueueEntry(
            name=d.name,
            priority=d.priority,
            position=d.queue_position,
            queued_at=d.queued_at,
            estimated_start_at=d.estimated_start_at,
            message=d.message,
            preemptions=d.preemptions,
        )
        for d in queued
    ]
    detail = ClusterDetail(**cluster.model_dump(), queue=queue)
    return ClusterDetailReply(message=f"cluster {name!r}", cluster=detail)


@router.delete(
    "/clusters/{name}",
    response_model=ClusterDeletedReply,
    responses=errors(*AUTHENTICATED, 404),
)
def delete_cluster(
    name: ObjectName, admin: AdminMember, kube: KubeDep, cache: CacheDep
) -> ClusterDeletedReply:
    """Delete a cluster and cancel every deployment on it (ADMIN only).

    The cluster goes first, so that no deployment can be submitted to it meanwhile (a submission
    that checked for it before looks again once created); then each of its deployments is
    deleted, as ``DELETE /deployments/{name}`` would. Deleting a cluster that is already gone
    cancels the deployments still on it: a retry finishes a deletion the API could not (it
    restarted half-way). 404 when there is neither.
    """
    deleted: dict[str, Any] | None = None
    try:
        deleted = kube.delete_object(CLUSTER, admin.namespace, name)
    except NotFoundError as missing:
        gone = missing
    else:
        cache.clusters.delete(deleted)
    cancelled: list[str] = []
    for item in kube.list_objects(DEPLOYMENT, admin.namespace):
        deployment = DeploymentOut.of(item)
        if deployment.cluster_name != name:
            continue
        try:
            cache.deployments.delete(
                kube.delete_object(DEPLOYMENT, admin.namespace, deployment.name)
            )
        except NotFoundError:
            continue  # cancelled by someone else meanwhile
        cancelled.append(deployment.name)
    if deleted is None and not cancelled:
        raise gone
    done = f"cluster {name!r} deleted" if deleted else f"cluster {name!r} was already deleted"
    return ClusterDeletedReply(
        message=f"{done}; {len(cancelled)} deployment(s) cancelled",
        cluster=None if deleted is None else ClusterOut.of(deleted),
        cancelled_deployments=sorted(cancelled),
    )
