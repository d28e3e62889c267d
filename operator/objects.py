"""Typed snapshots of the custom resources as the operator reads them from the API server."""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from simplismart.crds import (
    CLUSTER,
    DEPLOYMENT,
    ClusterSpec,
    DeploymentSpec,
    DeploymentStatus,
    Phase,
    ResourceKind,
    Resources,
)


@dataclass(frozen=True, slots=True)
class ClusterRef:
    """Which cluster a scheduling pass is about: clusters are namespaced, names repeat."""

    namespace: str
    name: str

    def __str__(self) -> str:
        return f"{self.namespace}/{self.name}"


@dataclass(frozen=True, slots=True)
class ClusterObject:
    namespace: str
    name: str
    uid: str
    generation: int
    spec: ClusterSpec

    @classmethod
    def from_body(cls, body: dict[str, Any]) -> "ClusterObject":
        meta = body["metadata"]
        return cls(
            namespace=meta["namespace"],
            name=meta["name"],
            uid=meta["uid"],
            generation=meta.get("generation", 0),
            spec=ClusterSpec.model_validate(body["spec"]),
        )

    @property
    def ref(self) -> ClusterRef:
        return ClusterRef(self.namespace, self.name)

    def reference(self) -> dict[str, Any]:
        """The object reference kopf needs to post an Event about it."""
        return _reference(CLUSTER, self.namespace, self.name, self.uid)


@dataclass(frozen=True, slots=True)
class DeploymentObject:
    namespace: str
    name: str
    uid: str
    resource_version: str
    generation: int
    spec: DeploymentSpec
    status: DeploymentStatus

    @classmethod
    def from_body(cls, body: Mapping[str, Any]) -> "DeploymentObject":
        meta = body["metadata"]
        return cls(
            namespace=meta["namespace"],
            name=meta["name"],
            uid=meta["uid"],
            resource_version=meta["resourceVersion"],
            generation=meta.get("generation", 0),
            spec=DeploymentSpec.model_validate(body["spec"]),
            status=DeploymentStatus.model_validate(body.get("status") or {}),
        )

    @property
    def phase(self) -> Phase | None:
        return self.status.phase

    @property
    def held(self) -> Resources:
        """What a Running deployment holds: what it was admitted with, not today's spec."""
        return self.status.allocated or self.spec.resources

    def reference(self) -> dict[str, Any]:
        """The object reference kopf needs to post an Event about it."""
        return _reference(DEPLOYMENT, self.namespace, self.name, self.uid)


def _reference(kind: ResourceKind, namespace: str, name: str, uid: str) -> dict[str, Any]:
    return {
        "apiVersion": kind.api_version,
        "kind": kind.kind,
        "metadata": {"namespace": namespace, "name": name, "uid": uid},
    }
