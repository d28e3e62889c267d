"""Finding 5: per-organization quotas, organizations per user, registrations per client, and
an ADMIN deleting a cluster (which cancels its deployments)."""

from typing import Any

import pytest

from simplismart.api.core.config import Settings
from simplismart.api.errors import NotFoundError
from simplismart.crds import CLUSTER, DEPLOYMENT, ResourceKind
from tests.api.conftest import ApiFactory
from tests.api.support import PASSWORD, Api


def _quotas(api: Api, **changes: int) -> dict[str, object]:
    settings: Settings = api.backend.settings
    return {"quotas": settings.quotas.model_copy(update=changes)}


def _with_quotas(api_with: ApiFactory, **changes: int) -> Api:
    probe = api_with()
    return api_with(**_quotas(probe, **changes))


def _create_cluster(api: Api, caller: object, name: str, cpu: int = 1) -> int:
    body = {"name": name, "total_cpu": cpu, "total_ram": 1, "total_gpu": 0}
    return api.call("POST", "/create_cluster", caller, json=body).status_code  # type: ignore[arg-type]


def test_the_defaults_allow_a_real_organization() -> None:
    quotas = Settings.from_env({"SIMPLISMART_DEV_MODE": "1"}).quotas
    assert quotas.deployments >= 10_000
    assert quotas.clusters >= 100


def test_clusters_beyond_the_quota_are_refused(api_with: ApiFactory) -> None:
    api = _with_quotas(api_with, clusters=2)
    org = api.organization()
    statuses = [_create_cluster(api, org.developer, f"c{index}") for index in range(3)]
    assert statuses == [201, 201, 409]
    assert len(api.call("GET", "/clusters", org.viewer).json()["clusters"]) == 2


def test_a_cluster_over_the_capacity_quota_is_refused_naming_the_field(
    api_with: ApiFactory,
) -> None:
    api = _with_quotas(api_with, cpu=100)
    org = api.organization()
    assert _create_cluster(api, org.developer, "c1", cpu=60) == 201
    body = {"name": "c2", "total_cpu": 60, "total_ram": 1, "total_gpu": 0}
    answer = api.call("POST", "/create_cluster", org.developer, json=body)
    assert answer.status_code == 409
    assert [e["field"] for e in answer.json()["errors"]] == ["total_cpu"]
    assert len(api.call("GET", "/clusters", org.viewer).json()["clusters"]) == 1


def test_deployments_beyond_the_quota_are_refused(api_with: ApiFactory) -> None:
    api = _with_quotas(api_with, deployments=2)
    org = api.organization()
    api.cluster(org.developer, "c1")
    api.deployment(org.developer, "d1")
    api.deployment(org.developer, "d2")
    body = {"name": "d3", "cluster_name": "c1", "cpu": 1, "ram": 1, "gpu": 0, "priority": 0}
    answer = api.call(
        "POST", "/create_deployment", org.developer, json={**body, "docker_path": "img"}
    )
    assert answer.status_code == 409
    assert "quota" in answer.json()["message"]


def test_one_user_founds_a_limited_number_of_organizations(api_with: ApiFactory) -> None:
    api = _with_quotas(api_with, organizations_per_user=1)
    founder = api.user()
    first = api.call("POST", "/create_organization", founder, json={"name": "one"})
    second = api.call("POST", "/create_organization", founder, json={"name": "two"})
    assert (first.status_code, second.status_code) == (201, 409)


def test_registrations_per_client_are_limited(api_with: ApiFactory) -> None:
    api = _with_quotas(api_with, registrations_per_client=3)
    statuses = [
        api.call(
            "POST", "/register", json={"username": f"bulk{index}", "password": PASSWORD}
        ).status_code
        for index in range(4)
    ]
    assert statuses == [201, 201, 201, 429]


def test_an_admin_deletes_a_cluster_and_its_deployments_are_cancelled(api: Api) -> None:
    org = api.organization()
    api.cluster(org.developer, "c1")
    api.cluster(org.developer, "c2")
    api.deployment(org.developer, "d1", "c1")
    api.deployment(org.developer, "d2", "c1")
    api.deployment(org.developer, "keep", "c2")
    refused = api.call("DELETE", "/clusters/c1", org.developer)
    assert refused.status_code == 403
    answer = api.call("DELETE", "/clusters/c1", org.admin)
    assert answer.status_code == 200, answer.text
    assert answer.json()["cancelled_deployments"] == ["d1", "d2"]
    assert api.call("GET", "/clusters/c1", org.viewer).status_code == 404
    left = [d["name"] for d in api.call("GET", "/deployments", org.viewer).json()["deployments"]]
    assert left == ["keep"]
    assert api.call("DELETE", "/clusters/c1", org.admin).status_code == 404


def test_deleting_a_cluster_again_finishes_a_deletion_the_api_could_not(api: Api) -> None:
    """The API restarted between deleting the cluster and cancelling its deployments: they are
    left waiting for a cluster that is gone, and the retry must cancel them, not answer 404."""
    org = api.organization()
    api.cluster(org.developer, "c1")
    api.cluster(org.developer, "c2")
    api.deployment(org.developer, "d1", "c1")
    api.deployment(org.developer, "keep", "c2")
    api.backend.kube.delete_object(CLUSTER, org.namespace, "c1")  # where the API stopped
    answer = api.call("DELETE", "/clusters/c1", org.admin)
    assert answer.status_code == 200, answer.text
    assert (answer.json()["cluster"], answer.json()["cancelled_deployments"]) == (None, ["d1"])
    left = [d["name"] for d in api.call("GET", "/deployments", org.viewer).json()["deployments"]]
    assert left == ["keep"]
    assert api.call("DELETE", "/clusters/c1", org.admin).status_code == 404


def test_a_deployment_created_as_its_cluster_is_deleted_is_not_left_behind(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``DELETE /clusters`` lands between a submission's check for the cluster and its
    creation, and lists the deployments before the new one exists."""
    org = api.organization()
    api.cluster(org.developer, "c1")
    kube = api.backend.kube
    create = kube.create_object

    def create_as_the_cluster_goes(kind: ResourceKind, *args: Any, **kwargs: Any) -> Any:
        if kind is DEPLOYMENT:
            kube.delete_object(CLUSTER, org.namespace, "c1")
        return create(kind, *args, **kwargs)

    monkeypatch.setattr(kube, "create_object", create_as_the_cluster_goes)
    body = {"name": "d1", "cluster_name": "c1", "cpu": 1, "ram": 1, "gpu": 0}
    answer = api.call(
        "POST", "/create_deployment", org.developer, json={**body, "docker_path": "img"}
    )
    assert answer.status_code == 422, answer.text
    assert "no cluster named 'c1'" in answer.json()["message"]
    with pytest.raises(NotFoundError):
        kube.get_object(DEPLOYMENT, org.namespace, "d1")
