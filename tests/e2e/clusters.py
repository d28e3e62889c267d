"""What the e2e tests set on a Cluster with kubectl's rights, beyond what the REST API exposes."""

from harness.kube import api_client
from kubernetes import client

from simplismart.crds import CLUSTER


def allow_preemption(kubeconfig: str, namespace: str, cluster: str) -> None:
    """Let HIGH deployments evict LOW runs on ``cluster`` (`spec.scheduling.preemption`)."""
    with api_client(kubeconfig) as kube:
        client.CustomObjectsApi(kube).patch_namespaced_custom_object(
            CLUSTER.group, CLUSTER.version, namespace, CLUSTER.plural, cluster,
            {"spec": {"scheduling": {"preemption": "LowerPriority"}}},
        )  # fmt: skip
