"""The contract between users, the operator and the API: Simplismart's custom resources.

The CRD YAML in this package is what the API server enforces; the models here are the typed
Python view of the same schema, so that the operator and the API read and write one shape.
A test keeps the two in agreement.
"""

from simplismart.crds.manifests import crd_documents, crd_paths
from simplismart.crds.models import (
    ClusterSpec,
    ClusterStatus,
    Condition,
    DeploymentSpec,
    DeploymentStatus,
    Phase,
    PreemptionPolicy,
    Priority,
    Resources,
    RunDuration,
    SchedulingSpec,
    SchedulingStrategy,
)
from simplismart.crds.names import (
    CLUSTER,
    DEPLOYMENT,
    GROUP,
    VERSION,
    ResourceKind,
)
from simplismart.crds.timestamps import format_time, now, parse_time

__all__ = [
    "CLUSTER",
    "DEPLOYMENT",
    "GROUP",
    "VERSION",
    "ClusterSpec",
    "ClusterStatus",
    "Condition",
    "DeploymentSpec",
    "DeploymentStatus",
    "Phase",
    "PreemptionPolicy",
    "Priority",
    "ResourceKind",
    "Resources",
    "RunDuration",
    "SchedulingSpec",
    "SchedulingStrategy",
    "crd_documents",
    "crd_paths",
    "format_time",
    "now",
    "parse_time",
]
