"""Small conveniences over the Kubernetes client for tests: namespaces, CRs, waiting."""

import time
import uuid
from collections.abc import Callable
from typing import Any, TypeVar

from kubernetes import client, config
from kubernetes.client.exceptions import ApiException

from simplismart.crds import CLUSTER, DEPLOYMENT, ResourceKind

T = TypeVar("T")


def api_client(kubeconfig: str) -> client.ApiClient:
    configuration = client.Configuration()
    config.load_kube_config(  # type: ignore[no-untyped-call]
        config_file=kubeconfig, client_configuration=configuration
    )
    return client.ApiClient(configuration)


def as_json(body: object) -> dict[str, Any]:
    """The client types decoded JSON as object; every Kubernetes object is a mapping."""
    assert isinstance(body, dict)
    return body


def wait_for(
    probe: Callable[[], T | None], timeout: float = 30.0, interval: float = 0.1, what: str = ""
) -> T:
    """Poll ``probe`` until it returns something truthy; fail with ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what or probe}")
        time.sleep(interval)


class Namespace:
    """A fresh namespace for one test, so tests never see each other's objects."""

    def __init__(self, api: client.ApiClient, prefix: str = "t") -> None:
        self.api = api
        self.name = f"{prefix}-{uuid.uuid4().hex[:10]}"
        self.custom = client.CustomObjectsApi(api)
        client.CoreV1Api(api).create_namespace(
            client.V1Namespace(metadata=client.V1ObjectMeta(name=self.name))
        )

    def delete(self, wait: float | None = None) -> None:
        delete_namespace(self.api, self.name, wait)

    def create(self, kind: ResourceKind, name: str, spec: dict[str, Any]) -> dict[str, Any]:
        body = {"apiVersion": kind.api_version, "kind": kind.kind, "metadata": {"name": name}}
        return as_json(
            self.custom.create_namespaced_custom_object(
                kind.group, kind.version, self.name, kind.plural, {**body, "spec": spec}
            )
        )

    def cluster(self, name: str, cpu: int, ram: int, gpu: int, **scheduling: Any) -> None:
        spec: dict[str, Any] = {"resources": {"cpu": cpu, "ram": ram, "gpu": gpu}}
        if scheduling:
            spec["scheduling"] = scheduling
        self.create(CLUSTER, name, spec)

    def deployment(
        self,
        name: str,
        cluster: str,
        cpu: int,
        ram: int = 0,
        gpu: int = 0,
        priority: int = 0,
        duration: int | None = None,
    ) -> None:
        spec: dict[str, Any] = {
            "cluster": cluster,
            "resources": {"cpu": cpu, "ram": ram, "gpu": gpu},
            "priority": priority,
            "image": f"example.com/{name}:1",
        }
        if duration is not None:
            spec["durationSeconds"] = duration
        self.create(DEPLOYMENT, name, spec)

    def get(self, kind: ResourceKind, name: str) -> dict[str, Any]:
        return as_json(
            self.custom.get_namespaced_custom_object(
                kind.group, kind.version, self.name, kind.plural, name
            )
        )

    def list(self, kind: ResourceKind) -> list[dict[str, Any]]:
        result = as_json(
            self.custom.list_namespaced_custom_object(
                kind.group, kind.version, self.name, kind.plural
            )
        )
        items: list[dict[str, Any]] = result["items"]
        return items

    def patch_spec(self, kind: ResourceKind, name: str, spec: dict[str, Any]) -> None:
        self.custom.patch_namespaced_custom_object(
            kind.group, kind.version, self.name, kind.plural, name, {"spec": spec}
        )

    def delete_object(self, kind: ResourceKind, name: str) -> None:
        self.custom.delete_namespaced_custom_object(
            kind.group, kind.version, self.name, kind.plural, name
        )

    def phases(self) -> dict[str, str | None]:
        return {
            d["metadata"]["name"]: (d.get("status") or {}).get("phase")
            for d in self.list(DEPLOYMENT)
        }

    def wait_phase(self, name: str, phase: str, timeout: float = 30.0) -> dict[str, Any]:
        def probe() -> dict[str, Any] | None:
            body = self.get(DEPLOYMENT, name)
            return body if (body.get("status") or {}).get("phase") == phase else None

        return wait_for(probe, timeout, what=f"deployment {name} to be {phase}")


def delete_namespace(api: client.ApiClient, name: str, wait: float | None = None) -> None:
    """Delete a namespace; with ``wait``, return only once it and its objects are gone (a
    benchmark's next run must not share the API server with this one's teardown)."""
    core = client.CoreV1Api(api)
    try:
        core.delete_namespace(name)
    except ApiException as error:
        if error.status != 404:
            raise
    if wait is not None:
        wait_for(lambda: not _exists(core, name), wait, what=f"{name} to be deleted")


def _exists(core: client.CoreV1Api, namespace: str) -> bool:
    try:
        core.read_namespace(namespace)
    except ApiException as error:
        if error.status == 404:
            return False
        raise
    return True
