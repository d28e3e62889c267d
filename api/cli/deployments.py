"""``simplismart deploy create|list|show|cancel``."""

from enum import StrEnum
from typing import Annotated, Any

import typer

from simplismart.api.cli import output
from simplismart.api.cli.client import path
from simplismart.api.cli.context import context_of
from simplismart.api.cli.output import console

deploy_app = typer.Typer(help="Deployments: create, list, show, cancel.", no_args_is_help=True)

DEPLOYMENT_COLUMNS = {
    "name": lambda d: d["name"],
    "cluster": lambda d: d["cluster_name"],
    "phase": lambda d: d["phase"],
    "priority": lambda d: output.priority(d["priority"]),
    "cpu/ram/gpu": lambda d: f"{d['cpu']}/{d['ram']}/{d['gpu']}",
    "#": lambda d: d.get("queue_position"),
    "remaining": lambda d: (
        output.until(d.get("expires_at"), "ending") if d["phase"] == "Running" else None
    ),
    "preempted": lambda d: d.get("preemptions") or None,
    "message": lambda d: d.get("message"),
}


class Priority(StrEnum):
    HIGH = "high"
    LOW = "low"


def _priority(text: str) -> Priority:
    """high or low in any case, or the API's 1 and 0 (the original's HIGH(1) and LOW(0))."""
    named = {"1": Priority.HIGH, "0": Priority.LOW}.get(text) or text.lower()
    if named not in (Priority.HIGH, Priority.LOW):
        raise typer.BadParameter(f"{text!r} is not one of high, low, 1, 0")
    return Priority(named)


def _priority_option(description: str) -> Any:
    return typer.Option(parser=_priority, metavar="[high|low|1|0]", help=description)


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
    priority: Annotated[Priority, _priority_option("HIGH starts first.")] = Priority.LOW,
    duration: Annotated[
        int | None, typer.Option(help="Seconds the run lasts (default: the cluster's range).")
    ] = None,
) -> None:
    """Ask a cluster for resources; the deployment queues until they are free."""
    context = context_of(ctx)
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
    phase: Annotated[
        Phase | None, typer.Option(case_sensitive=False, help="Only this phase.")
    ] = None,
    priority: Annotated[Priority | None, _priority_option("Only this priority.")] = None,
    limit: Annotated[int | None, typer.Option(min=1, help="At most this many.")] = None,
) -> None:
    """Your organization's deployments, in name order."""
    context = context_of(ctx)
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
    context = context_of(ctx)
    with context.client() as client:
        answer = client.get(path("deployments", name))
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
    context = context_of(ctx)
    with context.client() as client:
        answer = client.call("DELETE", path("deployments", name))
    context.show(answer, lambda a: console.print(output.escaped(a["message"])))
