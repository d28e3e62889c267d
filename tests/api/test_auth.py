"""Registration and login: first ADMIN, uniqueness, no username oracle, rate limiting."""

import pytest

from simplismart.api.core import security
from tests.api.support import PASSWORD, Api


def test_the_first_user_is_admin_and_the_rest_viewers(api: Api) -> None:
    first = api.call("POST", "/register", json={"username": "first", "password": PASSWORD})
    second = api.call("POST", "/register", json={"username": "second", "password": PASSWORD})
    assert first.status_code == second.status_code == 201
    assert first.json()["user"]["role"] == "ADMIN"
    assert second.json()["user"]["role"] == "VIEWER"
    assert first.json()["user"]["organization"] is None
    assert "password" not in first.text


def test_a_taken_username_is_409_whatever_its_case(api: Api) -> None:
    api.user("alice")
    again = api.call("POST", "/register", json={"username": "ALICE", "password": PASSWORD})
    assert again.status_code == 409
    assert again.json()["errors"] == [{"field": "username", "message": "is already taken"}]


def test_login_returns_a_token_and_its_expiry(api: Api) -> None:
    api.user("bob")
    answer = api.call("POST", "/login", json={"username": "bob", "password": PASSWORD})
    body = answer.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == api.backend.settings.jwt_expires_seconds
    assert body["expires_at"]
    me = api.call("GET", "/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.json()["user"]["username"] == "bob"


def test_login_does_not_tell_unknown_users_from_wrong_passwords(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    api.user("carol")
    hashed: list[str | None] = []
    verify = security.verify_password

    def spy(password: str, password_hash: str | None) -> bool:
        hashed.append(password_hash)
        return verify(password, password_hash)

    monkeypatch.setattr("simplismart.api.routes.auth.verify_password", spy)
    wrong = api.call("POST", "/login", json={"username": "carol", "password": "nope-nope"})
    unknown = api.call("POST", "/login", json={"username": "nobody", "password": "nope-nope"})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()
    # An unknown user still costs one Argon2 verification (against the dummy hash).
    assert hashed[0] is not None
    assert hashed[1] is None


@pytest.mark.unit
def test_an_unknown_user_is_verified_against_a_real_argon2_hash() -> None:
    assert security._DUMMY_HASH.startswith("$argon2id$")
    assert security.verify_password("anything", None) is False


def test_login_is_rate_limited_with_retry_after(api: Api) -> None:
    api.call("POST", "/register", json={"username": "dave", "password": PASSWORD})
    limit = api.backend.settings.login_rate_limit
    attempts = [
        api.call("POST", "/login", json={"username": "dave", "password": "wrong-wrong"})
        for _ in range(limit + 1)
    ]
    assert [a.status_code for a in attempts] == [401] * limit + [429]
    assert 1 <= int(attempts[-1].headers["Retry-After"]) <= 60
    assert "message" in attempts[-1].json()
    # The right password does not get through either until the window ends...
    right = api.call("POST", "/login", json={"username": "dave", "password": PASSWORD})
    assert right.status_code == 429
    # ...while another username from the same client is not affected.
    api.user("erin")
