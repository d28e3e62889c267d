"""The root command: ``simplismart [--server URL] [--output json] GROUP COMMAND ...``."""

from typing import Annotated

import httpx
import typer
from rich.text import Text

from simplismart.api.cli import output
from simplismart.api.cli.client import CliError
from simplismart.api.cli.clusters import cluster_app, queue
from simplismart.api.cli.context import Context, context_of
from simplismart.api.cli.credentials import Credentials, Login
from simplismart.api.cli.deployments import deploy_app
from simplismart.api.cli.organizations import org_app
from simplismart.api.cli.output import Format, console
from simplismart.api.cli.watch import watch

app = typer.Typer(
    help="Simplismart from the command line: log in, then manage clusters and deployments.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(org_app, name="org")
app.add_typer(cluster_app, name="cluster")
app.add_typer(deploy_app, name="deploy")
app.command()(queue)
app.command()(watch)


@app.callback()
def main(
    ctx: typer.Context,
    server: Annotated[
        str | None,
        typer.Option(
            envvar="SIMPLISMART_SERVER",
            help="The API's address, e.g. http://localhost:5002 (default: the last login's).",
        ),
    ] = None,
    output_format: Annotated[
        Format, typer.Option("--output", "-o", help="table for people, json for scripts.")
    ] = Format.TABLE,
) -> None:
    credentials = Credentials()
    chosen = (server or credentials.default_server()).rstrip("/")
    if not chosen.startswith(("http://", "https://")):
        raise typer.BadParameter("must start with http:// or https://", param_hint="--server")
    try:
        url = httpx.URL(chosen)
    except httpx.InvalidURL as error:
        raise typer.BadParameter(
            f"{chosen!r} is not a URL: {error}", param_hint="--server"
        ) from None
    # A user:password@ would go to the server as Basic auth beside the token (and be printed in
    # every message naming the server); a query or fragment would be glued to every path.
    if url.userinfo or url.query or url.fragment:
        raise typer.BadParameter(
            "must be the API's address alone (scheme, host, port, path): no user:password@, "
            "no ?query, no #fragment",
            param_hint="--server",
        )
    ctx.obj = Context(chosen, output_format, credentials)


# --- login -------------------------------------------------------------------------------------


@app.command()
def login(
    ctx: typer.Context,
    username: Annotated[
        str | None, typer.Option(help="Your username; prompted for if left out.")
    ] = None,
    password: Annotated[
        str | None,
        typer.Option(
            envvar="SIMPLISMART_PASSWORD",
            help="Prompted for unless SIMPLISMART_PASSWORD is set.",
        ),
    ] = None,
) -> None:
    """Log in and keep the token in your config directory (readable by you only)."""
    source = ctx.get_parameter_source("password")
    if source is not None and source.name == "COMMANDLINE":
        output.errors.print(
            "warning: a password on the command line is visible to this machine's other users "
            "(ps) and kept in your shell's history; leave --password out to be prompted, or "
            "set SIMPLISMART_PASSWORD",
            soft_wrap=True,
        )
    # Prompts go to stderr, so that stdout stays the answer alone (JSON with -o json).
    username = username or typer.prompt("Username", err=True)
    password = password or typer.prompt("Password", hide_input=True, err=True)
    context = context_of(ctx)
    with context.client(authenticated=False) as client:
        answer = client.post("/login", {"username": username, "password": password})
    with context.reading():
        token, expires_at, user = answer["access_token"], answer["expires_at"], answer["user"]
        if not (isinstance(token, str) and isinstance(expires_at, str)):
            raise TypeError("access_token and expires_at must be text")
    context.credentials.save(Login(context.server, username, token, expires_at))
    context.show(
        {"message": answer["message"], "user": user, "expires_at": expires_at},
        lambda a: console.print(
            output.escaped(
                f"Logged in to {context.server} as {username} ({a['user']['role']}); "
                f"the token expires at {a['expires_at']}."
            )
        ),
    )


@app.command()
def logout(
    ctx: typer.Context,
    everywhere: Annotated[
        bool,
        typer.Option(
            "--everywhere",
            help="Also revoke every token of your account, on every device, first.",
        ),
    ] = False,
) -> None:
    """Forget the token for this server. It stays valid until it expires unless you log out
    --everywhere, which revokes every token of your account (the dashboard's too)."""
    context = context_of(ctx)
    if everywhere:
        with context.client() as client:
            client.post("/logout")
    forgotten = context.credentials.forget(context.server)
    if everywhere:
        message = "Logged out everywhere: every token of your account is revoked."
    elif forgotten:
        message = "Logged out: the token is forgotten here (it stays valid until it expires)."
    else:
        message = f"Not logged in to {context.server}."
    context.show({"message": message}, lambda a: console.print(a["message"]))


def run() -> None:
    """Run the app; an error is printed as the API worded it, and the exit code is 1."""
    try:
        app()
    except CliError as error:
        message = "\n".join(output.escaped(line) for line in str(error).split("\n"))
        output.errors.print(
            Text.assemble(("error:", "red"), f" {message}"), highlight=False, soft_wrap=True
        )
        raise SystemExit(1) from None
