"""Finding 4: logout and password change revoke tokens on the very next request."""

from tests.api.conftest import ApiFactory
from tests.api.support import PASSWORD, Api

NEW_PASSWORD = "a brand new horse"


def test_logout_revokes_every_token_of_the_user(api: Api) -> None:
    user = api.user("frank")
    other_device = api.login("frank")
    assert api.call("POST", "/logout", user).status_code == 200
    for token in (user, other_device):
        answer = api.call("GET", "/me", token)
        assert answer.status_code == 401
        assert "revoked" in answer.json()["message"]
    assert api.call("GET", "/me", api.login("frank")).status_code == 200


def test_a_password_change_revokes_older_tokens_and_returns_a_new_one(api: Api) -> None:
    user = api.user("grace")
    stolen = api.login("grace")
    changed = api.call(
        "POST",
        "/change_password",
        user,
        json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
    )
    assert changed.status_code == 200, changed.text
    fresh = {"Authorization": f"Bearer {changed.json()['access_token']}"}
    assert api.call("GET", "/me", stolen).status_code == 401
    assert api.call("GET", "/me", user).status_code == 401
    assert api.call("GET", "/me", headers=fresh).status_code == 200
    old = api.call("POST", "/login", json={"username": "grace", "password": PASSWORD})
    new = api.call("POST", "/login", json={"username": "grace", "password": NEW_PASSWORD})
    assert (old.status_code, new.status_code) == (401, 200)


def test_a_wrong_current_password_changes_nothing(api: Api) -> None:
    user = api.user("heidi")
    answer = api.call(
        "POST",
        "/change_password",
        user,
        json={"current_password": "not-it-at-all", "new_password": NEW_PASSWORD},
    )
    assert answer.status_code == 422
    assert answer.json()["errors"] == [{"field": "current_password", "message": "is wrong"}]
    assert api.call("GET", "/me", user).status_code == 200
    assert api.login("heidi").token


def test_a_too_short_new_password_names_the_field(api: Api) -> None:
    user = api.user("ivan")
    answer = api.call(
        "POST",
        "/change_password",
        user,
        json={"current_password": PASSWORD, "new_password": "short"},
    )
    assert answer.status_code == 422
    assert answer.json()["errors"][0]["field"] == "new_password"
    assert api.call("GET", "/me", user).status_code == 200


def test_guessing_the_current_password_is_limited_like_logins(api_with: ApiFactory) -> None:
    """A stolen token is no way around the login limits to the password (and the account)."""
    api = api_with(login_rate_limit=3)
    user = api.user("judy")

    def change(current: str) -> int:
        body = {"current_password": current, "new_password": NEW_PASSWORD}
        return api.call("POST", "/change_password", user, json=body).status_code

    assert [change(f"guess-{n}") for n in range(4)] == [422, 422, 422, 429]
    # The right password too, while the window lasts, and the guesses count toward logins.
    assert change(PASSWORD) == 429
    login = api.call("POST", "/login", json={"username": "judy", "password": PASSWORD})
    assert login.status_code == 429
    assert api.call("GET", "/me", user).status_code == 200
