"""The rules of a pass, decided without a cluster: who waits, in which order, who is Pending."""

import dataclasses
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from simplismart.crds import format_time
from simplismart.operator import planning
from simplismart.operator.objects import ClusterObject, DeploymentObject
from simplismart.scheduler import plan_pass

pytestmark = pytest.mark.unit

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def cluster(cpu: int = 10, ram: int = 10, gpu: int = 2, aging: int = 600) -> ClusterObject:
    return ClusterObject.from_body(
        {
            "metadata": {"namespace": "ns", "name": "c", "uid": "c-uid", "generation": 1},
            "spec": {
                "resources": {"cpu": cpu, "ram": ram, "gpu": gpu},
                "scheduling": {"agingSeconds": aging},
            },
        }
    )


def deployment(
    name: str,
    cpu: int = 1,
    priority: int = 0,
    phase: str | None = None,
    waited: float | None = None,
    allocated: dict[str, int] | None = None,
    duration: int | None = None,
    expires: datetime | None = None,
    queued_on: str | None = None,
) -> DeploymentObject:
    status: dict[str, Any] = {} if queued_on is None else {"queuedOn": queued_on}
    if expires:
        status["expiresAt"] = format_time(expires)
    if phase:
        status["phase"] = phase
    if waited is not None:
        status["queuedAt"] = format_time(NOW - timedelta(seconds=waited))
    if allocated:
        status["allocated"] = allocated
    return DeploymentObject.from_body(
        {
            "metadata": {
                "namespace": "ns",
                "name": name,
                "uid": f"{name}-uid",
                "resourceVersion": "1",
                "generation": 1,
            },
            "spec": {
                "cluster": "c",
                "resources": {"cpu": cpu, "ram": 1, "gpu": 0},
                "priority": priority,
                "image": "i",
                **({"durationSeconds": duration} if duration else {}),
            },
            "status": status,
        }
    )


def test_without_a_cluster_everything_unfinished_is_pending() -> None:
    plan = planning.plan(
        None,
        [deployment("a", phase="Running"), deployment("b"), deployment("c", phase="Succeeded")],
        NOW,
    )
    assert [(h.deployment.name, h.reason) for h in plan.holds] == [
        ("a", planning.CLUSTER_NOT_FOUND),
        ("b", planning.CLUSTER_NOT_FOUND),
    ]
    assert plan.queue == []


def test_a_request_larger_than_the_cluster_is_held_with_the_resource_named() -> None:
    plan = planning.plan(cluster(cpu=4), [deployment("big", cpu=5), deployment("ok", cpu=4)], NOW)
    (hold,) = plan.holds
    assert hold.reason == planning.EXCEEDS_CAPACITY
    assert "cpu 5 > 4" in hold.message
    assert [d.name for d in plan.queue] == ["ok"]


def test_free_capacity_counts_what_running_deployments_were_admitted_with() -> None:
    running = deployment("r", cpu=1, phase="Running", allocated={"cpu": 3, "ram": 2, "gpu": 1})
    plan = planning.plan(cluster(), [running, deployment("q", phase="Queued", waited=1)], NOW)
    assert plan.free(cluster()).as_dict() == {"cpu": 7, "ram": 8, "gpu": 1}


def test_queue_order_is_priority_then_age_and_aged_low_counts_as_high() -> None:
    plan = planning.plan(
        cluster(aging=60),
        [
            deployment("low-new", phase="Queued", waited=5),
            deployment("high-new", priority=1, phase="Queued", waited=1),
            deployment("low-aged", phase="Queued", waited=120),
            deployment("high-old", priority=1, phase="Queued", waited=30),
            deployment("fresh"),
        ],
        NOW,
    )
    assert [d.name for d in plan.queue] == [
        "low-aged",
        "high-old",
        "high-new",
        "low-new",
        "fresh",
    ]


def test_a_deployment_moved_from_another_clusters_queue_joins_this_one_afresh() -> None:
    """Its wait there neither places it ahead of this queue's earlier arrivals nor ages it."""
    moved = deployment("moved", phase="Queued", waited=500, queued_on="elsewhere")
    plan = planning.plan(
        cluster(aging=60),
        [moved, deployment("here", phase="Queued", waited=10, queued_on="c")],
        NOW,
    )
    assert [d.name for d in plan.queue] == ["here", "moved"]
    assert planning.waited_seconds(moved, NOW) == 0
    assert planning.joins_queue(moved)
    # A status from before the cluster was recorded counts as this cluster's.
    older = deployment("older", phase="Queued", waited=500)
    assert planning.waited_seconds(older, NOW) == 500
    assert planning.joins_queue(older)  # rewritten once, to record it


def test_problem_carries_waits_priorities_and_free_capacity() -> None:
    c = cluster(cpu=4, aging=60)
    plan = planning.plan(
        c,
        [deployment("run", cpu=3, phase="Running"), deployment("wait", phase="Queued", waited=9)],
        NOW,
    )
    state = planning.cluster_state(c, plan, NOW)
    # With a reservation on, "wait" (first in line, and it fits) starts before any search.
    assert plan_pass(state).first == ("wait",)
    problem = plan_pass(dataclasses.replace(state, reservations=0)).problem
    assert problem.free == {"cpu": 1, "ram": 9, "gpu": 2}
    assert problem.total == {"cpu": 4, "ram": 10, "gpu": 2}
    (candidate,) = problem.candidates
    assert candidate.id == "wait"
    assert candidate.waited_seconds == pytest.approx(9)


def test_the_cluster_state_knows_when_runs_end_and_how_long_queued_ones_run() -> None:
    c = cluster(cpu=4)  # the run window defaults to 20-30 s
    ends = NOW + timedelta(seconds=12)
    running = deployment("run", cpu=3, phase="Running", expires=ends)
    declared = deployment("declared", phase="Queued", waited=5, duration=7)
    plan = planning.plan(c, [running, declared, deployment("drawn", phase="Queued")], NOW)
    state = planning.cluster_state(c, plan, NOW)
    assert state.now == NOW.timestamp()
    assert state.reservations == 1
    (run,) = state.running
    assert (run.id, run.ends_at) == ("run", ends.timestamp())
    by_id = {w.id: w for w in state.waiting}
    assert (by_id["declared"].expected_seconds, by_id["declared"].max_seconds) == (7, 7)
    assert (by_id["drawn"].expected_seconds, by_id["drawn"].max_seconds) == (25, 30)
