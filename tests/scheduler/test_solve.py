"""The strategies against brute force, each other, and the policy's rules."""

from __future__ import annotations

import time

import numpy as np
import pytest
from hypothesis import given, settings

from simplismart.scheduler import (
    Candidate,
    Problem,
    ProblemError,
    Strategy,
    genetic,
    optimal,
    solve,
)
from simplismart.scheduler.classes import Classes
from simplismart.scheduler.greedy import greedy, ranking
from simplismart.scheduler.knapsack import Knapsack
from simplismart.scheduler.objective import compare
from simplismart.scheduler.program import program
from tests.scheduler.instances import brute_force, feasible, problems, score

pytestmark = pytest.mark.unit

EXACT = (Strategy.COMBINATIONS, Strategy.OPTIMAL)


def _same(a: tuple[float, ...], b: tuple[float, ...]) -> bool:
    return compare(a, b) == 0


@settings(max_examples=60, deadline=None)
@given(problem=problems())
def test_every_strategy_answers_within_the_free_capacity(problem: Problem) -> None:
    for strategy in Strategy:
        selection = solve(problem, strategy, seed=1, time_limit=2.0)
        assert feasible(problem, selection.selected), strategy
        assert selection.strategy is not Strategy.AUTO
        order = [c.id for c in problem.candidates if c.id in selection.selected]
        assert list(selection.selected) == order
        assert _same(selection.objective.key, score(problem, selection.selected))


@settings(max_examples=100, deadline=None)
@given(problem=problems())
def test_combinations_equals_brute_force(problem: Problem) -> None:
    selection = solve(problem, Strategy.COMBINATIONS)
    assert selection.proven_optimal
    assert selection.gap == 0.0
    assert _same(selection.objective.key, brute_force(problem))


@settings(max_examples=60, deadline=None)
@given(problem=problems())
def test_optimal_equals_combinations(problem: Problem) -> None:
    exact = solve(problem, Strategy.COMBINATIONS)
    milp = solve(problem, Strategy.OPTIMAL, time_limit=10.0)
    assert milp.proven_optimal
    assert milp.gap == 0.0
    assert _same(milp.objective.key, exact.objective.key)


@settings(max_examples=40, deadline=None)
@given(problem=problems(max_candidates=14))
def test_genetic_lies_between_its_greedy_seed_and_the_optimum(problem: Problem) -> None:
    knapsack = Knapsack.from_problem(problem)
    seeded = knapsack.scores(greedy(knapsack, ranking(knapsack)))
    optimum = solve(problem, Strategy.OPTIMAL, time_limit=10.0)
    found = solve(problem, Strategy.GENETIC, seed=3, time_limit=0.5)
    assert compare(found.objective.key, seeded) >= 0
    assert compare(found.objective.key, optimum.objective.key) <= 0


def _queue_of_low(count: int, cpu: int) -> list[Candidate]:
    return [Candidate(id=f"low{i}", requests={"cpu": cpu}) for i in range(count)]


@pytest.mark.parametrize("strategy", list(Strategy))
def test_a_high_candidate_beats_any_amount_of_low_demand(strategy: Strategy) -> None:
    # Five LOW candidates exactly fill the CPU; the HIGH one displaces one of them even
    # though that loses LOW demand and leaves the total demand lower than all five LOW.
    tiny_high = Candidate(id="high", requests={"cpu": 1}, priority=1)
    problem = Problem(free={"cpu": 10}, candidates=[*_queue_of_low(5, 2), tiny_high])
    selection = solve(problem, strategy, seed=0)
    assert "high" in selection.selected
    assert selection.objective.high == pytest.approx(0.1)
    assert selection.objective.low == pytest.approx(0.8)


@pytest.mark.parametrize("strategy", list(Strategy))
@pytest.mark.parametrize(
    ("aging_seconds", "started"), [(600.0, True), (700.0, False), (None, False)]
)
def test_a_low_candidate_waiting_past_aging_counts_as_high(
    strategy: Strategy, aging_seconds: float | None, *, started: bool
) -> None:
    patient = Candidate(id="patient", requests={"cpu": 1}, waited_seconds=700.0)
    problem = Problem(
        free={"cpu": 10}, candidates=[*_queue_of_low(5, 2), patient], aging_seconds=aging_seconds
    )
    selection = solve(problem, strategy, seed=0)
    assert ("patient" in selection.selected) is started


