"""Preemption in the time-aware pass: promises that count on evicting, ETAs that replay it.

The unit cases pin the rules on small clusters; the property test replays random arrival
streams through what the operator does in a pass (the preemption step, then `plan_pass`
and `solve`), evicting for real, and checks that capacity is never over-committed, that
the first reserved HIGH deployment starts by its promise, and that everything starts.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import given, settings
from simulation import Arrival

from simplismart.scheduler import (
    ClusterState,
    PreemptionProblem,
    Preemptor,
    ProblemError,
    Running,
    RunningDeployment,
    Waiting,
    forecast,
    plan_pass,
    select_victims,
    solve,
)
from simplismart.scheduler.problem import HIGH, LOW
from tests.scheduler.test_guarantee import CAPACITY, streams

pytestmark = pytest.mark.unit

NOW = 43_200.0  # 12:00:00 UTC on the first day of the epoch, so reasons read as clock times


def _blocked_by_a_high_run(**changes: Any) -> ClusterState:
    """8 CPU: a HIGH run of 4 CPU ends in 3 s, two LOW runs of 2 CPU in 60 s; a 6-CPU HIGH
    waits (evicting both LOW runs would free only 4), then a 2-CPU LOW."""
    fields: dict[str, Any] = {
        "capacity": {"cpu": 8},
        "running": [
            Running("high-run", {"cpu": 4}, NOW + 3, priority=HIGH),
            Running("low-old", {"cpu": 2}, NOW + 60, started_at=NOW - 50),
            Running("low-new", {"cpu": 2}, NOW + 60, started_at=NOW - 5),
        ],
        "waiting": [
            Waiting("urgent", {"cpu": 6}, HIGH, 1.0, expected_seconds=5, max_seconds=5),
            Waiting("later", {"cpu": 2}, LOW, 0.5, expected_seconds=60, max_seconds=60),
        ],
        "now": NOW,
        "preemption": True,
    }
    return ClusterState(**(fields | changes))


def _outlook(state: ClusterState) -> tuple[Any, dict[str, float | None], dict[str, str]]:
    plan = plan_pass(state)
    started = plan.starts(solve(plan.problem, seed=1))
    assert started == ()
    outlook = forecast(plan, started)
    estimated = {
        name: None if at is None else at - NOW for name, at in outlook.estimated_start.items()
    }
    return plan, estimated, dict(outlook.reasons)


def test_a_high_deployment_is_promised_the_end_of_what_it_cannot_evict() -> None:
    plan, estimated, reasons = _outlook(_blocked_by_a_high_run())
    (promise,) = plan.reserved
    assert (promise.id, promise.at - NOW, promise.after, promise.evicting) == (
        "urgent",
        3.0,
        ("high-run",),
        True,
    )
    assert estimated["urgent"] == 3.0
    assert (
        reasons["urgent"]
        == "reserved: starts when high-run finishes, evicting LOW runs (~12:00:03)"
    )
    # What outlives the promise must fit beside it, the LOW runs it will evict counted as held:
    # the LOW one waiting would only be evicted again.
    assert plan.problem.reservations[0].capacity == {"cpu": 0}


def test_a_never_cluster_promises_the_end_of_every_run_in_the_way() -> None:
    plan, estimated, reasons = _outlook(_blocked_by_a_high_run(preemption=False))
    (promise,) = plan.reserved
    assert (promise.at - NOW, promise.evicting) == (60.0, False)
    assert estimated["urgent"] == 60.0
    assert reasons["urgent"] == (
        "reserved: starts when high-run, low-new and low-old finish (~12:01:00)"
    )


def test_a_low_eta_is_a_start_estimate_behind_the_evictions() -> None:
    """ "later" starts when "urgent" (which evicts one LOW run at +3 s) ends at +8 s; the
    replay does not restart the evicted run, so that is the earliest it may start."""
    _, estimated, _ = _outlook(_blocked_by_a_high_run())
    assert estimated["later"] == 8.0


def test_runs_at_their_preemption_limit_are_waited_for() -> None:
    running = [
        Running("high-run", {"cpu": 4}, NOW + 3, priority=HIGH),
        Running("low-old", {"cpu": 2}, NOW + 60, started_at=NOW - 50, preemptions=3),
        Running("low-new", {"cpu": 2}, NOW + 60, started_at=NOW - 5, preemptions=3),
    ]
    plan, estimated, _ = _outlook(_blocked_by_a_high_run(running=running))
    assert (plan.reserved[0].at - NOW, plan.reserved[0].evicting) == (60.0, False)
    assert estimated["urgent"] == 60.0


def test_a_high_deployment_the_next_pass_places_by_evicting_is_due_now() -> None:
    """As after a pass whose eviction lost a race: the next pass starts it at once."""
    running = [
        Running("low-old", {"cpu": 4}, NOW + 60, started_at=NOW - 50),
        Running("low-new", {"cpu": 4}, NOW + 60, started_at=NOW - 5),
    ]
    plan, estimated, reasons = _outlook(_blocked_by_a_high_run(running=running))
    assert (plan.reserved[0].at, plan.reserved[0].evicting) == (NOW, True)
    assert estimated["urgent"] == 0.0
    assert reasons["urgent"] == "reserved: starts by evicting LOW runs (~12:00:00)"


def test_only_the_first_blocked_high_deployment_counts_on_evicting() -> None:
    """With reservations the preemption step stops at the first blocked HIGH deployment, so
    the second reservation waits for the runs it cannot evict and for the first."""
    waiting = [
        Waiting("urgent", {"cpu": 6}, HIGH, 2.0, expected_seconds=5, max_seconds=5),
        Waiting("next", {"cpu": 6}, HIGH, 1.0, expected_seconds=5, max_seconds=5),
    ]
    plan = plan_pass(_blocked_by_a_high_run(waiting=waiting, reservations=2))
    assert [(r.id, r.at - NOW, r.evicting) for r in plan.reserved] == [
        ("urgent", 3.0, True),
        ("next", 60.0, False),
    ]
    # The replay knows that "urgent" evicts one LOW run at +3 s: "next" fits when it ends.
    outlook = forecast(plan, ())
    assert outlook.estimated_start["next"] == NOW + 8.0


def _preemption(*, stop_at_blocked: bool) -> PreemptionProblem:
    return PreemptionProblem(
        capacity={"cpu": 8},
        free={"cpu": 0},
        running=[
            RunningDeployment("high", {"cpu": 4}, priority=HIGH),
            RunningDeployment("low", {"cpu": 4}, used_seconds=10.0),
        ],
        preemptors=[Preemptor("large", {"cpu": 6}), Preemptor("small", {"cpu": 2})],
        stop_at_blocked=stop_at_blocked,
    )


def test_with_reservations_no_preemptor_evicts_past_a_blocked_one() -> None:
    assert select_victims(_preemption(stop_at_blocked=False)).victims == ("low",)
    stopped = select_victims(_preemption(stop_at_blocked=True))
    assert (stopped.victims, stopped.admitted, stopped.blocked) == ((), (), ("large", "small"))


def test_a_preemptor_no_eviction_can_place_is_told_why_in_numbers() -> None:
    preemption = select_victims(_preemption(stop_at_blocked=True))
    (shortfall,) = preemption.shortfalls  # "small" is blocked behind it, not short
    assert (shortfall.id, shortfall.needs, shortfall.most) == ("large", {"cpu": 6}, {"cpu": 4})


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"preemption": "yes"}, "preemption"),
        ({"max_preemptions": -1}, "max_preemptions"),
        ({"running": [Running("r", {"cpu": 1}, priority=2)]}, "running[0].priority"),
        ({"running": [Running("r", {"cpu": 1}, preemptions=-1)]}, "running[0].preemptions"),
        ({"running": [Running("r", {"cpu": 1}, started_at=math.nan)]}, "running[0].started_at"),
        ({"waiting": [Waiting("w", {"cpu": 1}, preemptions=1.5)]}, "waiting[0].preemptions"),  # type: ignore[arg-type]
    ],
)
def test_a_bad_preemption_field_names_it(changes: dict[str, Any], field: str) -> None:
    with pytest.raises(ProblemError) as error:
        _blocked_by_a_high_run(**changes)
    assert error.value.field == field


# A simulation of the operator's passes with eviction: the property test.

MAX_PREEMPTIONS = 2


@dataclass(slots=True)
class Life:
    """One deployment's history in the simulation."""

    arrival: Arrival
    starts: list[float] = dataclasses.field(default_factory=list)
    preemptions: int = 0
    first_promise: float | None = None
    eta_when_promised: float | None = None


