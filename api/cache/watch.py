"""The cache the list routes and the event stream read: two stores, their watches, the feed."""

import asyncio
from typing import Any, NamedTuple

from simplismart.api.cache.changes import ChangeFeed
from simplismart.api.cache.informer import Informer
from simplismart.api.cache.store import Applied, Listener, Store
from simplismart.api.errors import UnavailableError
from simplismart.api.kube import Kube
from simplismart.api.schemas.cluster import ClusterOut
from simplismart.api.schemas.deployment import DeploymentOut
from simplismart.crds import CLUSTER, DEPLOYMENT, Phase

#: How long a request waits for the first LIST before answering 503.
SYNC_WAIT_SECONDS = 10.0


class DeploymentFacets(NamedTuple):
    """What deployment lists filter on."""

    cluster: str
    phase: Phase
    priority: int


def render_deployment(resource: dict[str, Any]) -> tuple[bytes, DeploymentFacets]:
    """A Deployment as the list endpoints send it, and what they filter it by."""
    out = DeploymentOut.of(resource)
    return out.model_dump_json().encode(), DeploymentFacets(
        out.cluster_name, out.phase, out.priority
    )


def render_cluster(resource: dict[str, Any]) -> tuple[bytes, None]:
    """A Cluster as `GET /clusters` sends it; cluster lists filter on nothing."""
    return ClusterOut.of(resource).model_dump_json().encode(), None


class WatchCache:
    """Every organization's Clusters and Deployments, as the API shows them.

    Changes come from one cluster-wide watch per kind (filtered to the organizations'
    namespace prefix) and from the API's own writes, applied as soon as the API server
    accepts them so that callers read their own writes at once.
    """

    def __init__(self, kube: Kube, namespace_prefix: str) -> None:
        self.feed = ChangeFeed()
        self.deployments: Store[DeploymentFacets] = Store(
            render_deployment, self._announcer("deployment")
        )
        self.clusters: Store[None] = Store(render_cluster, self._announcer("cluster"))
        self._informers = [
            Informer(kube, DEPLOYMENT, self.deployments, namespace_prefix),
            Informer(kube, CLUSTER, self.clusters, namespace_prefix),
        ]

    def _announcer(self, kind: str) -> Listener[Any]:
        """Publish each change of ``kind`` (``deployment`` or ``cluster``) to the feed."""

        def announce(applied: Applied[Any]) -> None:
            entry = applied.entry
            self.feed.publish(entry.namespace, kind, applied.type, entry.json)

        return announce

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        self.feed.bind(loop)
        for informer in self._informers:
            informer.start()

    def stop(self) -> None:
        for informer in self._informers:
            informer.stop()

    def ready(self) -> None:
        """Return once both kinds have been listed; 503 if that takes too long."""
        for informer in self._informers:
            if not informer.synced.wait(SYNC_WAIT_SECONDS):
                raise UnavailableError(
                    "the API is still loading clusters and deployments from Kubernetes; "
                    "try again shortly"
                )
