"""Names of the API group, its version and its kinds: the coordinates every client needs."""

from dataclasses import dataclass

GROUP = "simplismart.io"
VERSION = "v1alpha1"


@dataclass(frozen=True, slots=True)
class ResourceKind:
    """One kind of the group, with the names the Kubernetes API addresses it by."""

    kind: str
    plural: str

    @property
    def group(self) -> str:
        return GROUP

    @property
    def version(self) -> str:
        return VERSION

    @property
    def api_version(self) -> str:
        return f"{GROUP}/{VERSION}"


CLUSTER = ResourceKind(kind="Cluster", plural="clusters")
DEPLOYMENT = ResourceKind(kind="Deployment", plural="deployments")
