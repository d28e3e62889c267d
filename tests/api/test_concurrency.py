"""Races through the HTTP API: the database decides, and losers get 409, never 500."""

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

from tests.api.support import PASSWORD, Api

PARALLEL = 8


def _all_at_once(
    api: Api, requests: list[tuple[str, str, dict[str, Any], dict[str, str]]]
) -> list[httpx.Response]:
    barrier = threading.Barrier(len(requests))

    def send(request: tuple[str, str, dict[str, Any], dict[str, str]]) -> httpx.Response:
        method, path, body, headers = request
        barrier.wait()
        response: httpx.Response = api.client.request(method, path, json=body, headers=headers)
        return response

    with ThreadPoolExecutor(len(requests)) as pool:
        return list(pool.map(send, requests))


def test_parallel_registration_of_one_name(api: Api) -> None:
    body = {"username": "racer", "password": PASSWORD}
    answers = _all_at_once(api, [("POST", "/register", body, {})] * PARALLEL)
    assert Counter(a.status_code for a in answers) == {201: 1, 409: PARALLEL - 1}


def test_parallel_first_users(api: Api) -> None:
    answers = _all_at_once(
        api,
        [
            ("POST", "/register", {"username": f"u{i}", "password": PASSWORD}, {})
            for i in range(PARALLEL)
        ],
    )
    assert {a.status_code for a in answers} == {201}
    roles = Counter(a.json()["user"]["role"] for a in answers)
    assert roles == {"ADMIN": 1, "VIEWER": PARALLEL - 1}


def test_two_admins_demoting_each_other_leave_one(api: Api) -> None:
    org = api.organization()
    second = api.member(org.invite_code, org.admin, "ADMIN")
    answers = _all_at_once(
        api,
        [
            ("POST", "/update_role", {"user_id": second.id, "role": "VIEWER"}, org.admin.headers),
            ("POST", "/update_role", {"user_id": org.admin.id, "role": "VIEWER"}, second.headers),
        ],
    )
    # The loser is refused either as no longer an ADMIN (403) or as the last one (409).
    statuses = sorted(a.status_code for a in answers)
    assert statuses in ([200, 403], [200, 409])
    roles = [api.call("GET", "/me", c).json()["user"]["role"] for c in (org.admin, second)]
    assert sorted(roles) == ["ADMIN", "VIEWER"]


def test_parallel_organizations_of_one_name(api: Api) -> None:
    org = api.organization()
    admins = [api.member(org.invite_code, org.admin, "ADMIN") for _ in range(3)]
    answers = _all_at_once(
        api, [("POST", "/create_organization", {"name": "contested"}, a.headers) for a in admins]
    )
    assert Counter(a.status_code for a in answers) == {201: 1, 409: 2}


def test_parallel_organizations_of_different_names(api: Api) -> None:
    org = api.organization()
    admins = [api.member(org.invite_code, org.admin, "ADMIN") for _ in range(3)]
    answers = _all_at_once(
        api,
        [
            ("POST", "/create_organization", {"name": f"team{i}"}, a.headers)
            for i, a in enumerate(admins)
        ],
    )
    assert [a.status_code for a in answers] == [201] * 3
    assert len({a.json()["organization"]["namespace"] for a in answers}) == 3


def test_parallel_deployments_of_one_name(api: Api) -> None:
    org = api.organization()
    api.cluster(org.developer)
    body = {"name": "same", "cluster_name": "c1", "cpu": 1, "ram": 1, "gpu": 1, "docker_path": "x"}
    answers = _all_at_once(api, [("POST", "/create_deployment", body, org.developer.headers)] * 4)
    assert Counter(a.status_code for a in answers) == {201: 1, 409: 3}


def test_a_promotion_racing_a_join_through_the_api_never_makes_an_admin_there(api: Api) -> None:
    """Finding 1 through the HTTP API: the ADMIN of A promotes X while X joins B."""
    org = api.organization()
    other = api.second_organization(org)
    for _ in range(6):
        target = api.member(org.invite_code, org.admin, "VIEWER")
        answers = _all_at_once(
            api,
            [
                (
                    "POST",
                    "/update_role",
                    {"user_id": target.id, "role": "ADMIN"},
                    org.admin.headers,
                ),
                ("POST", "/join_organization", {"invite_code": other.invite_code}, target.headers),
            ],
        )
        assert {a.status_code for a in answers} <= {200, 404}, [a.text for a in answers]
        me = api.call("GET", "/me", target).json()["user"]
        assert me["organization"]["namespace"] == other.namespace
        assert me["role"] == "VIEWER"
