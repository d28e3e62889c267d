"""Per-organization quotas on Kubernetes objects: clusters, deployments and total capacity.

Checked by the API before it creates an object. Counting uses a one-item list and the API
server's ``remainingItemCount``, so an organization of tens of thousands of deployments costs one
small request, not a full listing. Two creations racing at the very limit may both pass; the
quota is a ceiling against abuse (10^9-CPU clusters, endless objects), not an accounting system.
"""

from simplismart.api.core.config import Quotas
from simplismart.api.errors import ConflictError, field_error
from simplismart.api.kube import Kube
from simplismart.crds import CLUSTER, DEPLOYMENT, ClusterSpec, Resources

_CAPACITY_FIELDS = {"cpu": "total_cpu", "ram": "total_ram", "gpu": "total_gpu"}


def check_cluster_quota(kube: Kube, namespace: str, quotas: Quotas, new: Resources) -> None:
    """Refuse a cluster beyond the count, or one taking the total capacity over its quota."""
    clusters = kube.list_objects(CLUSTER, namespace)
    if len(clusters) >= quotas.clusters:
        raise ConflictError(
            f"your organization has {len(clusters)} clusters, its quota "
            f"(SIMPLISMART_QUOTA_CLUSTERS = {quotas.clusters}); delete one first"
        )
    existing = Resources.total(
        ClusterSpec.model_validate(item["spec"]).resources for item in clusters
    )
    limits = {"cpu": quotas.cpu, "ram": quotas.ram, "gpu": quotas.gpu}
    over = [
        name
        for name, amount in new.as_dict().items()
        if existing.as_dict()[name] + amount > limits[name]
    ]
    if over:
        raise ConflictError(
            "this cluster would take your organization's total capacity over its quota",
            [
                field_error(
                    _CAPACITY_FIELDS[name],
                    f"your clusters already total {existing.as_dict()[name]}; the quota is "
                    f"{limits[name]} (SIMPLISMART_QUOTA_{name.upper()})",
                )
                for name in over
            ],
        )


def check_deployment_quota(kube: Kube, namespace: str, quotas: Quotas) -> None:
    count = kube.count_objects(DEPLOYMENT, namespace)
    if count >= quotas.deployments:
        raise ConflictError(
            f"your organization has {count} deployments, its quota "
            f"(SIMPLISMART_QUOTA_DEPLOYMENTS = {quotas.deployments}); cancel some first"
        )
