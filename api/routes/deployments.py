"""Deployments in the caller's organization: create, list, read one, cancel."""

from contextlib import suppress
from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from simplismart.api.cache import DeploymentFacets, Page, PageToken
from simplismart.api.deps import DeveloperMember, KubeDep, ServicesDep, ViewerMember
from simplismart.api.errors import NotFoundError, UnprocessableError, field_error
from simplismart.api.kube import Kube
from simplismart.api.quotas import check_deployment_quota
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
from simplismart.api.schemas.common import DNS_LABEL
from simplismart.api.schemas.deployment import (
    REQUEST_FIELDS,
    DeploymentCreate,
    DeploymentListReply,
    DeploymentOut,
    DeploymentReply,
)
from simplismart.crds import CLUSTER, DEPLOYMENT, ClusterSpec, Phase

router = APIRouter(tags=["deployments"], route_class=StrictRoute)


@router.post(
    "/create_deployment",
    status_code=status.HTTP_201_CREATED,
    response_model=DeploymentReply,
    responses=errors(*AUTHENTICATED, 409),
)
def create_deployment(
    body: DeploymentCreate,
    member: DeveloperMember,
    kube: KubeDep,
    services: ServicesDep,
    cache: CacheDep,
) -> DeploymentReply:
    """Ask a cluster of your organization for resources; it queues until they are free.

    Refused with 409 once the organization has its quota of deployments.
    """
    _check_fits(kube, member.namespace, body)
    check_deployment_quota(kube, member.namespace, services.settings.quotas)
    created = kube.create_object(
        DEPLOYMENT, member.namespace, body.name, body.spec().to_wire(), REQUEST_FIELDS
    )
    try:
        _cluster(kube, member.namespace, body.cluster_name)
    except UnprocessableError:
        # Deleted since the check: `DELETE /clusters` may have listed the cluster's deployments
        # before this one existed, and it would wait for a cluster that is gone.
        with suppress(NotFoundError):
            kube.delete_object(DEPLOYMENT, member.namespace, body.name)
        raise
    cache.deployments.upsert(created)
    return DeploymentReply(
        message=f"deployment {body.name!r} submitted to cluster {body.cluster_name!r}",
        deployment=DeploymentOut.of(created),
    )


def _cluster(kube: Kube, namespace: str, name: str) -> ClusterSpec:
    """The named cluster's spec; an unknown one is the request's error (422)."""
    try:
        return ClusterSpec.model_validate(kube.get_object(CLUSTER, namespace, name)["spec"])
    except NotFoundError:
        raise UnprocessableError(
            f"no cluster named {name!r} in your organization",
            [field_error("cluster_name", "no such cluster")],
        ) from None


def _check_fits(kube: Kube, namespace: str, body: DeploymentCreate) -> None:
    """Refuse what could never run: an unknown cluster, or more than the cluster has in total."""
    cluster = _cluster(kube, namespace, body.cluster_name)
    asked, total = body.resources().as_dict(), cluster.resources.as_dict()
    too_much = body.resources().exceeding(cluster.resources)
    if too_much:
        raise UnprocessableError(
            f"the request exceeds the total of cluster {body.cluster_name!r}",
            [
                field_error(name, f"asks {asked[name]} but the cluster has {total[name]} in total")
                for name in too_much
            ],
        )


@router.get("/deployments", response_model=DeploymentListReply, responses=errors(*AUTHENTICATED))
def list_deployments(
    member: ViewerMember,
    cache: CacheDep,
    cluster: Annotated[
        str | None,
        Query(max_length=63, pattern=DNS_LABEL, description="Only this cluster's deployments."),
    ] = None,
    phase: Annotated[Phase | None, Query(description="Only deployments in this phase.")] = None,
    priority: Annotated[
        int | None, Query(ge=0, le=1, description="Only this priority: 1 HIGH, 0 LOW.")
    ] = None,
    limit: Limit = None,
    continue_token: ContinueToken = None,
) -> Response:
    """Your organization's deployments in name order, from the API's watch cache.

    Filter by `cluster`, `phase` and `priority`; page with `limit` and `continue`. The API's
    own writes show at once; the operator's status changes as soon as its watch delivers them.
    """

    def wanted(deployment: DeploymentFacets) -> bool:
        return (
            (cluster is None or deployment.cluster == cluster)
            and (phase is None or deployment.phase is phase)
            and (priority is None or deployment.priority == priority)
        )

    after = PageToken.decode(continue_token) if continue_token else None
    page = Page.take(cache.deployments.after(member.namespace, after), limit, wanted)
    body = page.json("deployments", f"{len(page.entries)} deployment(s)")
    return Response(body, media_type=JSON)


@router.get(
    "/deployments/{name}", response_model=DeploymentReply, responses=errors(*AUTHENTICATED, 404)
)
def get_deployment(name: ObjectName, member: ViewerMember, kube: KubeDep) -> DeploymentReply:
    """One deployment: phase, reason, timestamps, queue position and message."""
    deployment = DeploymentOut.of(kube.get_object(DEPLOYMENT, member.namespace, name))
    return DeploymentReply(
        message=f"deployment {name!r} is {deployment.phase}", deployment=deployment
    )


@router.delete(
    "/deployments/{name}", response_model=DeploymentReply, responses=errors(*AUTHENTICATED, 404)
)
def cancel_deployment(
    name: ObjectName, member: DeveloperMember, kube: KubeDep, cache: CacheDep
) -> DeploymentReply:
    """Cancel a deployment by deleting it; a running one frees its resources at once."""
    deleted = kube.delete_object(DEPLOYMENT, member.namespace, name)
    cache.deployments.delete(deleted)
    deployment = DeploymentOut.of(deleted)
    return DeploymentReply(
        message=f"deployment {name!r} cancelled (it was {deployment.phase})", deployment=deployment
    )
