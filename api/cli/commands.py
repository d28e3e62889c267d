"""The commands: ``simplismart [--server URL] [--output json] GROUP COMMAND ...``."""

import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

import typer

from simplismart.api.cli import output
from simplismart.api.cli.client import Client, CliError
from simplismart.api.cli.credentials import Credentials, Login
from simplismart.api.cli.output import Format, console

app = typer.Typer(
    help="Simplismart from the command line: log in, then manage clusters and deployments.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
org_app = typer.Typer(help="Organizations: create, join, list members.", no_args_is_help=True)
cluster_app = typer.Typer(help="Clusters: create, list, show.", no_args_is_help=True)
deploy_app = typer.Typer(help="Deployments: create, list, show, cancel.", no_args_is_help=True)
app.add_typer(org_app, name="org")
app.add_typer(cluster_app, name="cluster")
app.add_typer(deploy_app, name="deploy")

#: The member list of the caller's organization (its ADMINs may read it).
MEMBERS_PATH = "/members"


@dataclass
class Context:
    server: str
    output: Format
    credentials: Credentials

    @contextmanager
    def client(self, *, authenticated: bool = True) -> Iterator[Client]:
        login = self.credentials.login_for(self.server)
        if authenticated and login is None:
            raise CliError(f"not logged in to {self.server}: run simplismart login")
        client = Client(self.server, login.token if login and authenticated else None)
        try:
            yield client
        finally:
            client.close()

    def show(self, answer: dict[str, Any], render: Any) -> None:
        """The API's JSON as it came with ``--output json``; else ``render(answer)``."""
        if self.output is Format.JSON:
            output.print_json(answer)
        else:
            render(answer)


def _context(ctx: typer.Context) -> Context:
    found: Context = ctx.obj
    return found


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
    ctx.obj = Context(chosen, output_format, credentials)


# --- login -------------------------------------------------------------------------------------


@app.command()
def login(
    ctx: typer.Context,
    username: Annotated[str, typer.Option(prompt=True, help="Your username.")],
    password: Annotated[
        str,
        typer.Option(
            prompt=True,
            hide_input=True,
            envvar="SIMPLISMART_PASSWORD",
            help="Prompted for unless SIMPLISMART_PASSWORD is set.",
        ),
    ],
) -> None:
    """Log in and keep the token in your config directory (readable by you only)."""
    context = _context(ctx)
    with context.client(authenticated=False) as client:
        answer = client.post("/login", {"username": username, "password": password})
    context.credentials.save(
        Login(context.server, username, answer["access_token"], answer["expires_at"])
    )
    context.show(
        {"message": answer["message"], "user": answer["user"], "expires_at": answer["expires_at"]},
        lambda a: console.print(
            f"Logged in to {context.server} as {username} ({a['user']['role']}); "
            f"the token expires at {a['expires_at']}."
        ),
    )


@app.command()
def logout(ctx: typer.Context) -> None:
    """Forget the token for this server."""
    context = _context(ctx)
    forgotten = context.credentials.forget(context.server)
    console.print("Logged out." if forgotten else f"Not logged in to {context.server}.")


# --- organizations -----------------------------------------------------------------------------


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
    context = _context(ctx)
    with context.client() as client:
        context.show(client.post("/create_organization", {"name": name}), _organization)


@org_app.command("join")
def org_join(ctx: typer.Context, invite_code: str) -> None:
    """Join an organization by its invite code, as a VIEWER."""
    context = _context(ctx)
    with context.client() as client:
        context.show(client.post("/join_organization", {"invite_code": invite_code}), _organization)


@org_app.command("members")
def org_members(ctx: typer.Context) -> None:
    """The members of your organization and their roles (ADMIN)."""
    context = _context(ctx)
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


# --- clusters ----------------------------------------------------------------------------------


def _usage(cluster: dict[str, Any], resource: str) -> str:
    total = cluster[f"total_{resource}"]
    used = (cluster.get("allocated") or {}).get(resource)
    return f"{total}" if used is None else f"{used}/{total}"


CLUSTER_COLUMNS = {
    "name": lambda c: c["name"],
    "strategy": lambda c: c["strategy"],
    "cpu": lambda c: _usage(c, "cpu"),
    "ram": lambda c: _usage(c, "ram"),
    "gpu": lambda c: _usage(c, "gpu"),
    "queued": lambda c: c.get("queued"),
    "running": lambda c: c.get("running"),
    "pending": lambda c: c.get("pending"),
}


# The CLI imports nothing of the server (not even the CRD models), so it names these values itself.
class Strategy(StrEnum):
    AUTO = "auto"
    COMBINATIONS = "combinations"
    GENETIC = "genetic"
    OPTIMAL = "optimal"


@cluster_app.command("create")
def cluster_create(
    ctx: typer.Context,
    name: str,
    cpu: Annotated[int, typer.Option(help="Total CPU.")],
    ram: Annotated[int, typer.Option(help="Total RAM.")],
    gpu: Annotated[int, typer.Option(help="Total GPU.")],
    strategy: Annotated[Strategy, typer.Option(help="How the queue is scheduled.")] = Strategy.AUTO,
) -> None:
    """Create a cluster with a fixed total of each resource (DEVELOPER or ADMIN)."""
    context = _context(ctx)
    body = {
        "name": name,
        "total_cpu": cpu,
        "total_ram": ram,
        "total_gpu": gpu,
        "strategy": strategy,
    }
    with context.client() as client:
        answer = client.post("/create_cluster", body)
    context.show(answer, lambda a: output.table(a["message"], [a["cluster"]], CLUSTER_COLUMNS))


@cluster_app.command("list")
def cluster_list(ctx: typer.Context) -> None:
    """Your organization's clusters and their allocation."""
    context = _context(ctx)
    with context.client() as client:
        clusters = client.pages("/clusters", "clusters", None)
    context.show(
        {"message": f"{len(clusters)} cluster(s)", "clusters": clusters},
        lambda a: output.table(a["message"], a["clusters"], CLUSTER_COLUMNS),
    )


def _decision(cluster: dict[str, Any]) -> str | None:
    last = cluster.get("last_decision")
    if not last:
        return None
    gap = last.get("gap")
    return (
        f"{last.get('strategy')} over {last.get('candidates')} candidate(s), "
        f"{len(last.get('selected') or [])} started, {last.get('durationMs')} ms, "
        f"gap {'—' if gap is None else f'{100 * gap:.3f} %'}, {output.ago(last.get('at'))} ago"
    )


@cluster_app.command("show")
def cluster_show(ctx: typer.Context, name: str) -> None:
    """One cluster: capacity, allocation, counts and the last scheduling decision."""
    context = _context(ctx)
    with context.client() as client:
        answer = client.get(f"/clusters/{name}")

    def render(a: dict[str, Any]) -> None:
        cluster = a["cluster"]
        output.fields(
            a["message"],
            cluster,
            {
                **CLUSTER_COLUMNS,
                "observed": lambda c: c["observed"],
                "last decision": _decision,
            },
        )

    context.show(answer, render)


QUEUE_COLUMNS = {
    "#": lambda q: q.get("position"),
    "name": lambda q: q["name"],
    "priority": lambda q: output.priority(q["priority"]),
    "waited": lambda q: output.ago(q.get("queued_at")),
    "ETA": lambda q: output.until(q.get("estimated_start_at")),
    "why it waits": lambda q: q.get("message"),
}


@app.command()
def queue(ctx: typer.Context, cluster: str) -> None:
    """A cluster's queue in order: position, priority, time waited, ETA and the reason."""
    context = _context(ctx)
    with context.client() as client:
        answer = client.get(f"/clusters/{cluster}")
    context.show(
        {
            "message": f"{len(answer['cluster']['queue'])} queued",
            "queue": answer["cluster"]["queue"],
        },
        lambda a: output.table(f"Queue of {cluster}: {a['message']}", a["queue"], QUEUE_COLUMNS),
    )


# --- deployments -------------------------------------------------------------------------------

DEPLOYMENT_COLUMNS = {
    "name": lambda d: d["name"],
    "cluster": lambda d: d["cluster_name"],
    "phase": lambda d: d["phase"],
    "priority": lambda d: output.priority(d["priority"]),
    "cpu/ram/gpu": lambda d: f"{d['cpu']}/{d['ram']}/{d['gpu']}",
    "#": lambda d: d.get("queue_position"),
    "remaining": lambda d: output.until(d.get("expires_at")) if d["phase"] == "Running" else None,
    "message": lambda d: d.get("message"),
}


class Priority(StrEnum):
    HIGH = "high"
    LOW = "low"


class Phase(StrEnum):
    PENDING = "Pending"
    QUEUED = "Queued"
    RUNNING = "Running"
    SUCCEEDED = "Succeeded"


@deploy_app.command("create")
def deploy_create(
    ctx: typer.Context,
    name: str,
    cluster: Annotated[str, typer.Option(help="The cluster to run on.")],
    cpu: Annotated[int, typer.Option()],
    ram: Annotated[int, typer.Option()],
    gpu: Annotated[int, typer.Option()],
    image: Annotated[str, typer.Option(help="The image to run (docker_path).")],
    priority: Annotated[Priority, typer.Option()] = Priority.LOW,
    duration: Annotated[
        int | None, typer.Option(help="Seconds the run lasts (default: the cluster's range).")
    ] = None,
) -> None:
    """Ask a cluster for resources; the deployment queues until they are free."""
    context = _context(ctx)
    body: dict[str, Any] = {
        "name": name,
        "cluster_name": cluster,
        "cpu": cpu,
        "ram": ram,
        "gpu": gpu,
        "priority": 1 if priority is Priority.HIGH else 0,
        "docker_path": image,
    }
    if duration is not None:
        body["duration_seconds"] = duration
    with context.client() as client:
        answer = client.post("/create_deployment", body)
    context.show(
        answer, lambda a: output.table(a["message"], [a["deployment"]], DEPLOYMENT_COLUMNS)
    )


@deploy_app.command("list")
def deploy_list(
    ctx: typer.Context,
    cluster: Annotated[str | None, typer.Option(help="Only this cluster's.")] = None,
    phase: Annotated[Phase | None, typer.Option(help="Only this phase.")] = None,
    priority: Annotated[Priority | None, typer.Option(help="Only this priority.")] = None,
    limit: Annotated[int | None, typer.Option(min=1, help="At most this many.")] = None,
) -> None:
    """Your organization's deployments, in name order."""
    context = _context(ctx)
    level = None if priority is None else (1 if priority is Priority.HIGH else 0)
    with context.client() as client:
        items = client.pages(
            "/deployments", "deployments", limit, cluster=cluster, phase=phase, priority=level
        )
    context.show(
        {"message": f"{len(items)} deployment(s)", "deployments": items},
        lambda a: output.table(a["message"], a["deployments"], DEPLOYMENT_COLUMNS),
    )


@deploy_app.command("show")
def deploy_show(ctx: typer.Context, name: str) -> None:
    """One deployment: phase, reason, timestamps, queue position."""
    context = _context(ctx)
    with context.client() as client:
        answer = client.get(f"/deployments/{name}")
    context.show(answer, lambda a: output.fields(a["message"], a["deployment"], _DETAIL))


_DETAIL = {
    **DEPLOYMENT_COLUMNS,
    "reason": lambda d: d.get("reason"),
    "queued at": lambda d: d.get("queued_at"),
    "ETA": lambda d: d.get("estimated_start_at"),
    "started at": lambda d: d.get("started_at"),
    "expires at": lambda d: d.get("expires_at"),
    "finished at": lambda d: d.get("finished_at"),
    "image": lambda d: d["docker_path"],
}


@deploy_app.command("cancel")
def deploy_cancel(ctx: typer.Context, name: str) -> None:
    """Cancel a deployment; a running one frees its resources at once."""
    context = _context(ctx)
    with context.client() as client:
        answer = client.call("DELETE", f"/deployments/{name}")
    context.show(answer, lambda a: console.print(a["message"]))


# --- watch -------------------------------------------------------------------------------------


@app.command()
def watch(ctx: typer.Context) -> None:
    """Print your organization's changes as they happen (Ctrl-C to stop); reconnects by itself."""
    context = _context(ctx)
    last_event_id: str | None = None
    with context.client() as client:
        try:
            while True:
                try:
                    for event_id, name, data in client.events(last_event_id):
                        last_event_id = event_id or last_event_id
                        _print_change(context, name, data)
                except ConnectionError as error:
                    output.errors.print(f"the stream broke ({error}); reconnecting")
                _pause()
        except KeyboardInterrupt:
            return


def _pause() -> None:
    time.sleep(float(os.environ.get("SIMPLISMART_RECONNECT_SECONDS", "2")))


def _print_change(context: Context, name: str, data: str) -> None:
    _show_change(context, name, json.loads(data))
    # Each change as it happens, also into a pipe (which Python would otherwise buffer).
    console.file.flush()


def _show_change(context: Context, name: str, body: dict[str, Any]) -> None:
    if context.output is Format.JSON:
        console.print_json(json.dumps({"event": name, **body}))
        return
    now = datetime.now().strftime("%H:%M:%S")
    if name == "reset":
        console.print(f"{now} [yellow]{body['message']}[/yellow]")
    elif name in ("deployment", "cluster"):
        item = body[name]
        detail = item.get("phase", "") if name == "deployment" else _usage_line(item)
        console.print(f"{now} {name} {item['name']} {body['type'].lower()} {detail}")


def _usage_line(cluster: dict[str, Any]) -> str:
    return " ".join(f"{r}={_usage(cluster, r)}" for r in ("cpu", "ram", "gpu"))


def run() -> None:
    """Run the app; an error is printed as the API worded it, and the exit code is 1."""
    try:
        app()
    except CliError as error:
        output.errors.print(f"[red]error:[/red] {error}", highlight=False)
        raise SystemExit(1) from None
