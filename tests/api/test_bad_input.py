"""Bad input gets a clear 4xx naming the field, in the one error shape, and changes nothing."""

import json
from typing import Any

import pytest

from tests.api.support import Api, Org

DEPLOYMENT = {
    "name": "d1",
    "cluster_name": "c1",
    "cpu": 1,
    "ram": 1,
    "gpu": 0,
    "priority": 1,
    "docker_path": "img",
}
CLUSTER = {"name": "c2", "total_cpu": 1, "total_ram": 1, "total_gpu": 1}


@pytest.fixture
def org(api: Api) -> Org:
    org = api.organization()
    api.cluster(org.developer, "c1")
    return org


def _with(base: dict[str, Any], **changes: Any) -> dict[str, Any]:
    body = {**base, **changes}
    return {key: value for key, value in body.items() if value is not ...}


INVALID = [
    # (path, body, field at fault)
    ("/create_deployment", _with(DEPLOYMENT, cpu=-1), "cpu"),
    ("/create_deployment", _with(DEPLOYMENT, ram="2"), "ram"),
    ("/create_deployment", _with(DEPLOYMENT, gpu=1.5), "gpu"),
    ("/create_deployment", _with(DEPLOYMENT, cpu=True), "cpu"),
    ("/create_deployment", _with(DEPLOYMENT, cpu=10**30), "cpu"),
    ("/create_deployment", _with(DEPLOYMENT, cpu=None), "cpu"),
    ("/create_deployment", _with(DEPLOYMENT, priority=2), "priority"),
    ("/create_deployment", _with(DEPLOYMENT, priority="HIGH"), "priority"),
    ("/create_deployment", _with(DEPLOYMENT, name="Not_A_DNS_Name"), "name"),
    ("/create_deployment", _with(DEPLOYMENT, name="x" * 64), "name"),
    ("/create_deployment", _with(DEPLOYMENT, name=""), "name"),
    ("/create_deployment", _with(DEPLOYMENT, cluster_name="-c1"), "cluster_name"),
    ("/create_deployment", _with(DEPLOYMENT, docker_path=""), "docker_path"),
    ("/create_deployment", _with(DEPLOYMENT, docker_path="   "), "docker_path"),
    ("/create_deployment", _with(DEPLOYMENT, docker_path="img\u001b[31m"), "docker_path"),
    ("/create_deployment", _with(DEPLOYMENT, docker_path="img\nline"), "docker_path"),
    ("/create_deployment", _with(DEPLOYMENT, docker_path="img\u202e"), "docker_path"),
    ("/create_deployment", _with(DEPLOYMENT, docker_path="registry/😀" * 100), "docker_path"),
    ("/create_deployment", _with(DEPLOYMENT, docker_path="my image"), "docker_path"),
    ("/create_deployment", _with(DEPLOYMENT, duration_seconds=0), "duration_seconds"),
    ("/create_deployment", _with(DEPLOYMENT, cpu=...), "cpu"),
    ("/create_deployment", _with(DEPLOYMENT, docker_path=...), "docker_path"),
    ("/create_deployment", _with(DEPLOYMENT, surprise=1), "surprise"),
    ("/create_cluster", _with(CLUSTER, total_cpu=-5), "total_cpu"),
    ("/create_cluster", _with(CLUSTER, total_gpu=2**63), "total_gpu"),
    ("/create_cluster", _with(CLUSTER, strategy="fastest"), "strategy"),
    ("/create_cluster", _with(CLUSTER, total_ram=...), "total_ram"),
    ("/create_cluster", _with(CLUSTER, cpu=1), "cpu"),
    ("/update_role", {"user_id": 1, "role": "OWNER"}, "role"),
    ("/update_role", {"user_id": "1", "role": "VIEWER"}, "user_id"),
    ("/update_role", {"user_id": 2**40, "role": "VIEWER"}, "user_id"),
    ("/create_organization", {"name": ""}, "name"),
    ("/create_organization", {"name": "x" * 101}, "name"),
    ("/join_organization", {"invite_code": 42}, "invite_code"),
]


@pytest.mark.parametrize(("path", "body", "field"), INVALID)
def test_invalid_fields_are_named(
    api: Api, org: Org, path: str, body: dict[str, Any], field: str
) -> None:
    answer = api.call("POST", path, org.admin, json=body)
    assert answer.status_code == 422, answer.text
    reply = answer.json()
    assert reply["message"]
    assert field in [error["field"] for error in reply["errors"]]
    assert all(error["message"] for error in reply["errors"])
    assert api.call("GET", "/deployments", org.viewer).json()["deployments"] == []
    assert len(api.call("GET", "/clusters", org.viewer).json()["clusters"]) == 1


