"""The local control plane is a real Kubernetes: CRDs, custom resources, and Pods on kwok nodes."""

import subprocess
import time
import uuid
from pathlib import Path

import pytest
from harness.kube import api_client as harness_client
from harness.kube import as_json
from kubernetes import client

pytestmark = pytest.mark.integration

WIDGET_CRD = """
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.harness.simplismart.io}
spec:
  group: harness.simplismart.io
  scope: Namespaced
  names: {kind: Widget, plural: widgets, singular: widget}
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema:
          type: object
          properties:
            spec:
              type: object
              properties:
                size: {type: integer, minimum: 1}
"""


def kubectl_apply(kubeconfig: str, manifest: str) -> None:
    subprocess.run(
        ["kubectl", f"--kubeconfig={kubeconfig}", "apply", "-f", "-"],
        input=manifest,
        text=True,
        check=True,
        capture_output=True,
    )


@pytest.fixture
def api_client(kubeconfig: str) -> client.ApiClient:
    return harness_client(kubeconfig)


def test_server_reports_its_pinned_version(api_client: client.ApiClient) -> None:
    version = client.VersionApi(api_client).get_code()
    go_mod = Path(__file__).parents[2] / "hack/tools/kubernetes/go.mod"
    words = (line.removeprefix("require").split() for line in go_mod.read_text().splitlines())
    pinned = next(w[1] for w in words if len(w) >= 2 and w[0] == "k8s.io/kubernetes")
    assert version.git_version == pinned


def test_applied_crd_and_custom_resource_read_back(
    kubeconfig: str, api_client: client.ApiClient
) -> None:
    kubectl_apply(kubeconfig, WIDGET_CRD)
    subprocess.run(
        ["kubectl", f"--kubeconfig={kubeconfig}", "wait", "--for=condition=Established",
         "crd/widgets.harness.simplismart.io", "--timeout=30s"],
        check=True, capture_output=True,
    )  # fmt: skip
    name = f"w-{uuid.uuid4().hex[:8]}"
    kubectl_apply(
        kubeconfig,
        f"apiVersion: harness.simplismart.io/v1\nkind: Widget\n"
        f"metadata: {{name: {name}, namespace: default}}\nspec: {{size: 3}}\n",
    )
    widget = as_json(
        client.CustomObjectsApi(api_client).get_namespaced_custom_object(
            "harness.simplismart.io", "v1", "default", "widgets", name
        )
    )
    assert widget["spec"] == {"size": 3}
    # The schema is enforced by the server, not by the client.
    with pytest.raises(subprocess.CalledProcessError) as refused:
        kubectl_apply(
            kubeconfig,
            "apiVersion: harness.simplismart.io/v1\nkind: Widget\n"
            "metadata: {name: too-small, namespace: default}\nspec: {size: 0}\n",
        )
    assert "spec.size" in refused.value.stderr


def test_deployment_pod_becomes_ready_on_a_kwok_node(api_client: client.ApiClient) -> None:
    apps, core = client.AppsV1Api(api_client), client.CoreV1Api(api_client)
    name = f"web-{uuid.uuid4().hex[:8]}"
    labels = {"app": name}
    apps.create_namespaced_deployment(
        "default",
        client.V1Deployment(
            metadata=client.V1ObjectMeta(name=name),
            spec=client.V1DeploymentSpec(
                replicas=1,
                selector=client.V1LabelSelector(match_labels=labels),
                template=client.V1PodTemplateSpec(
                    metadata=client.V1ObjectMeta(labels=labels),
                    spec=client.V1PodSpec(
                        containers=[client.V1Container(name="web", image="nginx:1.27")]
                    ),
                ),
            ),
        ),
    )
    try:
        deadline = time.monotonic() + 90
        ready_pods: list[client.V1Pod] = []
        while time.monotonic() < deadline and not ready_pods:
            pods = core.list_namespaced_pod("default", label_selector=f"app={name}").items
            ready_pods = [pod for pod in pods if _ready(pod)]
            time.sleep(0.5)
        assert ready_pods, "no Pod of the Deployment became Ready"
        (pod, *_) = ready_pods
        assert pod.spec is not None
        assert pod.spec.node_name == "kwok-node-0"
    finally:
        apps.delete_namespaced_deployment(name, "default")


def _ready(pod: client.V1Pod) -> bool:
    conditions = (pod.status and pod.status.conditions) or []
    return any(c.type == "Ready" and c.status == "True" for c in conditions)
