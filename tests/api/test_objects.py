"""Clusters and deployments: what is created in Kubernetes and what the API reports back."""

from typing import Any

import pytest
from harness.kube import wait_for

from simplismart.crds import CLUSTER, DEPLOYMENT
from tests.api.support import Api, Org, unit_only


@pytest.fixture
def org(api: Api) -> Org:
    return api.organization()


def test_a_cluster_is_created_with_its_totals_and_strategy(api: Api, org: Org) -> None:
    answer = api.call(
        "POST",
        "/create_cluster",
        org.developer,
        json={
            "name": "gpu-pool",
            "total_cpu": 8,
            "total_ram": 64,
            "total_gpu": 2,
            "strategy": "optimal",
        },
    )
    assert answer.status_code == 201
    cluster = answer.json()["cluster"]
    assert cluster["id"]
    assert (cluster["total_cpu"], cluster["total_ram"], cluster["total_gpu"]) == (8, 64, 2)
    assert cluster["strategy"] == "optimal"
    assert cluster["observed"] is False
    stored = api.backend.kube.get_object(CLUSTER, org.namespace, "gpu-pool")
    assert stored["spec"]["resources"] == {"cpu": 8, "ram": 64, "gpu": 2}
    assert stored["spec"]["scheduling"]["strategy"] == "optimal"


def test_a_cluster_reports_allocation_and_its_queue(api: Api, org: Org) -> None:
    api.cluster(org.developer, "c1")
    for name in ("late", "early", "running"):
        api.deployment(org.developer, name, "c1")
    api.set_cluster_status(
        org,
        "c1",
        {
            "capacity": {"cpu": 10, "ram": 10, "gpu": 10},
            "allocated": {"cpu": 1, "ram": 1, "gpu": 1},
            "available": {"cpu": 9, "ram": 9, "gpu": 9},
            "queued": 2,
            "running": 1,
            "pending": 0,
        },
    )
    api.set_deployment_status(
        org,
        "early",
        {"phase": "Queued", "queuePosition": 1, "queuedAt": "2030-01-01T00:00:00.000Z"},
    )
    api.set_deployment_status(
        org, "late", {"phase": "Queued", "queuePosition": 2, "queuedAt": "2030-01-01T00:00:01.000Z"}
    )
    api.set_deployment_status(org, "running", {"phase": "Running"})

    def cluster_with_its_queue() -> dict[str, Any] | None:
        # The queue comes from the watch cache: the status writes show once the watch delivers.
        cluster: dict[str, Any] = api.call("GET", "/clusters/c1", org.viewer).json()["cluster"]
        return cluster if len(cluster["queue"]) == 2 else None

    cluster = wait_for(cluster_with_its_queue, timeout=10, what="the queue of c1")
    assert cluster["observed"] is True
    assert cluster["available"] == {"cpu": 9, "ram": 9, "gpu": 9}
    assert (cluster["queued"], cluster["running"]) == (2, 1)
    assert [entry["name"] for entry in cluster["queue"]] == ["early", "late"]
    assert [entry["position"] for entry in cluster["queue"]] == [1, 2]


def test_a_new_deployment_is_pending_until_the_operator_sees_it(api: Api, org: Org) -> None:
    api.cluster(org.developer)
    created = api.deployment(
        org.developer, "d1", docker_path="https://sampledockerpath/DockerFile", duration_seconds=5
    )
    assert created["phase"] == "Pending"
    assert created["message"] == "waiting for the operator"
    assert created["docker_path"] == "https://sampledockerpath/DockerFile"
    assert created["duration_seconds"] == 5
    stored = api.backend.kube.get_object(DEPLOYMENT, org.namespace, "d1")
    assert stored["spec"] == {
        "cluster": "c1",
        "resources": {"cpu": 1, "ram": 1, "gpu": 1},
        "priority": 1,
        "image": "https://sampledockerpath/DockerFile",
        "durationSeconds": 5,
    }


