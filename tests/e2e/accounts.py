"""Users and organizations made over HTTP, for the end-to-end tests of the CLI and dashboard.

Only the installation's first user may create an organization without being in one; everyone
else becomes an ADMIN inside the first organization and then founds their own (leaving it).
"""

from dataclasses import dataclass

import httpx

PASSWORD = "a long enough passphrase"


@dataclass(frozen=True)
class Root:
    """The installation's first user (ADMIN) and the organization every founder passes through."""

    token: str
    invite_code: str


@dataclass(frozen=True)
class Team:
    """An organization with its ADMIN, a DEVELOPER and a VIEWER (usernames).

    Its invite code is read when needed (`invite_code`): removing a member changes it.
    """

    admin: str
    developer: str
    viewer: str


def token(api: httpx.Client, username: str) -> str:
    answer = api.post("/login", json={"username": username, "password": PASSWORD})
    answer.raise_for_status()
    return str(answer.json()["access_token"])


def bearer(api: httpx.Client, username: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token(api, username)}"}


def register(api: httpx.Client, username: str) -> int:
    answer = api.post("/register", json={"username": username, "password": PASSWORD})
    answer.raise_for_status()
    return int(answer.json()["user"]["id"])


def root(api: httpx.Client) -> Root:
    """On a fresh installation: its first user, ADMIN of an organization named ``root``."""
    register(api, "root")
    headers = bearer(api, "root")
    created = api.post("/create_organization", headers=headers, json={"name": "root"})
    created.raise_for_status()
    return Root(headers["Authorization"].split()[1], created.json()["organization"]["invite_code"])


def join(api: httpx.Client, username: str, invite_code: str) -> None:
    answer = api.post(
        "/join_organization", headers=bearer(api, username), json={"invite_code": invite_code}
    )
    answer.raise_for_status()


def invite_code(api: httpx.Client, team: Team) -> str:
    """The team's invite code as it is now, as its ADMIN sees it."""
    me = api.get("/me", headers=bearer(api, team.admin))
    me.raise_for_status()
    return str(me.json()["user"]["organization"]["invite_code"])


def promote(api: httpx.Client, admin_token: str, user_id: int, role: str) -> None:
    answer = api.post(
        "/update_role",
        headers={"Authorization": f"Bearer {admin_token}"},
        json={"user_id": user_id, "role": role},
    )
    answer.raise_for_status()


def founder(api: httpx.Client, installation: Root, username: str) -> None:
    """A new user made ADMIN in the root organization, free to found their own."""
    user_id = register(api, username)
    join(api, username, installation.invite_code)
    promote(api, installation.token, user_id, "ADMIN")


def team(api: httpx.Client, installation: Root, stem: str) -> Team:
    admin = f"{stem}-admin"
    founder(api, installation, admin)
    created = api.post("/create_organization", headers=bearer(api, admin), json={"name": stem})
    created.raise_for_status()
    code = created.json()["organization"]["invite_code"]
    admin_token = token(api, admin)
    for role in ("DEVELOPER", "VIEWER"):
        username = f"{stem}-{role.lower()}"
        user_id = register(api, username)
        join(api, username, code)
        if role != "VIEWER":
            promote(api, admin_token, user_id, role)
    return Team(admin, f"{stem}-developer", f"{stem}-viewer")
