"""The time-aware pass: reservations, backfill limits, ETAs and reasons."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings

from simplismart.scheduler import (
    ClusterState,
    Problem,
    ProblemError,
    Running,
    Strategy,
    Waiting,
    forecast,
    plan_pass,
    solve,
)
from simplismart.scheduler.problem import HIGH, LOW, Candidate, Reservation
from simplismart.scheduler.timeline import Timeline
from tests.scheduler.instances import brute_force, feasible, problems, score

pytestmark = pytest.mark.unit

NOW = 43_200.0  # 12:00:00 UTC on the first day of the epoch, so reasons read as clock times


def _vector(*amounts: int) -> np.ndarray:
    return np.array(amounts, dtype=np.int64)


def test_the_timeline_finds_the_first_moment_a_request_fits_for_its_whole_run() -> None:
    timeline = Timeline(_vector(8), start=0.0)
    timeline.hold(0.0, 10.0, _vector(4))
    timeline.hold(0.0, 20.0, _vector(4))
    timeline.hold(30.0, 40.0, _vector(6))  # a reservation later on
    assert timeline.earliest_fit(_vector(4), 5.0) == 10.0
    # 4 CPU from 10 s for 25 s would overlap the 6 CPU reserved at 30 s: after it, then.
    assert timeline.earliest_fit(_vector(4), 25.0) == 40.0
    assert timeline.earliest_fit(_vector(2), 25.0) == 10.0
    assert timeline.earliest_fit(_vector(3), 25.0) == 40.0
    assert timeline.in_use(35.0).tolist() == [6]
    assert timeline.earliest_fit(_vector(9), 1.0) is None


def test_a_hold_without_end_blocks_for_ever() -> None:
    timeline = Timeline(_vector(8), start=0.0)
    timeline.hold(0.0, float("inf"), _vector(6))
    assert timeline.earliest_fit(_vector(4), 1.0) is None
    assert timeline.earliest_fit(_vector(2), float("inf")) == 0.0


def _starving(**changes: Any) -> ClusterState:
    """The issue's scenario: four 2-CPU runs, an 8-CPU HIGH first in line, a 2-CPU stream."""
    fields: dict[str, Any] = {
        "capacity": {"cpu": 8},
        "running": [Running(f"r{n}", {"cpu": 2}, NOW + 1 + n) for n in range(4)],
        "waiting": [
            Waiting("large", {"cpu": 8}, HIGH, 5.0, expected_seconds=3, max_seconds=3),
            Waiting("short", {"cpu": 2}, LOW, 1.0, expected_seconds=1, max_seconds=1),
            Waiting("long", {"cpu": 2}, HIGH, 2.0, expected_seconds=30, max_seconds=30),
        ],
        "now": NOW,
    }
    return ClusterState(**(fields | changes))


def test_the_first_blocked_deployment_is_promised_the_earliest_start() -> None:
    plan = plan_pass(_starving())
    (promise,) = plan.reserved
    assert promise.id == "large"
    assert promise.at == NOW + 4
    assert promise.after == ("r0", "r1", "r2", "r3")
    assert plan.first == ()
    assert plan.problem.reservations == [Reservation(4.0, {"cpu": 0})]


def test_a_short_deployment_backfills_and_a_long_one_cannot_jump_the_reservation() -> None:
    running = [Running("r0", {"cpu": 2}, NOW + 4), Running("r1", {"cpu": 4}, NOW + 4)]
    plan = plan_pass(_starving(running=running))
    assert [c.id for c in plan.problem.candidates] == ["long", "short"]
    for strategy in (Strategy.COMBINATIONS, Strategy.GENETIC, Strategy.OPTIMAL):
        selection = solve(plan.problem, strategy, seed=1)
        # "long" (HIGH) would score more, but it would still hold 2 CPU when "large" starts.
        assert plan.starts(selection) == ("short",), strategy


def test_the_head_of_the_queue_starts_in_order_before_any_reservation() -> None:
    state = _starving(
        running=[Running("r0", {"cpu": 4}, NOW + 10)],
        waiting=[
            Waiting("a", {"cpu": 2}, HIGH, 9.0, max_seconds=5),
            Waiting("b", {"cpu": 4}, HIGH, 8.0, max_seconds=5),
            Waiting("c", {"cpu": 1}, LOW, 7.0, max_seconds=5),
        ],
    )
    plan = plan_pass(state)
    assert plan.first == ("a",)
    assert [r.id for r in plan.reserved] == ["b"]
    # "b" needs 4 of the 8 CPU: "r0" holds 4 until +10, and "a" 2 until +5.
    assert plan.reserved[0].at == NOW + 5
    assert plan.reserved[0].after == ("a",)


