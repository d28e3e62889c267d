"""The API server itself refuses bad Clusters and Deployments, with a message naming the field."""

import subprocess

import pytest
from harness.kube import Namespace

from simplismart.crds import DEPLOYMENT

pytestmark = pytest.mark.integration


def apply(kubeconfig: str, namespace: Namespace, manifest: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["kubectl", f"--kubeconfig={kubeconfig}", "-n", namespace.name, "apply", "-f", "-"],
        input=manifest, capture_output=True, text=True, check=False,
    )  # fmt: skip


def deployment(name: str, body: str) -> str:
    return (
        "apiVersion: simplismart.io/v1alpha1\nkind: Deployment\n"
        f"metadata: {{name: {name}}}\nspec: {body}\n"
    )


@pytest.mark.parametrize(
    ("spec", "complaint"),
    [
        ("{cluster: c, image: i, resources: {cpu: -1, ram: 1, gpu: 0}}", "spec.resources.cpu"),
        (
            "{cluster: c, image: i, priority: 2, resources: {cpu: 1, ram: 1, gpu: 0}}",
            "spec.priority",
        ),
        ("{cluster: c, image: i, resources: {cpu: 1, ram: 1}}", "spec.resources.gpu"),
        ("{cluster: c, image: i, resources: {cpu: 1.5, ram: 1, gpu: 0}}", "spec.resources.cpu"),
        ("{cluster: Bad_Name, image: i, resources: {cpu: 1, ram: 1, gpu: 0}}", "spec.cluster"),
        ("{cluster: c, resources: {cpu: 1, ram: 1, gpu: 0}}", "spec.image"),
        ('{cluster: c, image: "i\\e[31m", resources: {cpu: 1, ram: 1, gpu: 0}}', "spec.image"),
        ('{cluster: c, image: "i\\u202e", resources: {cpu: 1, ram: 1, gpu: 0}}', "spec.image"),
    ],
)
def test_bad_deployments_are_refused(
    kubeconfig: str, namespace: Namespace, spec: str, complaint: str
) -> None:
    result = apply(kubeconfig, namespace, deployment("bad", spec))
    assert result.returncode != 0
    assert complaint in result.stderr
    assert namespace.list(DEPLOYMENT) == []


def test_bad_run_duration_is_refused(kubeconfig: str, namespace: Namespace) -> None:
    result = apply(
        kubeconfig,
        namespace,
        "apiVersion: simplismart.io/v1alpha1\nkind: Cluster\nmetadata: {name: c}\n"
        "spec: {resources: {cpu: 1, ram: 1, gpu: 1}, "
        "scheduling: {runDuration: {minSeconds: 9, maxSeconds: 3}}}\n",
    )
    assert result.returncode != 0
    assert "minSeconds must not exceed" in result.stderr


@pytest.mark.parametrize("reservations", ["-1", "101", "one"])
def test_bad_reservations_are_refused(
    kubeconfig: str, namespace: Namespace, reservations: str
) -> None:
    result = apply(
        kubeconfig,
        namespace,
        "apiVersion: simplismart.io/v1alpha1\nkind: Cluster\nmetadata: {name: c}\n"
        "spec: {resources: {cpu: 1, ram: 1, gpu: 1}, "
        f"scheduling: {{reservations: {reservations}}}}}\n",
    )
    assert result.returncode != 0
    assert "spec.scheduling.reservations" in result.stderr


@pytest.mark.usefixtures("operator")
def test_an_admitted_deployment_cannot_change_cluster_or_resources(
    kubeconfig: str, namespace: Namespace
) -> None:
    namespace.cluster("c", cpu=2, ram=2, gpu=0)
    namespace.deployment("fixed", "c", cpu=1, ram=1, duration=60)
    namespace.wait_phase("fixed", "Running")
    spec = "{cluster: c, image: i, resources: {cpu: 2, ram: 1, gpu: 0}}"
    result = apply(kubeconfig, namespace, deployment("fixed", spec))
    assert result.returncode != 0
    assert "cannot change once the deployment has been admitted" in result.stderr
    assert namespace.get(DEPLOYMENT, "fixed")["spec"]["resources"]["cpu"] == 1
