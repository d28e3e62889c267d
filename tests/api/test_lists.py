"""``GET /deployments`` and ``GET /clusters`` from the watch cache: filters and pages."""

from typing import Any

import pytest
from harness.kube import wait_for

from tests.api.support import Api, Org


@pytest.fixture
def org(api: Api) -> Org:
    return api.organization()


def _names(answer: Any) -> list[str]:
    return [item["name"] for item in answer.json()["deployments"]]


def test_filters_by_cluster_phase_and_priority(api: Api, org: Org) -> None:
    api.cluster(org.developer, "a")
    api.cluster(org.developer, "b")
    api.deployment(org.developer, "a-high", "a", priority=1)
    api.deployment(org.developer, "a-low", "a", priority=0)
    api.deployment(org.developer, "b-high", "b", priority=1)
    api.set_deployment_status(org, "a-high", {"phase": "Running"})

    def listed(**params: Any) -> list[str]:
        return _names(api.call("GET", "/deployments", org.viewer, params=params))

    wait_for(lambda: listed(phase="Running") == ["a-high"], timeout=10, what="the status write")
    assert listed(cluster="a") == ["a-high", "a-low"]
    assert listed(priority=1) == ["a-high", "b-high"]
    assert listed(cluster="a", priority=1, phase="Running") == ["a-high"]
    assert listed(phase="Pending") == ["a-low", "b-high"]
    assert listed(cluster="nowhere") == []


def test_pages_cover_every_deployment_once_in_name_order(api: Api, org: Org) -> None:
    api.cluster(org.developer, "c1")
    for name in ("d5", "d1", "d4", "d2", "d3"):
        api.deployment(org.developer, name, "c1")
    first = api.call("GET", "/deployments", org.viewer, params={"limit": 2}).json()
    assert [d["name"] for d in first["deployments"]] == ["d1", "d2"]
    # Changes between pages shift nothing: d2 (already sent) goes, d0 sorts before the token.
    assert api.call("DELETE", "/deployments/d2", org.developer).status_code == 200
    api.deployment(org.developer, "d0", "c1")
    seen = [d["name"] for d in first["deployments"]]
    token = first["continue"]
    while token:
        page = api.call(
            "GET", "/deployments", org.viewer, params={"limit": 2, "continue": token}
        ).json()
        seen += [d["name"] for d in page["deployments"]]
        token = page["continue"]
    assert seen == ["d1", "d2", "d3", "d4", "d5"]


def test_the_original_shapes_are_kept_and_only_grow(api: Api, org: Org) -> None:
    api.cluster(org.developer, "c1")
    api.deployment(org.developer, "d1", "c1")
    deployments = api.call("GET", "/deployments", org.viewer).json()
    assert set(deployments) == {"message", "deployments", "continue"}
    assert deployments["continue"] is None
    one = api.call("GET", "/deployments/d1", org.viewer).json()["deployment"]
    assert deployments["deployments"] == [one]
    clusters = api.call("GET", "/clusters", org.viewer).json()
    assert set(clusters) == {"message", "clusters", "continue"}
    assert [c["name"] for c in clusters["clusters"]] == ["c1"]


def test_cluster_pages(api: Api, org: Org) -> None:
    for name in ("c3", "c1", "c2"):
        api.cluster(org.developer, name)
    first = api.call("GET", "/clusters", org.viewer, params={"limit": 2}).json()
    assert [c["name"] for c in first["clusters"]] == ["c1", "c2"]
    rest = api.call(
        "GET", "/clusters", org.viewer, params={"limit": 2, "continue": first["continue"]}
    ).json()
    assert [c["name"] for c in rest["clusters"]] == ["c3"]
    assert rest["continue"] is None


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"phase": "Sleeping"}, "phase"),
        ({"priority": 2}, "priority"),
        ({"cluster": "Not_A_Name"}, "cluster"),
        ({"limit": 0}, "limit"),
        ({"limit": "many"}, "limit"),
        ({"continue": "not-a-token"}, "continue"),
        ({"continue": "eyJhZnRlciI6IDF9"}, "continue"),
    ],
)
def test_bad_list_parameters_name_the_field(
    api: Api, org: Org, params: dict[str, Any], field: str
) -> None:
    answer = api.call("GET", "/deployments", org.viewer, params=params)
    assert answer.status_code == 422
    assert [error["field"] for error in answer.json()["errors"]] == [field]


def test_a_cluster_queue_shows_the_reason_and_the_estimated_start(api: Api, org: Org) -> None:
    api.cluster(org.developer, "c1")
    api.deployment(org.developer, "d1", "c1")
    status = {
        "phase": "Queued",
        "queuePosition": 1,
        "queuedAt": "2030-01-01T00:00:00.000Z",
        "message": "waits for 4 cpu",
        "estimatedStartAt": "2030-01-01T00:05:00.000Z",
    }
    api.set_deployment_status(org, "d1", status)

    def queue() -> list[dict[str, Any]] | None:
        found: list[dict[str, Any]] = api.call("GET", "/clusters/c1", org.viewer).json()["cluster"][
            "queue"
        ]
        return found or None

    entry = wait_for(queue, timeout=10, what="the queue")[0]
    assert entry["message"] == "waits for 4 cpu"
    assert entry["estimated_start_at"] == "2030-01-01T00:05:00Z"