def test_without_reservations_the_problem_is_todays() -> None:
    state = _starving(reservations=0)
    plan = plan_pass(state)
    assert plan.first == ()
    assert plan.reserved == ()
    assert plan.problem.reservations == []
    assert plan.problem.free == {"cpu": 0}
    assert [c.id for c in plan.problem.candidates] == ["large", "long", "short"]


def test_several_reservations_queue_up_one_after_the_other() -> None:
    waiting = [
        Waiting(f"big{n}", {"cpu": 8}, HIGH, 10.0 - n, expected_seconds=3, max_seconds=3)
        for n in range(3)
    ]
    plan = plan_pass(_starving(waiting=waiting, reservations=2))
    assert [(r.id, r.at - NOW) for r in plan.reserved] == [("big0", 4.0), ("big1", 7.0)]
    assert plan.reserved[1].after[-1] == "big0"


def test_a_shrunk_cluster_promises_only_what_fits() -> None:
    """Running 8 CPU on a cluster now of 4: nothing starts until enough has ended."""
    state = _starving(
        capacity={"cpu": 4},
        running=[Running(f"r{n}", {"cpu": 2}, NOW + 1 + n) for n in range(4)],
        waiting=[Waiting("four", {"cpu": 4}, HIGH, 1.0, max_seconds=3)],
    )
    plan = plan_pass(state)
    assert plan.problem.free == {"cpu": 0}
    assert plan.reserved[0].at == NOW + 4


@pytest.mark.parametrize("strategy", [Strategy.COMBINATIONS, Strategy.GENETIC, Strategy.OPTIMAL])
def test_a_later_reservation_never_holds_back_a_deployment_ahead_of_it(
    strategy: Strategy,
) -> None:
    """`late` is promised its start counting `early` (which fits now) as started: it arrived
    after `early`, so its promise must not keep `early` waiting."""
    state = ClusterState(
        capacity={"cpu": 10},
        now=NOW,
        reservations=2,
        running=[Running("run", {"cpu": 6}, NOW + 10)],
        waiting=[
            Waiting("head", {"cpu": 6}, LOW, 300.0, max_seconds=10),
            Waiting("early", {"cpu": 4}, LOW, 200.0, max_seconds=100),
            Waiting("late", {"cpu": 10}, LOW, 100.0, max_seconds=10),
        ],
    )
    plan = plan_pass(state)
    assert [(r.id, r.at - NOW) for r in plan.reserved] == [("head", 10.0), ("late", 100.0)]
    assert plan.reserved[1].after == ("run", "head", "early")
    assert plan.starts(solve(plan.problem, strategy, seed=1)) == ("early",)


def test_a_resource_a_deployment_asks_none_of_never_delays_its_reservation() -> None:
    """The GPUs shrank to none under a GPU run: a CPU-only deployment waits for CPU only."""
    state = _starving(
        capacity={"cpu": 8, "gpu": 0},
        running=[
            Running("gpu-run", {"cpu": 2, "gpu": 1}, NOW + 4000),
            Running("cpu-run", {"cpu": 6}, NOW + 10),
        ],
        waiting=[Waiting("cpu-only", {"cpu": 6}, LOW, 50.0, max_seconds=60)],
    )
    plan = plan_pass(state)
    assert [(r.id, r.at - NOW, r.after) for r in plan.reserved] == [
        ("cpu-only", 10.0, ("cpu-run",))
    ]
    unreserved = plan_pass(dataclasses.replace(state, reservations=0))
    outlook = forecast(unreserved, unreserved.starts(solve(unreserved.problem)))
    assert outlook.reasons["cpu-only"] == "waiting for capacity: cpu 6 > 0 free"


def test_a_request_larger_than_the_cluster_gets_no_reservation() -> None:
    waiting = [
        Waiting("huge", {"cpu": 16}, HIGH, 9.0, max_seconds=3),
        Waiting("large", {"cpu": 8}, HIGH, 5.0, max_seconds=3),
    ]
    plan = plan_pass(_starving(waiting=waiting))
    assert [r.id for r in plan.reserved] == ["large"]
    outlook = forecast(plan, plan.starts(solve(plan.problem)))
    assert outlook.estimated_start["huge"] is None
    assert outlook.reasons["huge"] == "waiting: asks more than the cluster has in total"