def _simulate(arrivals: list[Arrival]) -> dict[str, Life]:
    """Passes at every arrival and end, as the operator runs them: evictions (requeued with
    their original arrival), the preemptors' starts, then the time-aware pass."""
    lives = {a.id: Life(a) for a in arrivals}
    queued: set[str] = set()
    running: dict[str, float] = {}  # id -> end
    upcoming = sorted(arrivals, key=lambda a: a.at, reverse=True)
    while upcoming or queued:
        now = min([upcoming[-1].at if upcoming else math.inf, *running.values()])
        assert math.isfinite(now), "stuck: nothing runs and nothing arrives"
        for name in [n for n, end in running.items() if end <= now]:
            del running[name]
        while upcoming and upcoming[-1].at <= now:
            queued.add(upcoming.pop().id)
        _pass(lives, queued, running, now)
    return lives


def _pass(lives: dict[str, Life], queued: set[str], running: dict[str, float], now: float) -> None:
    in_order = sorted(queued, key=lambda n: (-lives[n].arrival.priority, lives[n].arrival.at, n))
    free = _free(lives, running)
    problem = PreemptionProblem(
        capacity=CAPACITY,
        free=free,
        running=[
            RunningDeployment(
                n,
                lives[n].arrival.requests,
                priority=lives[n].arrival.priority,
                used_seconds=now - lives[n].starts[-1],
                preemptions=lives[n].preemptions,
            )
            for n in running
        ],
        preemptors=[
            Preemptor(n, lives[n].arrival.requests)
            for n in in_order
            if lives[n].arrival.priority == HIGH
        ],
        max_preemptions=MAX_PREEMPTIONS,
        stop_at_blocked=True,
    )
    preemption = select_victims(problem)
    if preemption.victims:
        for name in preemption.victims:
            del running[name]
            lives[name].preemptions += 1
            queued.add(name)
        _start(lives, queued, running, preemption.admitted, now)
    state = ClusterState(
        capacity=CAPACITY,
        running=[
            Running(
                n,
                lives[n].arrival.requests,
                end,
                priority=lives[n].arrival.priority,
                preemptions=lives[n].preemptions,
                started_at=lives[n].starts[-1],
            )
            for n, end in running.items()
        ],
        waiting=[
            Waiting(
                n,
                lives[n].arrival.requests,
                lives[n].arrival.priority,
                now - lives[n].arrival.at,
                expected_seconds=lives[n].arrival.runs_seconds,
                max_seconds=lives[n].arrival.runs_seconds,
                preemptions=lives[n].preemptions,
            )
            for n in queued
        ],
        now=now,
        preemption=True,
        max_preemptions=MAX_PREEMPTIONS,
    )
    plan = plan_pass(state)
    started = plan.starts(solve(plan.problem, seed=1, time_limit=1.0))
    _start(lives, queued, running, started, now)
    if plan.reserved:
        first = lives[plan.reserved[0].id]
        if first.arrival.priority == HIGH and first.first_promise is None:
            first.first_promise = plan.reserved[0].at
            first.eta_when_promised = forecast(plan, started).estimated_start[first.arrival.id]


