"""A user never sees or changes anything outside their organization (invariant 4).

Organization B's members ask for organization A's objects by name: every answer is the one a
name that exists nowhere gets, so not even existence leaks.
"""

import pytest

from tests.api.support import Api, Org


@pytest.fixture
def orgs(api: Api) -> tuple[Org, Org]:
    a = api.organization()
    b = api.second_organization(a)
    api.cluster(a.developer, "secret-cluster")
    api.deployment(a.developer, "secret-deployment", "secret-cluster")
    return a, b


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/clusters/{}-cluster"),
        ("GET", "/deployments/{}-deployment"),
        ("DELETE", "/deployments/{}-deployment"),
    ],
)
def test_another_organizations_object_answers_as_if_absent(
    api: Api, orgs: tuple[Org, Org], method: str, path: str
) -> None:
    a, b = orgs
    theirs = api.call(method, path.format("secret"), b.admin)
    nowhere = api.call(method, path.format("missing"), b.admin)
    assert theirs.status_code == nowhere.status_code == 404
    assert theirs.json()["message"] == nowhere.json()["message"].replace("missing", "secret")
    # ...and A's object is untouched.
    assert (
        api.call("GET", path.format("secret").replace("DELETE", "GET"), a.viewer).status_code == 200
    )


def test_lists_show_only_the_callers_organization(api: Api, orgs: tuple[Org, Org]) -> None:
    _a, b = orgs
    assert api.call("GET", "/clusters", b.viewer).json()["clusters"] == []
    assert api.call("GET", "/deployments", b.viewer).json()["deployments"] == []


def test_deploying_to_another_organizations_cluster_is_refused(
    api: Api, orgs: tuple[Org, Org]
) -> None:
    _a, b = orgs
    answer = api.call(
        "POST",
        "/create_deployment",
        b.developer,
        json={
            "name": "d",
            "cluster_name": "secret-cluster",
            "cpu": 1,
            "ram": 1,
            "gpu": 0,
            "docker_path": "img",
        },
    )
    assert answer.status_code == 422
    assert answer.json()["errors"] == [{"field": "cluster_name", "message": "no such cluster"}]


def test_names_are_per_organization(api: Api, orgs: tuple[Org, Org]) -> None:
    a, b = orgs
    api.cluster(b.developer, "secret-cluster", cpu=2)
    mine = api.call("GET", "/clusters/secret-cluster", b.viewer).json()["cluster"]
    theirs = api.call("GET", "/clusters/secret-cluster", a.viewer).json()["cluster"]
    assert (mine["total_cpu"], theirs["total_cpu"]) == (2, 10)


def test_role_changes_reach_only_members(api: Api, orgs: tuple[Org, Org]) -> None:
    a, b = orgs
    theirs = api.call(
        "POST", "/update_role", b.admin, json={"user_id": a.viewer.id, "role": "ADMIN"}
    )
    nobody = api.call("POST", "/update_role", b.admin, json={"user_id": 999999, "role": "ADMIN"})
    assert theirs.status_code == nobody.status_code == 404
    assert api.call("GET", "/me", a.viewer).json()["user"]["role"] == "VIEWER"


def test_the_invite_code_is_shown_to_admins_only(api: Api, orgs: tuple[Org, Org]) -> None:
    a, _b = orgs
    for caller, shown in [(a.admin, True), (a.developer, False), (a.viewer, False)]:
        organization = api.call("GET", "/me", caller).json()["user"]["organization"]
        assert (organization["invite_code"] == a.invite_code) is shown