def test_a_running_deployment_shows_its_timestamps(api: Api, org: Org) -> None:
    api.cluster(org.developer)
    api.deployment(org.developer)
    status: dict[str, Any] = {
        "phase": "Running",
        "reason": "Admitted",
        "message": "running until 2030-01-01T00:00:30.000Z",
        "queuedAt": "2030-01-01T00:00:00.000Z",
        "startedAt": "2030-01-01T00:00:01.000Z",
        "expiresAt": "2030-01-01T00:00:30.000Z",
        "allocated": {"cpu": 1, "ram": 1, "gpu": 1},
    }
    api.set_deployment_status(org, "d1", status)
    answer = api.call("GET", "/deployments/d1", org.viewer)
    deployment = answer.json()["deployment"]
    assert answer.json()["message"] == "deployment 'd1' is Running"
    assert deployment["phase"] == "Running"
    assert deployment["reason"] == "Admitted"
    assert deployment["started_at"].startswith("2030-01-01T00:00:01")
    assert deployment["expires_at"].startswith("2030-01-01T00:00:30")
    assert deployment["queue_position"] is None


def test_cancelling_deletes_the_deployment(api: Api, org: Org) -> None:
    api.cluster(org.developer)
    api.deployment(org.developer)
    cancelled = api.call("DELETE", "/deployments/d1", org.developer)
    assert cancelled.status_code == 200
    assert cancelled.json()["deployment"]["name"] == "d1"
    assert api.call("GET", "/deployments/d1", org.viewer).status_code == 404
    assert api.call("DELETE", "/deployments/d1", org.developer).status_code == 404


def test_duplicate_names_are_409(api: Api, org: Org) -> None:
    api.cluster(org.developer)
    api.deployment(org.developer)
    cluster = api.call(
        "POST",
        "/create_cluster",
        org.admin,
        json={"name": "c1", "total_cpu": 1, "total_ram": 1, "total_gpu": 1},
    )
    assert cluster.status_code == 409
    assert cluster.json()["message"] == "cluster 'c1' already exists"
    assert cluster.json()["errors"] == [{"field": "name", "message": "is taken"}]
    deployment = api.call(
        "POST",
        "/create_deployment",
        org.admin,
        json={"name": "d1", "cluster_name": "c1", "cpu": 0, "ram": 0, "gpu": 0, "docker_path": "x"},
    )
    assert deployment.status_code == 409
    assert deployment.json()["errors"] == [{"field": "name", "message": "is taken"}]


def test_a_deployment_larger_than_its_cluster_names_each_field(api: Api, org: Org) -> None:
    api.cluster(org.developer, cpu=4, ram=8, gpu=0)
    answer = api.call(
        "POST",
        "/create_deployment",
        org.developer,
        json={
            "name": "big",
            "cluster_name": "c1",
            "cpu": 5,
            "ram": 8,
            "gpu": 1,
            "docker_path": "x",
        },
    )
    assert answer.status_code == 422
    assert answer.json()["errors"] == [
        {"field": "cpu", "message": "asks 5 but the cluster has 4 in total"},
        {"field": "gpu", "message": "asks 1 but the cluster has 0 in total"},
    ]
    assert api.call("GET", "/deployments", org.viewer).json()["deployments"] == []


@unit_only
def test_an_unreachable_kubernetes_is_503_and_changes_nothing(api: Api, org: Org) -> None:
    fake = api.backend.fake
    assert fake is not None
    api.cluster(org.developer)
    fake.reachable = False
    for method, path in [
        ("GET", "/clusters/c1"),
        ("GET", "/deployments/d1"),
        ("DELETE", "/deployments/d1"),
    ]:
        answer = api.call(method, path, org.developer)
        assert answer.status_code == 503
        assert "unreachable" in answer.json()["message"]
    fake.reachable = True
    assert api.call("GET", "/deployments", org.viewer).json()["deployments"] == []
