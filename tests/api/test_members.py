"""Finding 4: an ADMIN lists and removes members; members leave; usernames are canonical."""

from tests.api.support import PASSWORD, Api


def test_an_admin_lists_the_members_with_their_roles(api: Api) -> None:
    org = api.organization()
    answer = api.call("GET", "/members", org.admin)
    assert answer.status_code == 200
    members = {m["username"]: m["role"] for m in answer.json()["members"]}
    assert members == {
        org.admin.username: "ADMIN",
        org.developer.username: "DEVELOPER",
        org.viewer.username: "VIEWER",
    }
    assert "invite_code" not in answer.text


def test_after_rotating_a_leaked_code_the_admin_removes_who_joined_with_it(api: Api) -> None:
    org = api.organization()
    intruder = api.user()
    joined = api.call("POST", "/join_organization", intruder, json={"invite_code": org.invite_code})
    assert joined.status_code == 200
    assert api.call("POST", "/rotate_invite_code", org.admin).status_code == 200
    assert api.call("GET", "/deployments", intruder).status_code == 200  # still inside
    removed = api.call("POST", "/remove_member", org.admin, json={"user_id": intruder.id})
    assert removed.status_code == 200
    assert removed.json()["user"]["organization"] is None
    assert api.call("GET", "/deployments", intruder).status_code == 403
    listed = api.call("GET", "/members", org.admin).json()["members"]
    assert intruder.id not in {m["id"] for m in listed}


def test_a_removed_member_cannot_join_again_with_the_code_they_knew(api: Api) -> None:
    org = api.organization()
    removed = api.call("POST", "/remove_member", org.admin, json={"user_id": org.developer.id})
    assert removed.status_code == 200
    rejoined = api.call(
        "POST", "/join_organization", org.developer, json={"invite_code": org.invite_code}
    )
    assert rejoined.status_code == 404
    assert api.call("GET", "/deployments", org.developer).status_code == 403
    # The ADMIN sees the new code, and whoever is given it joins.
    code = api.call("GET", "/me", org.admin).json()["user"]["organization"]["invite_code"]
    assert code != org.invite_code
    newcomer = api.user()
    joined = api.call("POST", "/join_organization", newcomer, json={"invite_code": code})
    assert joined.status_code == 200


def test_removing_someone_outside_the_organization_is_404_and_changes_nothing(api: Api) -> None:
    org = api.organization()
    other = api.second_organization(org)
    answer = api.call("POST", "/remove_member", org.admin, json={"user_id": other.viewer.id})
    assert answer.status_code == 404
    assert answer.json()["errors"][0]["field"] == "user_id"
    assert api.call("GET", "/deployments", other.viewer).status_code == 200


def test_the_last_admin_can_neither_remove_themself_nor_leave(api: Api) -> None:
    org = api.organization()
    removed = api.call("POST", "/remove_member", org.admin, json={"user_id": org.admin.id})
    left = api.call("POST", "/leave_organization", org.admin)
    assert removed.status_code == left.status_code == 409
    assert api.call("GET", "/members", org.admin).status_code == 200


def test_a_member_leaves(api: Api) -> None:
    org = api.organization()
    answer = api.call("POST", "/leave_organization", org.developer)
    assert answer.status_code == 200
    assert answer.json()["user"] == {
        "id": org.developer.id,
        "username": org.developer.username,
        "role": "VIEWER",
        "organization": None,
    }
    assert api.call("GET", "/clusters", org.developer).status_code == 403


def test_usernames_that_fold_alike_are_one_user_and_log_in_either_way(api: Api) -> None:
    """Finding 7: ÄLICE and älice were two users on SQLite, and ÄLICE could never log in."""
    api.user("ÄLICE")
    again = api.call("POST", "/register", json={"username": "älice", "password": PASSWORD})
    assert again.status_code == 409
    assert again.json()["errors"] == [{"field": "username", "message": "is already taken"}]
    for spelling in ("ÄLICE", "älice", "A\u0308lice"):
        answer = api.call("POST", "/login", json={"username": spelling, "password": PASSWORD})
        assert answer.status_code == 200, spelling
        assert answer.json()["user"]["username"] == "ÄLICE"


def test_a_malformed_member_reference_names_the_field_and_changes_nothing(api: Api) -> None:
    org = api.organization()
    for body in ({"user_id": str(org.viewer.id)}, {"user_id": 0}, {}, {"user": org.viewer.id}):
        answer = api.call("POST", "/remove_member", org.admin, json=body)
        assert answer.status_code == 422, body
        assert {e["field"] for e in answer.json()["errors"]} & {"user_id", "user"}, body
    assert len(api.call("GET", "/members", org.admin).json()["members"]) == 3
