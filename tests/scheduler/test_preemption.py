"""Victim selection against brute force, a MILP, and the preemption rules."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings

from simplismart.scheduler import (
    PreemptionProblem,
    Preemptor,
    ProblemError,
    RunningDeployment,
    select_victims,
)
from simplismart.scheduler.cover import cheapest_cover
from tests.scheduler.preemptions import (
    brute_force,
    eligible,
    frees_enough,
    loss,
    milp,
    preemption_problems,
    queue_order,
)

pytestmark = pytest.mark.unit


def _check_rules(problem: PreemptionProblem) -> tuple[int, int]:
    """Everything but optimality; returns the loss of the victims chosen."""
    chosen = select_victims(problem)
    admitted, blocked = queue_order(problem)
    assert chosen.admitted == tuple(p.id for p in admitted)
    assert chosen.blocked == tuple(p.id for p in blocked)
    assert set(chosen.victims) <= {r.id for r in eligible(problem)}
    assert list(chosen.victims) == [r.id for r in problem.running if r.id in chosen.victims]
    assert frees_enough(problem, chosen.victims)
    for victim in chosen.victims:  # inclusion-minimal: no victim could be spared
        assert not frees_enough(problem, set(chosen.victims) - {victim})
    if frees_enough(problem, ()):
        assert chosen.victims == ()
    assert chosen.proven_optimal
    assert chosen.lost_seconds == pytest.approx(
        sum(r.used_seconds for r in problem.running if r.id in chosen.victims)
    )
    return loss(problem, chosen.victims)


@settings(max_examples=150, deadline=None)
@given(problem=preemption_problems(min_running=6, max_running=16))
def test_victims_are_optimal_against_brute_force(problem: PreemptionProblem) -> None:
    assert _check_rules(problem) == brute_force(problem)


@settings(max_examples=100, deadline=None)
@given(problem=preemption_problems(min_running=17, max_running=30))
def test_victims_are_optimal_against_a_milp_up_to_30_running(problem: PreemptionProblem) -> None:
    assert _check_rules(problem) == milp(problem)


@settings(max_examples=50, deadline=None)
@given(problem=preemption_problems(max_running=12))
def test_the_milp_reference_agrees_with_brute_force(problem: PreemptionProblem) -> None:
    assert milp(problem) == brute_force(problem)


def _low(id_: str, cpu: int, used: float, preemptions: int = 0) -> RunningDeployment:
    return RunningDeployment(
        id=id_, requests={"cpu": cpu}, used_seconds=used, preemptions=preemptions
    )


def _problem(running: list[RunningDeployment], *cpus: int, free: int = 0) -> PreemptionProblem:
    held = sum(r.requests["cpu"] for r in running)
    return PreemptionProblem(
        capacity={"cpu": held + free},
        free={"cpu": free},
        running=running,
        preemptors=[Preemptor(id=f"high{i}", requests={"cpu": c}) for i, c in enumerate(cpus)],
    )


def test_a_full_cluster_evicts_the_two_runs_that_used_least() -> None:
    running = [_low("a", 2, 50.0), _low("b", 2, 10.0), _low("c", 2, 40.0), _low("d", 2, 20.0)]
    chosen = select_victims(_problem(running, 4))
    assert chosen.victims == ("b", "d")
    assert chosen.admitted == ("high0",)
    assert chosen.lost_seconds == 30.0


def test_least_work_lost_comes_before_fewest_victims() -> None:
    # One 4-CPU victim would do, but the two 2-CPU ones together lost less work.
    running = [_low("big", 4, 30.0), _low("small1", 2, 10.0), _low("small2", 2, 15.0)]
    assert select_victims(_problem(running, 4)).victims == ("small1", "small2")


def test_ties_in_work_go_to_fewer_victims() -> None:
    running = [_low("half1", 2, 0.0), _low("half2", 2, 0.0), _low("whole", 4, 0.0)]
    assert select_victims(_problem(running, 4)).victims == ("whole",)


def test_no_victim_is_evicted_beyond_need() -> None:
    # Evicting "idle" too would lose no work, but "b" alone already makes room.
    running = [_low("idle", 1, 0.0), _low("b", 2, 5.0), _low("c", 2, 6.0)]
    assert select_victims(_problem(running, 2)).victims == ("b",)


def test_high_runs_and_runs_preempted_too_often_are_never_victims() -> None:
    running = [
        RunningDeployment(id="high", requests={"cpu": 4}, priority=1),
        _low("tired", 2, 1.0, preemptions=3),
        _low("fresh", 2, 100.0, preemptions=2),
    ]
    problem = _problem(running, 2)
    assert select_victims(problem).victims == ("fresh",)
    blocked = select_victims(_problem(running, 4))
    assert (blocked.victims, blocked.admitted, blocked.blocked) == ((), (), ("high0",))


def test_preemptors_are_admitted_in_queue_order_and_a_blocked_one_evicts_nothing() -> None:
    running = [_low("a", 2, 1.0), _low("b", 2, 2.0), _low("c", 2, 3.0)]
    chosen = select_victims(_problem(running, 4, 8, 2))
    assert (chosen.admitted, chosen.blocked) == (("high0", "high2"), ("high1",))
    assert chosen.victims == ("a", "b", "c")
    alone = select_victims(_problem(running, 8))
    assert (alone.victims, alone.admitted) == ((), ())


def test_preemptors_that_fit_in_the_free_capacity_evict_nothing() -> None:
    chosen = select_victims(_problem([_low("a", 2, 1.0)], 3, free=3))
    assert (chosen.victims, chosen.admitted) == ((), ("high0",))


def test_requests_in_mebibytes_stay_exact() -> None:
    # RAM in MiB, always whole GiB: the divisor brings the states back to GiB.
    gib = 1024
    running = [
        RunningDeployment(id=f"r{i}", requests={"cpu": 1, "ram": 16 * gib}, used_seconds=i)
        for i in range(1, 9)
    ]
    problem = PreemptionProblem(
        capacity={"cpu": 8, "ram": 128 * gib},
        free={"cpu": 0, "ram": 0},
        running=running,
        preemptors=[Preemptor(id="p", requests={"cpu": 1, "ram": 40 * gib})],
    )
    chosen = select_victims(problem)
    assert chosen.proven_optimal
    assert chosen.victims == ("r1", "r2", "r3")


def test_a_hundred_runs_with_ram_in_mebibytes_are_solved_exactly() -> None:
    rng = np.random.default_rng(7)
    running = [
        RunningDeployment(
            id=f"r{i}",
            requests={"cpu": int(rng.integers(1, 9)), "ram": int(rng.integers(1, 40_000))},
            used_seconds=float(rng.integers(0, 3600)),
        )
        for i in range(100)
    ]
    held = {name: sum(r.requests[name] for r in running) for name in ("cpu", "ram")}
    problem = PreemptionProblem(
        capacity=held,
        free={"cpu": 0, "ram": 0},
        running=running,
        preemptors=[Preemptor(id="p", requests={"cpu": 24, "ram": 200_000})],
    )
    chosen = select_victims(problem)
    assert chosen.proven_optimal
    assert loss(problem, chosen.victims) == milp(problem)


def test_runs_that_all_used_nothing_are_chosen_by_count() -> None:
    running = [_low(f"r{i}", 1 + i % 4, 0.0) for i in range(100)]
    chosen = select_victims(_problem(running, 40))
    assert chosen.proven_optimal
    assert len(chosen.victims) == 10  # ten 4-CPU runs, the fewest that free 40 CPU


def test_the_cover_is_exact_within_its_state_limit_then_a_minimal_greedy_one() -> None:
    amounts = np.array([[3], [2], [2], [1]], dtype=np.int64)
    costs = np.array([5, 2, 2, 0], dtype=np.int64)
    deficit = np.array([4], dtype=np.int64)
    exact = cheapest_cover(amounts, costs, deficit)
    assert exact is not None
    assert (exact.chosen, exact.cost, exact.proven) == ((1, 2), 4, True)
    assert cheapest_cover(amounts, costs, np.array([9], dtype=np.int64)) is None
    rng = np.random.default_rng(3)
    amounts = rng.integers(0, 50, size=(60, 3))
    costs = rng.integers(0, 1000, size=60)
    deficit = np.array([300, 400, 200], dtype=np.int64)
    greedy = cheapest_cover(amounts, costs, deficit, state_limit=0)
    assert greedy is not None
    assert not greedy.proven
    chosen = amounts[list(greedy.chosen)]
    assert (chosen.sum(axis=0) >= deficit).all()
    for row in chosen:  # inclusion-minimal
        assert not (chosen.sum(axis=0) - row >= deficit).all()
    optimum = cheapest_cover(amounts, costs, deficit)
    assert optimum is not None
    assert optimum.proven
    assert optimum.cost <= greedy.cost


_HALF_CPU: Any = {"cpu": 0.5}


def _valid(**changes: Any) -> PreemptionProblem:
    fields: dict[str, Any] = {
        "capacity": {"cpu": 4},
        "free": {"cpu": 2},
        "running": [_low("a", 2, 1.0)],
        "preemptors": [Preemptor(id="p", requests={"cpu": 4})],
    }
    return PreemptionProblem(**(fields | changes))


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"capacity": {"cpu": -1}}, "capacity.cpu"),
        ({"free": {"cpu": 1.5}}, "free.cpu"),
        ({"capacity": {"cpu": 3}}, "capacity.cpu"),
        ({"free": {"cpu": 2, "gpu": 1}}, "capacity.gpu"),
        ({"max_preemptions": -1}, "max_preemptions"),
        ({"max_preemptions": True}, "max_preemptions"),
        ({"running": "a"}, "running"),
        ({"running": [{"id": "a"}]}, "running[0]"),
        ({"running": [RunningDeployment(id="", requests={})]}, "running[0].id"),
        ({"running": [RunningDeployment(id="a", requests={"cpu": -2})]}, "running[0].requests.cpu"),
        ({"running": [RunningDeployment(id="a", requests={}, priority=2)]}, "running[0].priority"),
        (
            {"running": [RunningDeployment(id="a", requests={}, used_seconds=-1.0)]},
            "running[0].used_seconds",
        ),
        (
            {"running": [RunningDeployment(id="a", requests={}, used_seconds=2e9)]},
            "running[0].used_seconds",
        ),
        (
            {"running": [RunningDeployment(id="a", requests={}, preemptions=-1)]},
            "running[0].preemptions",
        ),
        ({"preemptors": [Preemptor(id="a", requests={})]}, "preemptors[0].id"),
        ({"preemptors": [_low("b", 1, 0.0)]}, "preemptors[0]"),
        ({"preemptors": [Preemptor(id="p", requests=_HALF_CPU)]}, "preemptors[0].requests.cpu"),
    ],
)
def test_a_bad_problem_names_the_field(changes: dict[str, Any], field: str) -> None:
    with pytest.raises(ProblemError) as raised:
        _valid(**changes)
    assert raised.value.field == field


def test_an_item_is_not_dropped_by_a_bound_that_only_holds_for_another_relaxation() -> None:
    """Found by the MILP comparison: items were dropped before the search using the larger of
    the two root bounds plus their reduced weight, which is valid for the Lagrangian bound only;
    here that dropped a victim of the fewest-runs optimum (6 runs chosen where 5 suffice)."""
    R = RunningDeployment  # noqa: N806
    running = [
        R("r0", {"ram": 6, "cpu": 0}, 0, 4.5, 1),
        R("r1", {"ram": 3, "cpu": 3}, 0, 8.5, 1),
        R("r2", {"ram": 3, "cpu": 5}, 0, 12.5, 1),
        R("r3", {"ram": 6, "cpu": 1}, 0, 18.0, 3),
        R("r4", {"ram": 4, "cpu": 6}, 0, 4.0, 0),
        R("r5", {"ram": 0, "cpu": 6}, 0, 1.0, 2),
        R("r6", {"ram": 4, "cpu": 3}, 0, 18.5, 4),
        R("r7", {"ram": 5, "cpu": 6}, 0, 10.0, 1),
        R("r8", {"ram": 3, "cpu": 2}, 0, 19.0, 0),
        R("r9", {"ram": 5, "cpu": 2}, 0, 14.5, 0),
        R("r10", {"ram": 0, "cpu": 3}, 0, 16.0, 0),
        R("r11", {"ram": 5, "cpu": 6}, 0, 10.0, 0),
        R("r12", {"ram": 3, "cpu": 6}, 0, 4.5, 4),
        R("r13", {"ram": 5, "cpu": 2}, 0, 9.0, 3),
        R("r14", {"ram": 3, "cpu": 4}, 0, 15.5, 3),
        R("r15", {"ram": 0, "cpu": 1}, 1, 12.0, 1),
        R("r16", {"ram": 4, "cpu": 3}, 0, 11.5, 2),
        R("r17", {"ram": 5, "cpu": 2}, 0, 3.0, 0),
        R("r18", {"ram": 4, "cpu": 0}, 0, 12.5, 0),
        R("r19", {"ram": 0, "cpu": 6}, 0, 19.5, 3),
        R("r20", {"ram": 4, "cpu": 5}, 0, 13.5, 0),
        R("r21", {"ram": 1, "cpu": 4}, 0, 4.5, 2),
        R("r22", {"ram": 4, "cpu": 2}, 0, 1.5, 0),
        R("r23", {"ram": 4, "cpu": 0}, 0, 12.0, 4),
        R("r24", {"ram": 2, "cpu": 4}, 0, 4.0, 0),
        R("r25", {"ram": 3, "cpu": 0}, 0, 17.0, 1),
        R("r26", {"ram": 4, "cpu": 1}, 0, 17.0, 1),
        R("r27", {"ram": 2, "cpu": 0}, 0, 3.5, 3),
        R("r28", {"ram": 0, "cpu": 2}, 0, 14.5, 0),
        R("r29", {"ram": 0, "cpu": 3}, 1, 2.0, 3),
    ]
    problem = PreemptionProblem(
        capacity={"ram": 96, "cpu": 93},
        free={"ram": 1, "cpu": 4},
        running=running,
        preemptors=[
            Preemptor("p0", {"ram": 13, "cpu": 8}),
            Preemptor("p1", {"cpu": 9}),
            Preemptor("p2", {"ram": 10}),
        ],
        max_preemptions=3,
    )
    chosen = select_victims(problem)
    assert loss(problem, chosen.victims) == milp(problem) == (21500, 5)
