"""Every endpoint under every role: anonymous, no organization, VIEWER, DEVELOPER, ADMIN."""

from dataclasses import dataclass
from typing import Any

import pytest

from tests.api.support import Api, Caller, Org

ROLES = ("anonymous", "no_org", "VIEWER", "DEVELOPER", "ADMIN")


@dataclass
class World:
    org: Org
    outsider: Caller
    other: Org

    def caller(self, role: str) -> Caller | None:
        return {
            "anonymous": None,
            "no_org": self.outsider,
            "VIEWER": self.org.viewer,
            "DEVELOPER": self.org.developer,
            "ADMIN": self.org.admin,
        }[role]


@pytest.fixture
def world(api: Api) -> World:
    org = api.organization()
    # A second ADMIN, so that the first may leave (create or join another organization).
    api.member(org.invite_code, org.admin, "ADMIN")
    other = api.second_organization(org)
    api.cluster(org.developer, "c1")
    api.deployment(org.developer, "d1", "c1")
    return World(org=org, outsider=api.user(), other=other)


def body(endpoint: str, world: World) -> dict[str, Any] | None:
    bodies: dict[str, dict[str, Any]] = {
        "/update_role": {"user_id": world.org.viewer.id, "role": "VIEWER"},
        "/create_organization": {"name": "new-org"},
        "/join_organization": {"invite_code": world.other.invite_code},
        "/create_cluster": {"name": "c2", "total_cpu": 1, "total_ram": 1, "total_gpu": 1},
        "/create_deployment": {
            "name": "d2",
            "cluster_name": "c1",
            "cpu": 1,
            "ram": 1,
            "gpu": 0,
            "priority": 0,
            "docker_path": "img",
        },
        "/register": {"username": "newcomer", "password": "long enough"},
        "/login": {"username": world.org.viewer.username, "password": "correct horse battery"},
        "/remove_member": {"user_id": world.org.viewer.id},
        "/change_password": {
            "current_password": "correct horse battery",
            "new_password": "a new horse battery",
        },
    }
    return bodies.get(endpoint)


# (method, path): expected status for anonymous, no_org, VIEWER, DEVELOPER, ADMIN.
MATRIX = {
    ("POST", "/register"): (201, 201, 201, 201, 201),
    ("POST", "/login"): (200, 200, 200, 200, 200),
    ("GET", "/me"): (401, 200, 200, 200, 200),
    ("POST", "/update_role"): (401, 403, 403, 403, 200),
    ("POST", "/create_organization"): (401, 403, 403, 403, 201),
    ("POST", "/join_organization"): (401, 200, 200, 200, 200),
    ("POST", "/rotate_invite_code"): (401, 403, 403, 403, 200),
    ("POST", "/create_cluster"): (401, 403, 403, 201, 201),
    ("GET", "/clusters"): (401, 403, 200, 200, 200),
    ("GET", "/clusters/c1"): (401, 403, 200, 200, 200),
    ("POST", "/create_deployment"): (401, 403, 403, 201, 201),
    ("GET", "/deployments"): (401, 403, 200, 200, 200),
    ("GET", "/deployments/d1"): (401, 403, 200, 200, 200),
    ("DELETE", "/deployments/d1"): (401, 403, 403, 200, 200),
    ("GET", "/healthz"): (200, 200, 200, 200, 200),
    ("GET", "/members"): (401, 403, 403, 403, 200),
    ("POST", "/remove_member"): (401, 403, 403, 403, 200),
    ("POST", "/leave_organization"): (401, 409, 200, 200, 200),
    ("POST", "/logout"): (401, 200, 200, 200, 200),
    ("POST", "/change_password"): (401, 200, 200, 200, 200),
    ("DELETE", "/clusters/c1"): (401, 403, 403, 403, 200),
}

CASES = [
    pytest.param(method, path, role, codes[index], id=f"{method} {path} as {role}")
    for (method, path), codes in MATRIX.items()
    for index, role in enumerate(ROLES)
]


@pytest.mark.parametrize(("method", "path", "role", "expected"), CASES)
def test_role_matrix(
    api: Api, world: World, method: str, path: str, role: str, expected: int
) -> None:
    answer = api.call(method, path, world.caller(role), json=body(path, world))
    assert answer.status_code == expected, answer.text
    assert "message" in answer.json()
    if expected == 401:
        assert answer.headers["WWW-Authenticate"] == "Bearer"
    if role == "no_org" and expected == 403 and path != "/create_organization":
        # Every route that acts in an organization says that first, whatever the role.
        assert "join" in answer.json()["message"], answer.text


def test_an_admin_of_no_organization_is_told_to_join_one(api: Api) -> None:
    founder = api.user()  # the first user: ADMIN, but of no organization yet
    for method, path in [
        ("GET", "/clusters"),
        ("GET", "/deployments"),
        ("POST", "/rotate_invite_code"),
    ]:
        answer = api.call(method, path, founder)
        assert answer.status_code == 403
        assert "join" in answer.json()["message"]
