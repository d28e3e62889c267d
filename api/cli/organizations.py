"""``simplismart org create|join|members``."""

from typing import Any

import typer

from simplismart.api.cli import output
from simplismart.api.cli.context import context_of

org_app = typer.Typer(help="Organizations: create, join, list members.", no_args_is_help=True)

#: The member list of the caller's organization (its ADMINs may read it).
MEMBERS_PATH = "/members"


def _organization(answer: dict[str, Any]) -> None:
    organization = answer["organization"]
    output.fields(
        answer["message"],
        organization,
        {
            "name": lambda o: o["name"],
            "id": lambda o: o["id"],
            "namespace": lambda o: o["namespace"],
            "invite code": lambda o: o.get("invite_code"),
        },
    )


@org_app.command("create")
def org_create(ctx: typer.Context, name: str) -> None:
    """Create an organization (ADMIN); you become its ADMIN."""
    context = context_of(ctx)
    with context.client() as client:
        context.show(client.post("/create_organization", {"name": name}), _organization)


@org_app.command("join")
def org_join(ctx: typer.Context, invite_code: str) -> None:
    """Join an organization by its invite code, as a VIEWER."""
    context = context_of(ctx)
    with context.client() as client:
        context.show(client.post("/join_organization", {"invite_code": invite_code}), _organization)


@org_app.command("members")
def org_members(ctx: typer.Context) -> None:
    """The members of your organization and their roles (ADMIN)."""
    context = context_of(ctx)
    with context.client() as client:
        answer = client.get(MEMBERS_PATH)
    context.show(
        answer,
        lambda a: output.table(
            a["message"],
            a["members"],
            {
                "id": lambda u: u["id"],
                "username": lambda u: u["username"],
                "role": lambda u: u["role"],
            },
        ),
    )
