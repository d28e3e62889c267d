"""Preemption's part of a pass, without a cluster: the problem it states, the status it writes."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from simplismart.crds import DeploymentStatus, Resources, format_time
from simplismart.operator import planning, statuses
from simplismart.operator.objects import ClusterObject, DeploymentObject
from simplismart.scheduler import forecast, plan_pass

pytestmark = pytest.mark.unit

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def _cluster(cpu: int = 8, **scheduling: Any) -> ClusterObject:
    return ClusterObject.from_body(
        {
            "metadata": {"namespace": "ns", "name": "c", "uid": "c-uid", "generation": 1},
            "spec": {"resources": {"cpu": cpu, "ram": 8, "gpu": 0}, "scheduling": scheduling},
        }
    )


def _deployment(name: str, priority: int = 0, **status: Any) -> DeploymentObject:
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
                "resources": {"cpu": 2, "ram": 2, "gpu": 0},
                "priority": priority,
                "image": "i",
            },
            "status": status,
        }
    )


def _ago(seconds: float) -> str:
    return format_time(NOW - timedelta(seconds=seconds))


MEMBERS = [
    _deployment("old-low", phase="Running", startedAt=_ago(50), preemptions=2),
    _deployment("new-low", phase="Running", startedAt=_ago(5)),
    _deployment("high-run", priority=1, phase="Running", startedAt=_ago(1)),
    _deployment("aged-low", phase="Queued", queuedAt=_ago(1000)),
    _deployment("high-wait", priority=1, phase="Queued", queuedAt=_ago(3)),
]


def test_the_problem_lists_runs_with_their_time_and_only_high_preemptors() -> None:
    cluster = _cluster(preemption="LowerPriority", maxPreemptions=2)
    problem = planning.preemption(cluster, planning.plan(cluster, MEMBERS, NOW), NOW)
    assert problem is not None
    assert problem.max_preemptions == 2
    assert problem.free == {"cpu": 2, "ram": 2, "gpu": 0}
    assert [(r.id, r.priority, r.used_seconds, r.preemptions) for r in problem.running] == [
        ("old-low", 0, 50.0, 2),
        ("new-low", 0, 5.0, 0),
        ("high-run", 1, 1.0, 0),
    ]
    # The aged LOW one is first in the queue but does not preempt.
    assert [p.id for p in problem.preemptors] == ["high-wait"]


@pytest.mark.parametrize(("reservations", "stops"), [(1, True), (0, False)])
def test_with_reservations_no_preemptor_evicts_past_a_blocked_one(
    reservations: int, stops: bool
) -> None:
    cluster = _cluster(preemption="LowerPriority", reservations=reservations)
    problem = planning.preemption(cluster, planning.plan(cluster, MEMBERS, NOW), NOW)
    assert problem is not None
    assert problem.stop_at_blocked is stops


def test_the_time_aware_pass_knows_who_may_be_evicted() -> None:
    cluster = _cluster(preemption="LowerPriority", maxPreemptions=2)
    state = planning.cluster_state(cluster, planning.plan(cluster, MEMBERS, NOW), NOW)
    assert (state.preemption, state.max_preemptions) == (True, 2)
    assert [(r.id, state.preemptible(r), r.started_at) for r in state.running] == [
        ("old-low", False, (NOW - timedelta(seconds=50)).timestamp()),  # at its limit
        ("new-low", True, (NOW - timedelta(seconds=5)).timestamp()),
        ("high-run", False, (NOW - timedelta(seconds=1)).timestamp()),
    ]
    assert [(w.id, state.preempts(w)) for w in state.waiting] == [
        ("aged-low", False),
        ("high-wait", True),
    ]
    never = _cluster()
    assert not planning.cluster_state(never, planning.plan(never, MEMBERS, NOW), NOW).preemption


@pytest.mark.parametrize("scheduling", [{}, {"preemption": "Never"}])
def test_a_never_cluster_states_no_problem(scheduling: dict[str, Any]) -> None:
    cluster = _cluster(**scheduling)
    assert planning.preemption(cluster, planning.plan(cluster, MEMBERS, NOW), NOW) is None


def test_a_cluster_that_shrank_below_its_runs_waits_for_them_instead_of_evicting() -> None:
    """Evicting there would start a HIGH one on capacity that does not exist: neither the
    eviction step nor the waiting HIGH one's promise and reason count on it."""
    members = [
        _deployment("low-a", phase="Running", startedAt=_ago(5), expiresAt=_ago(-60)),
        _deployment("low-b", phase="Running", startedAt=_ago(5), expiresAt=_ago(-40)),
        _deployment("high-wait", priority=1, phase="Queued", queuedAt=_ago(3)),
    ]
    shrunk = _cluster(cpu=2, preemption="LowerPriority")
    current = planning.plan(shrunk, members, NOW)
    assert planning.preemption(shrunk, current, NOW) is None
    state = planning.cluster_state(shrunk, current, NOW)
    assert not state.preemption
    outlook = forecast(plan_pass(state), [])
    assert (
        outlook.reasons["high-wait"] == "reserved: starts when low-b and low-a finish (~12:01:00)"
    )
    assert outlook.estimated_start["high-wait"] == (NOW + timedelta(seconds=60)).timestamp()


def test_eviction_requeues_at_the_original_place_and_counts() -> None:
    previous = DeploymentStatus.model_validate(
        {"phase": "Running", "queuedAt": _ago(100), "startedAt": _ago(40), "preemptions": 1}
    )
    patch = statuses.preempted(previous, NOW, ["urgent"], generation=1)
    assert patch["phase"] == "Queued"
    assert patch["queuedAt"] == _ago(100)
    assert patch["preemptions"] == 2
    assert (patch["startedAt"], patch["expiresAt"], patch["allocated"]) == (None, None, None)
    (condition,) = [c for c in patch["conditions"] if c["type"] == "Preempted"]
    assert condition["status"] == "True"
    assert "for HIGH deployment 'urgent'" in condition["message"]
    two = statuses.preempted(previous, NOW, ["a", "b"], generation=1)
    assert "for HIGH deployments 'a', 'b'" in two["message"]
    assert condition["lastTransitionTime"] == format_time(NOW)

    # Later transitions carry the last preemption forward (a merge patch replaces the list).
    requeued = DeploymentStatus.model_validate(patch)
    later = NOW + timedelta(seconds=9)
    place = statuses.Place("c", NOW - timedelta(seconds=100))
    restarted = statuses.running(
        requeued,
        later,
        place,
        "c-uid",
        later + timedelta(seconds=60),
        Resources(cpu=2, ram=2, gpu=0),
        1,
    )
    assert (restarted["queuedAt"], restarted["queuedOn"]) == (_ago(100), "c")
    assert [c for c in restarted["conditions"] if c["type"] == "Preempted"] == [condition]