@pytest.mark.parametrize("strategy", list(Strategy))
def test_ties_go_to_the_candidate_that_waited_longest(strategy: Strategy) -> None:
    twins = [
        Candidate(id=f"twin{i}", requests={"cpu": 4, "gpu": 1}, waited_seconds=float(w))
        for i, w in enumerate([30, 90, 60])
    ]
    problem = Problem(free={"cpu": 8, "gpu": 2}, candidates=twins)
    assert solve(problem, strategy, seed=0).selected == ("twin1", "twin2")


@pytest.mark.parametrize("strategy", list(Strategy))
def test_explicit_values_maximise_their_sum(strategy: Strategy) -> None:
    problem = Problem(
        free={"cpu": 10},
        candidates=[
            Candidate(id="a", requests={"cpu": 6}, value=10.0, priority=1),
            Candidate(id="b", requests={"cpu": 5}, value=7.0),
            Candidate(id="c", requests={"cpu": 5}, value=7.0),
        ],
    )
    selection = solve(problem, strategy, seed=0)
    assert selection.selected == ("b", "c")
    assert selection.objective.to_dict() == {"value": 14.0}


@pytest.mark.parametrize("strategy", list(Strategy))
def test_edge_cases(strategy: Strategy) -> None:
    empty = solve(Problem(free={"cpu": 4}, candidates=[]), strategy)
    assert empty.selected == ()
    assert empty.proven_optimal
    queue = [
        Candidate(id="nothing", requests={}),
        Candidate(id="big", requests={"cpu": 5}, priority=1),
        Candidate(id="fpga", requests={"cpu": 1, "fpga": 1}, priority=1),
        Candidate(id="zero-fpga", requests={"cpu": 1, "fpga": 0}),
        Candidate(id="fits", requests={"cpu": 3}),
    ]
    assert solve(Problem(free={"cpu": 4}, candidates=queue), strategy).selected == (
        "nothing",
        "zero-fpga",
        "fits",
    )
    assert solve(Problem(free={"cpu": 0}, candidates=queue), strategy).selected == ("nothing",)


def _random_problem(count: int, seed: int) -> Problem:
    rng = np.random.default_rng(seed)
    return Problem(
        free={"cpu": 40 * count, "ram": 40 * count},
        candidates=[
            Candidate(
                id=f"d{i}",
                requests={"cpu": int(rng.integers(1, 160)), "ram": int(rng.integers(1, 160))},
                priority=int(rng.integers(0, 2)),
            )
            for i in range(count)
        ],
    )


def test_a_fixed_seed_gives_the_same_answer() -> None:
    # Reproducible when the search ends on its own (bound or patience), before its limit.
    problem = _random_problem(15, seed=5)
    first, second = (solve(problem, Strategy.GENETIC, seed=7, time_limit=30.0) for _ in range(2))
    assert first.selected == second.selected
    assert first.duration_ms < 30_000


def test_auto_enumerates_short_queues_and_proves_long_ones_with_highs() -> None:
    short = solve(_random_problem(9, seed=1))
    assert short.strategy is Strategy.COMBINATIONS
    assert short.ran == (Strategy.COMBINATIONS,)
    assert "fewer than 10" in short.reason
    long = solve(_random_problem(10, seed=1), seed=1)
    assert long.strategy is Strategy.OPTIMAL
    assert long.ran == (Strategy.OPTIMAL,)
    assert long.proven_optimal
    assert "HiGHS proved the optimum" in long.reason