@pytest.mark.parametrize(
    "never", [Waiting("never", {"cpu": 20}, HIGH, 100.0, max_seconds=60), None]
)
def test_a_deployment_that_can_never_fit_does_not_stop_the_head(never: Waiting | None) -> None:
    """First in line but never fitting (larger than the cluster, or blocked by a run with no
    known end): the reserved deployment behind it starts at its promise, not a later arrival."""
    forever = Running("forever", {"cpu": 3}, None)
    waiting = [
        never or Waiting("never", {"cpu": 8}, HIGH, 100.0, max_seconds=60),
        Waiting("promised", {"cpu": 6}, HIGH, 50.0, max_seconds=60),
        Waiting("later", {"cpu": 7}, HIGH, 0.0, max_seconds=60),
    ]
    before = plan_pass(
        ClusterState(
            capacity={"cpu": 10},
            running=[forever, Running("r", {"cpu": 3}, NOW + 10)],
            waiting=waiting,
            now=NOW,
        )
    )
    assert [(r.id, r.at - NOW) for r in before.reserved] == [("promised", 10.0)]
    aged = [dataclasses.replace(w, waited_seconds=w.waited_seconds + 10) for w in waiting]
    at_promise = plan_pass(
        ClusterState(capacity={"cpu": 10}, running=[forever], waiting=aged, now=NOW + 10)
    )
    assert at_promise.first == ("promised",)
    for strategy in (Strategy.COMBINATIONS, Strategy.GENETIC, Strategy.OPTIMAL):
        selection = solve(at_promise.problem, strategy, seed=1)
        assert at_promise.starts(selection) == ("promised",)


def test_a_shrunk_cluster_that_allows_preemption_promises_the_end_of_its_runs() -> None:
    """It evicts nothing until its runs fit again, so the promise does not count on evicting."""
    state = ClusterState(
        capacity={"cpu": 4},
        running=[Running("low", {"cpu": 5}, NOW + 10, priority=LOW, started_at=NOW - 60)],
        waiting=[Waiting("high", {"cpu": 2}, HIGH, 10.0, expected_seconds=30, max_seconds=30)],
        now=NOW,
        preemption=True,
    )
    plan = plan_pass(state)
    assert [(r.id, r.at - NOW, r.after, r.evicting) for r in plan.reserved] == [
        ("high", 10.0, ("low",), False)
    ]
    outlook = forecast(plan, plan.starts(solve(plan.problem)))
    assert outlook.estimated_start == {"high": NOW + 10}
    assert outlook.reasons["high"] == "reserved: starts when low finishes (~12:00:10)"


def test_a_reserved_run_of_no_length_still_holds_its_capacity_at_its_start() -> None:
    """Its reservation row leaves room for it: what would outlive its start waits."""
    state = ClusterState(
        capacity={"cpu": 6},
        running=[Running("r", {"cpu": 3}, NOW + 10)],
        waiting=[
            Waiting("instant", {"cpu": 5}, HIGH, 50.0, max_seconds=0),
            Waiting("long", {"cpu": 3}, LOW, 0.0, max_seconds=100),
        ],
        now=NOW,
    )
    plan = plan_pass(state)
    assert [(r.id, r.at - NOW) for r in plan.reserved] == [("instant", 10.0)]
    assert plan.problem.reservations == [Reservation(10.0, {"cpu": 1})]
    assert plan.starts(solve(plan.problem)) == ()


def test_a_run_expected_to_take_no_time_ends_in_the_replay() -> None:
    """It ends an instant after it starts, so what waits for it has an ETA."""
    state = ClusterState(
        capacity={"cpu": 4},
        running=[],
        waiting=[
            Waiting("instant", {"cpu": 4}, HIGH, 10.0, expected_seconds=0, max_seconds=10),
            Waiting("next", {"cpu": 4}, HIGH, 5.0, expected_seconds=5, max_seconds=10),
        ],
        now=NOW,
    )
    plan = plan_pass(state)
    assert plan.first == ("instant",)
    eta = forecast(plan, plan.starts(solve(plan.problem))).estimated_start["next"]
    assert eta == pytest.approx(NOW, abs=1e-6)


def test_a_reserved_start_past_the_year_9999_reads_as_seconds_from_now() -> None:
    running = [Running("r", {"cpu": 8}, 1e12)]
    waiting = [Waiting("large", {"cpu": 8}, HIGH, 5.0, max_seconds=3)]
    plan = plan_pass(_starving(running=running, waiting=waiting))
    outlook = forecast(plan, plan.starts(solve(plan.problem)))
    assert outlook.estimated_start == {"large": 1e12}
    assert outlook.reasons["large"] == (
        f"reserved: starts when r finishes (~in {1e12 - NOW:,.0f} s)"
    )


