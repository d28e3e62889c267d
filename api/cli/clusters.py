"""``simplismart cluster create|list|show|delete`` and ``simplismart queue CLUSTER``."""

from enum import StrEnum
from typing import Annotated, Any

import typer

from simplismart.api.cli import output
from simplismart.api.cli.client import path
from simplismart.api.cli.context import context_of

cluster_app = typer.Typer(help="Clusters: create, list, show, delete.", no_args_is_help=True)


def usage(cluster: dict[str, Any], resource: str) -> str:
    total = cluster.get(f"total_{resource}")
    used = (cluster.get("allocated") or {}).get(resource)
    return f"{total}" if used is None else f"{used}/{total}"


CLUSTER_COLUMNS = {
    "name": lambda c: c["name"],
    "strategy": lambda c: c["strategy"],
    "cpu": lambda c: usage(c, "cpu"),
    "ram": lambda c: usage(c, "ram"),
    "gpu": lambda c: usage(c, "gpu"),
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
    context = context_of(ctx)
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
    context = context_of(ctx)
    with context.client() as client:
        clusters = client.pages("/clusters", "clusters", None)
    context.show(
        {"message": f"{len(clusters)} cluster(s)", "clusters": clusters},
        lambda a: output.table(a["message"], a["clusters"], CLUSTER_COLUMNS),
    )


def _decision(cluster: dict[str, Any]) -> str | None:
    last = cluster.get("last_decision")
    if not isinstance(last, dict) or not last:
        return None
    gap = last.get("gap")
    in_order, selected = len(last.get("inOrder") or []), len(last.get("selected") or [])
    shown_gap = f"{100 * gap:.3f} %" if isinstance(gap, int | float) else "—"
    return (
        f"{in_order + selected} started: {in_order} in queue order, {selected} chosen by "
        f"{last.get('strategy')} among {last.get('candidates')} candidate(s) in "
        f"{last.get('durationMs')} ms, gap {shown_gap}{_since(last)}"
    )


def _since(record: dict[str, Any]) -> str:
    """``, 3m 20s ago`` of a status record's ``at``, if it has one."""
    elapsed = output.ago(record.get("at"))
    return "" if elapsed is None else f", {elapsed} ago"


def _preemption(cluster: dict[str, Any]) -> str | None:
    last = cluster.get("last_preemption")
    if not isinstance(last, dict) or not last:
        return None
    victims, preemptors = last.get("victims") or [], last.get("preemptors") or []
    return (
        f"evicted {', '.join(map(str, victims))} for {', '.join(map(str, preemptors))} "
        f"({last.get('lostSeconds')} s of run time lost){_since(last)}"
    )


@cluster_app.command("show")
def cluster_show(ctx: typer.Context, name: str) -> None:
    """One cluster: capacity, allocation, counts, the last scheduling decision and eviction."""
    context = context_of(ctx)
    with context.client() as client:
        answer = client.get(path("clusters", name))

    def render(a: dict[str, Any]) -> None:
        cluster = a["cluster"]
        output.fields(
            a["message"],
            cluster,
            {
                **CLUSTER_COLUMNS,
                "observed": lambda c: c["observed"],
                "last decision": _decision,
                "last preemption": _preemption,
            },
        )

    context.show(answer, render)


@cluster_app.command("delete")
def cluster_delete(ctx: typer.Context, name: str) -> None:
    """Delete a cluster and cancel every deployment on it (ADMIN only); run it again to finish
    a deletion the API was interrupted in."""
    context = context_of(ctx)
    with context.client() as client:
        answer = client.call("DELETE", path("clusters", name))

    def render(a: dict[str, Any]) -> None:
        output.console.print(output.escaped(a["message"]))
        if a["cancelled_deployments"]:
            cancelled = ", ".join(a["cancelled_deployments"])
            output.console.print(output.escaped(f"cancelled: {cancelled}"))

    context.show(answer, render)


QUEUE_COLUMNS = {
    "#": lambda q: q.get("position"),
    "name": lambda q: q["name"],
    "priority": lambda q: output.priority(q["priority"]),
    "waited": lambda q: output.ago(q.get("queued_at")),
    "ETA": lambda q: output.until(q.get("estimated_start_at"), "due now"),
    "why it waits": lambda q: q.get("message"),
    "preempted": lambda q: q.get("preemptions") or None,
}


def queue(ctx: typer.Context, cluster: str) -> None:
    """A cluster's queue in order: position, priority, time waited, ETA and the reason."""
    context = context_of(ctx)
    with context.client() as client:
        answer = client.get(path("clusters", cluster))
    with context.reading():
        waiting = list(answer["cluster"]["queue"])
    context.show(
        {"message": f"{len(waiting)} queued", "queue": waiting},
        lambda a: output.table(f"Queue of {cluster}: {a['message']}", a["queue"], QUEUE_COLUMNS),
    )
