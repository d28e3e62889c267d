"""End to end through one organization: the original README's walk-through."""

from tests.api.support import Api


def test_walkthrough(api: Api) -> None:
    org = api.organization()
    cluster = api.cluster(org.developer)
    assert cluster["name"] == "c1"
    assert cluster["total_cpu"] == 10
    deployment = api.deployment(org.developer)
    assert deployment["phase"] == "Pending"
    listed = api.call("GET", "/deployments", org.viewer)
    assert listed.status_code == 200
    assert [d["name"] for d in listed.json()["deployments"]] == ["d1"]