def test_the_forecast_replays_the_policy() -> None:
    plan = plan_pass(_starving())
    started = plan.starts(solve(plan.problem))
    outlook = forecast(plan, started)
    # "short" backfills when r0 ends at +1 (it ends at +2, before +4); "large" starts at +4
    # as promised; "long" after "large" ends at +7.
    assert outlook.estimated_start == {"large": NOW + 4, "short": NOW + 1, "long": NOW + 7}
    assert outlook.reasons["large"] == (
        "reserved: starts when r0, r1, r2 and 1 more finish (~12:00:04)"
    )
    assert outlook.reasons["long"] == "waiting behind 1 HIGH deployment"


def test_reasons_name_a_reservation_that_blocks_a_deployment_which_fits() -> None:
    running = [Running("r0", {"cpu": 2}, NOW + 4), Running("r1", {"cpu": 4}, NOW + 4)]
    waiting = [
        Waiting("large", {"cpu": 8}, HIGH, 5.0, expected_seconds=3, max_seconds=3),
        Waiting("long", {"cpu": 2}, HIGH, 2.0, expected_seconds=30, max_seconds=30),
    ]
    plan = plan_pass(_starving(running=running, waiting=waiting))
    outlook = forecast(plan, plan.starts(solve(plan.problem)))
    assert outlook.reasons["long"] == (
        "waiting: starting now would delay the reserved start of large (~12:00:04)"
    )
    assert outlook.reasons["large"] == "reserved: starts when r0 and r1 finish (~12:00:04)"


def test_reasons_name_the_reservation_a_deployment_would_delay() -> None:
    """Deployment e fits beside the first reservation at +10; only the second row leaves no room."""
    waiting = [
        Waiting("d1", {"cpu": 8}, HIGH, 9.0, expected_seconds=5, max_seconds=5),
        Waiting("d2", {"cpu": 10}, HIGH, 8.0, expected_seconds=5, max_seconds=5),
        Waiting("e", {"cpu": 2}, LOW, 1.0, expected_seconds=50, max_seconds=50),
    ]
    state = _starving(
        capacity={"cpu": 10},
        running=[Running("r1", {"cpu": 6}, NOW + 10)],
        waiting=waiting,
        reservations=2,
    )
    plan = plan_pass(state)
    assert [(r.id, r.at - NOW) for r in plan.reserved] == [("d1", 10.0), ("d2", 15.0)]
    outlook = forecast(plan, plan.starts(solve(plan.problem)))
    assert outlook.reasons["e"] == (
        "waiting: starting now would delay the reserved start of d2 (~12:00:15)"
    )


def test_a_deployment_that_fits_but_was_not_chosen_says_so() -> None:
    """A search out of time may leave one that fits: nothing is short, no reason to invent."""
    waiting = [Waiting("small", {"cpu": 2}, HIGH, 1.0, max_seconds=5)]
    plan = plan_pass(_starving(running=[], waiting=waiting))
    assert forecast(plan, ()).reasons == {"small": "waiting: fits now"}


def test_a_reserved_start_on_another_day_says_which() -> None:
    # Runs ending after midnight: "(~00:30:00)" would read as this morning.
    running = [Running("r0", {"cpu": 6}, NOW + 45_000), Running("r1", {"cpu": 4}, NOW + 45_000)]
    waiting = [Waiting("large", {"cpu": 8}, HIGH, 5.0, expected_seconds=3, max_seconds=3)]
    plan = plan_pass(_starving(running=running, waiting=waiting))
    outlook = forecast(plan, plan.starts(solve(plan.problem)))
    assert outlook.reasons["large"] == (
        "reserved: starts when r0 and r1 finish (~1970-01-02 00:30:00)"
    )


def test_a_reserved_eta_is_exact_once_everything_ahead_runs() -> None:
    """Runs end at their known end, so the promise is the start, whatever was expected."""
    waiting = [Waiting("large", {"cpu": 8}, HIGH, 5.0, expected_seconds=1, max_seconds=100)]
    plan = plan_pass(_starving(waiting=waiting))
    assert forecast(plan, ()).estimated_start == {"large": plan.reserved[0].at}