def _start(
    lives: dict[str, Life],
    queued: set[str],
    running: dict[str, float],
    names: tuple[str, ...],
    now: float,
) -> None:
    for name in names:
        queued.remove(name)
        running[name] = now + lives[name].arrival.runs_seconds
        lives[name].starts.append(now)
    for resource, amount in _free(lives, running).items():
        assert amount >= 0, f"over-committed {resource} at {now}"


def _free(lives: dict[str, Life], running: dict[str, float]) -> dict[str, int]:
    return {
        resource: total - sum(lives[n].arrival.requests.get(resource, 0) for n in running)
        for resource, total in CAPACITY.items()
    }


@settings(max_examples=60, deadline=None)
@given(arrivals=streams(declared=True))
def test_evictions_keep_capacity_and_the_first_high_promise(arrivals: list[Arrival]) -> None:
    for life in _simulate(arrivals).values():
        assert life.starts, life  # nothing is stuck
        assert life.preemptions <= MAX_PREEMPTIONS, life
        assert len(life.starts) == life.preemptions + 1, life
        if life.arrival.priority == HIGH:
            assert life.preemptions == 0, life
        if life.first_promise is not None:
            # Its promise is kept, and its ETA then was no later than the promise.
            assert life.starts[0] <= life.first_promise + 1e-6, life
            assert life.eta_when_promised is not None
            assert life.eta_when_promised <= life.first_promise + 1e-6, life
