"""The operator's reads and writes of its custom resources through the Kubernetes API.

kopf watches and posts events with its own client; the scheduling pass needs consistent reads
and conditional writes (a resourceVersion precondition), which the official client gives. Its
calls block, so each runs in a worker thread.
"""

import asyncio
import os
import threading
from collections.abc import Callable
from typing import Any

from kubernetes import client, config
from kubernetes.client.exceptions import ApiException

from simplismart.crds import CLUSTER, DEPLOYMENT
from simplismart.operator.objects import ClusterObject, ClusterRef, DeploymentObject
from simplismart.operator.outages import REQUEST_TIMEOUT

#: Connections kept to the API server: as many as worker threads (runtime.THREADS), so that
#: concurrent calls never open and discard TLS connections.
POOL_SIZE = 128


def load_api_client() -> client.ApiClient:
    """In-cluster credentials inside a Pod, the kubeconfig ($KUBECONFIG) anywhere else."""
    configuration = client.Configuration()
    if os.environ.get("KUBERNETES_SERVICE_HOST"):
        config.load_incluster_config(client_configuration=configuration)  # type: ignore[no-untyped-call]
    else:
        config.load_kube_config(client_configuration=configuration)  # type: ignore[no-untyped-call]
    configuration.connection_pool_maxsize = POOL_SIZE
    return client.ApiClient(configuration)


class KubeApi:
    def __init__(self, api_client: client.ApiClient) -> None:
        self._custom = client.CustomObjectsApi(api_client)
        self._writes_in_flight = 0
        self._write_answered = threading.Condition()

    def _counted(self, call: Callable[..., object], *args: Any, **kwargs: Any) -> object:
        """Make a write, in its worker thread, counted until it is answered.

        Counted by the thread, not by its caller: a cancelled pass stops waiting for a write,
        but the request goes on and may still land.
        """
        with self._write_answered:
            self._writes_in_flight += 1
        try:
            return call(*args, **kwargs)
        finally:
            with self._write_answered:
                self._writes_in_flight -= 1
                self._write_answered.notify_all()

    async def writes_answered(self, seconds: float) -> bool:
        """Wait, at most ``seconds``, until no write is in flight; whether none is.

        Before the Lease is handed over: a start still in flight could land after the next
        leader has read the cluster, and both would give its capacity away.
        """

        def wait() -> bool:
            with self._write_answered:
                return self._write_answered.wait_for(lambda: not self._writes_in_flight, seconds)

        return await asyncio.to_thread(wait)

    async def get_cluster(self, ref: ClusterRef) -> ClusterObject | None:
        try:
            body = await asyncio.to_thread(
                self._custom.get_namespaced_custom_object,
                CLUSTER.group, CLUSTER.version, ref.namespace, CLUSTER.plural, ref.name,
                _request_timeout=REQUEST_TIMEOUT,
            )  # fmt: skip
        except ApiException as error:
            if error.status == 404:
                return None
            raise
        return ClusterObject.from_body(_json(body))

    async def list_clusters(self, namespaces: tuple[str, ...]) -> list[ClusterRef]:
        """Every Cluster in ``namespaces`` (all when empty): the resync's list of work."""
        if namespaces:
            bodies = await asyncio.gather(*(self._list_clusters_in(n) for n in namespaces))
            items = [item for body in bodies for item in _json(body)["items"]]
        else:
            body = await asyncio.to_thread(
                self._custom.list_cluster_custom_object,
                CLUSTER.group, CLUSTER.version, CLUSTER.plural,
                _request_timeout=REQUEST_TIMEOUT,
            )  # fmt: skip
            items = _json(body)["items"]
        return [ClusterRef(i["metadata"]["namespace"], i["metadata"]["name"]) for i in items]

    async def _list_clusters_in(self, namespace: str) -> object:
        return await asyncio.to_thread(
            self._custom.list_namespaced_custom_object,
            CLUSTER.group, CLUSTER.version, namespace, CLUSTER.plural,
            _request_timeout=REQUEST_TIMEOUT,
        )  # fmt: skip

    async def list_deployments(self, ref: ClusterRef) -> tuple[list[DeploymentObject], str]:
        """A consistent (quorum) read of the cluster's deployments, our own writes included,
        with the resourceVersion the snapshot was taken at."""
        listed = await asyncio.to_thread(
            self._custom.list_namespaced_custom_object,
            DEPLOYMENT.group, DEPLOYMENT.version, ref.namespace, DEPLOYMENT.plural,
            field_selector=f"spec.cluster={ref.name}",
            _request_timeout=REQUEST_TIMEOUT,
        )  # fmt: skip
        body = _json(listed)
        items = [DeploymentObject.from_body(item) for item in body["items"]]
        return items, body["metadata"]["resourceVersion"]

    async def delete_deployment(self, namespace: str, name: str, uid: str) -> bool:
        """Delete that very object (a namesake created since is left alone); False if gone."""
        try:
            await asyncio.to_thread(
                self._counted,
                self._custom.delete_namespaced_custom_object,
                DEPLOYMENT.group, DEPLOYMENT.version, namespace, DEPLOYMENT.plural, name,
                body=client.V1DeleteOptions(preconditions=client.V1Preconditions(uid=uid)),
                _request_timeout=REQUEST_TIMEOUT,
            )  # fmt: skip
        except ApiException as error:
            if error.status in (404, 409):
                return False
            raise
        return True

    async def get_deployment(self, namespace: str, name: str) -> DeploymentObject | None:
        try:
            body = await asyncio.to_thread(
                self._custom.get_namespaced_custom_object,
                DEPLOYMENT.group, DEPLOYMENT.version, namespace, DEPLOYMENT.plural, name,
                _request_timeout=REQUEST_TIMEOUT,
            )  # fmt: skip
        except ApiException as error:
            if error.status == 404:
                return None
            raise
        return DeploymentObject.from_body(_json(body))

    async def patch_deployment_status(
        self, deployment: DeploymentObject, status: dict[str, Any]
    ) -> DeploymentObject | None:
        """Write status only if the object is still the version we decided on.

        Returns the object as written, or None when it changed or vanished meanwhile: the caller
        decides again from a fresh read. This precondition is what makes a start or an end
        happen at most once.
        """
        body = {"metadata": {"resourceVersion": deployment.resource_version}, "status": status}
        try:
            written = await asyncio.to_thread(
                self._counted,
                self._custom.patch_namespaced_custom_object_status,
                DEPLOYMENT.group, DEPLOYMENT.version, deployment.namespace, DEPLOYMENT.plural,
                deployment.name, body,
                _request_timeout=REQUEST_TIMEOUT,
            )  # fmt: skip
        except ApiException as error:
            if error.status in (404, 409):
                return None
            raise
        return DeploymentObject.from_body(_json(written))

    async def patch_cluster_status(self, ref: ClusterRef, status: dict[str, Any]) -> None:
        try:
            await asyncio.to_thread(
                self._counted,
                self._custom.patch_namespaced_custom_object_status,
                CLUSTER.group, CLUSTER.version, ref.namespace, CLUSTER.plural, ref.name,
                {"status": status},
                _request_timeout=REQUEST_TIMEOUT,
            )  # fmt: skip
        except ApiException as error:
            if error.status != 404:  # deleted meanwhile: nothing to report on
                raise


def _json(body: object) -> dict[str, Any]:
    """The client returns decoded JSON typed as object; every custom object is a mapping."""
    assert isinstance(body, dict)
    return body