def test_auto_hands_over_to_the_genetic_search_when_highs_cannot_prove() -> None:
    # 1,000 different candidates of Chu and Beasley's kind, requests uniform in 1..1000 on
    # three resources, half of it free: the demand objective makes the LP degenerate, and
    # HiGHS cannot close the gap in its half of a second, so the genetic search runs.
    rng = np.random.default_rng(3)
    requests = rng.integers(1, 1001, size=(1000, 3))
    resources = ("cpu", "ram", "gpu")
    problem = Problem(
        free=dict(zip(resources, (int(f) for f in requests.sum(axis=0) // 2), strict=True)),
        candidates=[
            Candidate(id=f"d{j}", requests=dict(zip(resources, map(int, row), strict=True)))
            for j, row in enumerate(requests)
        ],
    )
    selection = solve(problem, Strategy.AUTO, seed=1, time_limit=1.0)
    assert not selection.proven_optimal
    assert selection.ran == (Strategy.OPTIMAL, Strategy.GENETIC)
    assert "HiGHS did not prove the optimum" in selection.reason
    assert feasible(problem, selection.selected)


def test_what_highs_accepts_within_its_tolerance_is_never_called_proven() -> None:
    # Amounts near 1e10 (RAM in bytes): HiGHS's optimum takes `a` and one `b`, 15 units over
    # the capacity but inside its feasibility tolerance; made exactly feasible that is `a`
    # alone, while two `b`s fit. Neither `optimal` nor `auto` may call `a` alone proven.
    problem = Problem(
        free={"cpu": 49_999_999_985, "ram": 3},
        total={"cpu": 100_000_000_000, "ram": 5},
        candidates=[
            Candidate(id="a", requests={"cpu": 25_000_000_009, "ram": 1}, priority=1),
            *(
                Candidate(id=f"b{i}", requests={"cpu": 24_999_999_990 + i}, priority=1)
                for i in range(11)
            ),
        ],
    )
    best = solve(problem, Strategy.COMBINATIONS).objective.key
    for strategy in (Strategy.OPTIMAL, Strategy.AUTO):
        selection = solve(problem, strategy, seed=1)
        assert feasible(problem, selection.selected)
        if selection.proven_optimal or selection.gap == 0.0:
            assert _same(selection.objective.key, best), strategy
        else:
            assert selection.gap is not None
            assert selection.gap > 0


@settings(max_examples=20, deadline=None)
@given(problem=problems(max_candidates=14))
def test_the_genetic_search_never_loses_a_seed(problem: Problem) -> None:
    # What lets `auto` promise HiGHS's incumbent at least: a seed survives any budget.
    knapsack = Knapsack.from_problem(problem)
    optimum = optimal.search(
        knapsack, time.perf_counter() + 10.0, seed=0, grouped=Classes.of(knapsack)
    ).bits
    found = genetic.search(
        knapsack, time.perf_counter() + 0.001, seed=0, budget=0.001, seeds=[optimum]
    )
    assert compare(knapsack.scores(found), knapsack.scores(optimum)) == 0


def test_a_time_limit_stops_the_exact_strategies_with_a_feasible_answer() -> None:
    problem = _random_problem(1000, seed=2)
    for strategy in EXACT:
        # Too short to prove anything on any machine; long enough to answer.
        selection = solve(problem, strategy, time_limit=0.005)
        assert feasible(problem, selection.selected)
        assert not selection.proven_optimal
        assert selection.gap is None or selection.gap > 0
        assert selection.duration_ms < 2000


@pytest.mark.parametrize("seconds", [0.0, 86_401.0, 1e300])
def test_the_time_limit_must_be_positive_and_at_most_a_day(seconds: float) -> None:
    with pytest.raises(ProblemError, match="time_limit"):
        solve(_random_problem(12, seed=0), Strategy.OPTIMAL, time_limit=seconds)


def test_a_seed_beyond_highs_range_still_seeds_it() -> None:
    # HiGHS keeps its default seed when given one past a C int: two such seeds would then be
    # the same run. Reduced into its range, each is its own.
    knapsack = Knapsack.from_problem(_random_problem(12, seed=0))
    highs = program(knapsack, integral=True, deadline=time.perf_counter() + 1, seed=2**32 + 5)
    assert highs.getOptionValue("random_seed")[1] == 5


def test_optimal_over_classes_of_interchangeable_candidates_equals_the_enumeration() -> None:
    # Twelve candidates of three shapes and two priorities: `optimal` solves HIGH and LOW
    # over counts per class, then the waits over the candidates; the enumeration agrees.
    rng = np.random.default_rng(11)
    shapes = [{"cpu": 4, "gpu": 1}, {"cpu": 2}, {"cpu": 8, "gpu": 2}]
    candidates = [
        Candidate(
            id=f"d{i}",
            requests=shapes[i % 3],
            priority=int(i % 4 == 0),
            waited_seconds=float(rng.integers(0, 1000)),
        )
        for i in range(12)
    ]
    problem = Problem(
        free={"cpu": 17, "gpu": 3}, total={"cpu": 40, "gpu": 8}, candidates=candidates
    )
    assert Classes.of(Knapsack.from_problem(problem)) is not None
    milp = solve(problem, Strategy.OPTIMAL, time_limit=10.0)
    exact = solve(problem, Strategy.COMBINATIONS, time_limit=10.0)
    assert milp.proven_optimal
    assert exact.proven_optimal
    assert _same(milp.objective.key, exact.objective.key)