@pytest.mark.parametrize(
    ("content", "content_type"),
    [
        (b"", "application/json"),
        (b"{not json", "application/json"),
        (b"[1, 2]", "application/json"),
        (b"null", "application/json"),
        (b"name=d1&cpu=1", "application/x-www-form-urlencoded"),
        (b"\xff\xfe", "application/json"),
        (b'{"name": "d\xff"}', "application/json"),  # not UTF-8
        (b"[" * 60_000, "application/json"),  # nested deeper than the parser goes, within 64 KiB
    ],
)
def test_bodies_that_are_not_a_json_object_are_422(
    api: Api, org: Org, content: bytes, content_type: str
) -> None:
    answer = api.call(
        "POST",
        "/create_deployment",
        org.developer,
        content=content,
        headers={"Content-Type": content_type},
    )
    assert answer.status_code == 422, answer.text
    assert answer.json()["errors"][0]["field"] == "body"


@pytest.mark.parametrize("content_type", [None, "text/plain", "application/x-www-form-urlencoded"])
def test_a_json_object_without_a_json_content_type_is_told_which_header_to_send(
    api: Api, org: Org, content_type: str | None
) -> None:
    """curl -d sends form encoding unless told otherwise: the body is not read at all, and the
    message must say why rather than claim it is not a JSON object."""
    headers = {} if content_type is None else {"Content-Type": content_type}
    answer = api.call(
        "POST", "/create_deployment", org.developer, content=json.dumps(DEPLOYMENT), headers=headers
    )
    assert answer.status_code == 422, answer.text
    assert answer.json()["errors"] == [
        {
            "field": "body",
            "message": "must be a JSON object sent with Content-Type: application/json",
        }
    ]
    assert api.call("GET", "/deployments/d1", org.developer).status_code == 404


@pytest.mark.parametrize(
    ("body", "field"),
    [
        # The last value would win: a proxy or an audit log may read the first.
        (json.dumps(CLUSTER)[:-1] + ', "total_gpu": 7}', "total_gpu"),
        # More digits than Python reads: FastAPI alone answers "not JSON", naming nothing.
        (json.dumps(CLUSTER).replace('"total_cpu": 1', '"total_cpu": ' + "9" * 5000), "total_cpu"),
    ],
    ids=["key-twice", "too-many-digits"],
)
def test_a_body_python_would_read_loosely_or_not_at_all_names_the_key(
    api: Api, org: Org, body: str, field: str
) -> None:
    answer = api.call(
        "POST",
        "/create_cluster",
        org.admin,
        content=body,
        headers={"Content-Type": "application/json"},
    )
    assert answer.status_code == 422, answer.text
    assert [error["field"] for error in answer.json()["errors"]] == [field]
    assert api.call("GET", "/clusters/c2", org.viewer).status_code == 404


@pytest.mark.parametrize(
    "path",
    ["/deployments?cluster_name=c1", "/deployments?limt=1", "/clusters?phase=Queued", "/me?x=1"],
)
def test_a_query_parameter_the_route_does_not_take_is_named(api: Api, org: Org, path: str) -> None:
    """A typo in a filter would answer the whole list, unfiltered, as if it applied."""
    api.cluster(org.developer, "c2")
    api.deployment(org.developer, "d1", "c1")
    api.deployment(org.developer, "d2", "c2")
    answer = api.call("GET", path, org.viewer)
    assert answer.status_code == 422, answer.text
    name = path.partition("?")[2].partition("=")[0]
    assert answer.json()["errors"] == [
        {"field": name, "message": "is not a query parameter of this route"}
    ]
    filtered = api.call("GET", "/deployments?cluster=c1&limit=1", org.viewer)
    assert [d["name"] for d in filtered.json()["deployments"]] == ["d1"]


def test_a_trailing_slash_is_another_path_as_in_the_original(api: Api, org: Org) -> None:
    """A 404 in the one error shape, not a 307 to a URL built from the Host header."""
    created = api.call("POST", "/create_deployment/", org.developer, json=DEPLOYMENT)
    listed = api.call("GET", "/deployments/", org.developer)
    for answer in (created, listed):
        assert answer.status_code == 404, answer.text
        assert answer.json() == {"message": "Not Found", "errors": []}
    assert api.call("GET", "/deployments/d1", org.developer).status_code == 404


def test_a_negative_number_gets_a_readable_message(api: Api, org: Org) -> None:
    answer = api.call("POST", "/create_deployment", org.developer, json=_with(DEPLOYMENT, cpu=-1))
    assert answer.json() == {
        "message": "the request is invalid",
        "errors": [{"field": "cpu", "message": "must be greater than or equal to 0"}],
    }