@pytest.mark.parametrize("ended", [0.0, 1.0])
def test_a_run_past_its_end_holds_until_the_next_instant(ended: float) -> None:
    """The pass has not ended it yet: it still holds, and the one waiting on it starts next."""
    running = [Running("due", {"cpu": 8}, NOW - ended)]
    waiting = [Waiting("large", {"cpu": 8}, HIGH, 5.0, expected_seconds=3, max_seconds=3)]
    plan = plan_pass(_starving(running=running, waiting=waiting))
    assert plan.problem.free == {"cpu": 0}
    (promise,) = plan.reserved
    assert promise.after == ("due",)
    assert promise.at == pytest.approx(NOW, abs=1e-6)
    eta = forecast(plan, plan.starts(solve(plan.problem))).estimated_start["large"]
    assert eta == pytest.approx(NOW, abs=1e-6)


def test_the_forecast_refuses_a_start_that_was_not_queued() -> None:
    plan = plan_pass(_starving())
    with pytest.raises(ProblemError) as caught:
        forecast(plan, ["r0"])
    assert caught.value.field == "started"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"capacity": {"cpu": -1}}, "capacity.cpu"),
        ({"now": float("nan")}, "now"),
        ({"reservations": -1}, "reservations"),
        ({"aging_seconds": -1.0}, "aging_seconds"),
        ({"running": [Running("", {})]}, "running[0].id"),
        ({"running": [Running("a", {"cpu": 1.5})]}, "running[0].requests.cpu"),  # type: ignore[dict-item]
        ({"running": [Running("a", {}, float("inf"))]}, "running[0].ends_at"),
        ({"running": ["a"]}, "running[0]"),
        ({"waiting": [Waiting("r0", {})]}, "waiting[0].id"),
        ({"waiting": [Waiting("a", {}, priority=2)]}, "waiting[0].priority"),
        ({"waiting": [Waiting("a", {}, max_seconds=-1.0)]}, "waiting[0].max_seconds"),
        ({"waiting": [Waiting("a", {}, expected_seconds=-1.0)]}, "waiting[0].expected_seconds"),
        ({"waiting": [Waiting("a", {"gpu": -1})]}, "waiting[0].requests.gpu"),
        # Past a double's range: every time is computed in doubles.
        ({"aging_seconds": 10**400}, "aging_seconds"),
        ({"waiting": [Waiting("a", {}, max_seconds=10**400)]}, "waiting[0].max_seconds"),
        ({"waiting": [Waiting("a", {}, expected_seconds=10**400)]}, "waiting[0].expected_seconds"),
        ({"running": [Running("a", {}, 10**400)]}, "running[0].ends_at"),
    ],
)
def test_a_bad_cluster_state_names_the_field(changes: dict[str, Any], field: str) -> None:
    with pytest.raises(ProblemError) as caught:
        _starving(**changes)
    assert caught.value.field == field


@pytest.mark.parametrize(
    ("reservations", "field"),
    [
        ("soon", "reservations"),
        ([{"in_seconds": 1}], "reservations[0]"),
        ([Reservation(-1.0, {})], "reservations[0].in_seconds"),
        ([Reservation(1.0, {"cpu": -1})], "reservations[0].capacity.cpu"),
        ([Reservation(1.0, [])], "reservations[0].capacity"),  # type: ignore[arg-type]
    ],
)
def test_a_bad_reservation_names_the_field(reservations: Any, field: str) -> None:
    with pytest.raises(ProblemError) as caught:
        Problem(free={"cpu": 1}, candidates=[], reservations=reservations)
    assert caught.value.field == field


def test_a_bad_max_seconds_names_the_field() -> None:
    with pytest.raises(ProblemError) as caught:
        Problem(free={}, candidates=[Candidate("a", {}, max_seconds=float("nan"))])
    assert caught.value.field == "candidates[0].max_seconds"


@settings(max_examples=80, deadline=None)
@given(problem=problems(reservations=True, max_candidates=7))
def test_every_strategy_honours_the_reservations(problem: Problem) -> None:
    best = brute_force(problem)
    for strategy in Strategy:
        selection = solve(problem, strategy, seed=1, time_limit=2.0)
        assert feasible(problem, selection.selected), strategy
        if selection.proven_optimal:
            assert score(problem, selection.selected) == pytest.approx(best), strategy


@settings(max_examples=20, deadline=None)
@given(problem=problems(reservations=True))
def test_a_reservation_nobody_outlives_changes_nothing(problem: Problem) -> None:
    short = dataclasses.replace(
        problem,
        candidates=[dataclasses.replace(c, max_seconds=0.0) for c in problem.candidates],
    )
    unreserved = dataclasses.replace(short, reservations=())
    kept = solve(short, Strategy.COMBINATIONS)
    assert score(short, kept.selected) == pytest.approx(brute_force(unreserved))