def test_every_error_names_a_field_and_unknown_paths_keep_the_shape(api: Api, org: Org) -> None:
    answer = api.call("GET", "/no-such-endpoint", org.viewer)
    assert answer.status_code == 404
    assert answer.json() == {"message": "Not Found", "errors": []}
    wrong_method = api.call("PUT", "/clusters", org.viewer)
    assert wrong_method.status_code == 405
    assert "message" in wrong_method.json()
    # GET and DELETE of one path are two routes: Allow names both (and HEAD, as GET).
    allowed = api.call("PUT", "/deployments/d1", org.viewer).headers["allow"]
    assert allowed == "DELETE, GET, HEAD"


@pytest.mark.parametrize("name", ["UPPER", "a" * 64, "-lead", "trail-", "dots.in.name"])
def test_invalid_names_in_paths_are_422(api: Api, org: Org, name: str) -> None:
    answer = api.call("GET", f"/deployments/{name}", org.viewer)
    assert answer.status_code == 422
    assert answer.json()["errors"][0]["field"] == "name"


@pytest.mark.parametrize(
    "body",
    [
        {"username": "", "password": "long enough"},
        {"username": "u", "password": "short"},
        {"username": "u"},
        {"username": ["u"], "password": "long enough"},
        {"username": "u", "password": "long enough", "role": "ADMIN"},
        # PostgreSQL refuses NUL in text: it must be a 422, not a 500 from the database.
        {"username": "nul\u0000byte", "password": "long enough"},
        {"username": "line\nbreak", "password": "long enough"},
    ],
)
def test_registration_input_is_checked(api: Api, body: dict[str, Any]) -> None:
    answer = api.call("POST", "/register", json=body)
    assert answer.status_code == 422
    assert answer.json()["errors"]


@pytest.mark.parametrize("path", ["/login", "/register"])
def test_a_nul_byte_in_a_username_is_a_422_naming_it(api: Api, path: str) -> None:
    answer = api.call("POST", path, json={"username": "a\u0000b", "password": "long enough"})
    assert answer.status_code == 422
    assert [error["field"] for error in answer.json()["errors"]] == ["username"]


@pytest.mark.parametrize(
    "username",
    [
        "mallory\u200b",  # a zero-width space: shows as "mallory"
        "\u202eyrollam",  # a right-to-left override
        " ",
        " mallory",
        "mallory\u00a0",  # a no-break space
        # Printable to Python, yet they draw nothing:
        "mallory\u034f",  # a combining grapheme joiner
        "mallory\ufe0f",  # a variation selector
        "\u3164",  # a Hangul filler: a blank name
        "mall\u2800ory",  # the blank Braille pattern
    ],
)
def test_usernames_that_would_show_as_another_are_refused(api: Api, username: str) -> None:
    api.user("mallory")
    answer = api.call("POST", "/register", json={"username": username, "password": "long enough"})
    assert answer.status_code == 422, answer.text
    [error] = answer.json()["errors"]
    assert error["field"] == "username"
    assert "visible" in error["message"]


def test_a_username_that_outgrows_its_column_once_folded_is_a_422(api: Api) -> None:
    """U+FDFA folds to 18 characters: 34 of them make a canonical form longer than the
    column (PostgreSQL answered 500)."""
    answer = api.call(
        "POST", "/register", json={"username": "\ufdfa" * 34, "password": "long enough"}
    )
    assert answer.status_code == 422, answer.text
    [error] = answer.json()["errors"]
    assert error["field"] == "username"
    assert "folded" in error["message"]
    assert api.login(api.user("\ufdfa" * 3).username).token  # a short one is fine


def test_a_username_with_a_space_inside_or_beyond_ascii_is_fine(api: Api) -> None:
    for username in ("vinay kumar", "zoë", "ユーザー"):
        assert api.login(api.user(username).username).token


def test_an_organization_name_must_be_visible_text(api: Api) -> None:
    admin = api.user()
    answer = api.call("POST", "/create_organization", admin, json={"name": "org\u200b"})
    assert answer.status_code == 422
    assert answer.json()["errors"][0]["field"] == "name"


def test_a_control_character_in_stored_text_says_so(api: Api) -> None:
    """Not the message of Kubernetes names, which these fields are not."""
    user = api.user()
    answer = api.call("POST", "/join_organization", user, json={"invite_code": "ab\u0000c"})
    assert answer.status_code == 422
    assert answer.json()["errors"] == [
        {"field": "invite_code", "message": "must not contain control characters"}
    ]
