"""The genetic search's restarts: when they come, and what they keep and change."""

from __future__ import annotations

import time

import numpy as np
import pytest

from simplismart.scheduler import Candidate, Problem, genetic, optimal
from simplismart.scheduler.genetic import ESCALATION, STALL_GENERATIONS, Population, stall_limit
from simplismart.scheduler.knapsack import Knapsack
from simplismart.scheduler.objective import compare, tolerance
from simplismart.scheduler.problem import HIGH, LOW
from simplismart.scheduler.program import program, run_until, set_costs

pytestmark = pytest.mark.unit


def _knapsack(items: int, seed: int, *, explicit: bool) -> Knapsack:
    """Chu and Beasley's kind of problem: requests uniform in 1..1000 on three resources,
    a quarter of their total free, values correlated with the requests (or, without
    explicit values, mixed priorities)."""
    rng = np.random.default_rng(seed)
    requests = rng.integers(1, 1001, size=(items, 3))
    resources = ("cpu", "ram", "gpu")
    return Knapsack.from_problem(
        Problem(
            free=dict(zip(resources, (int(f) for f in requests.sum(axis=0) // 4), strict=True)),
            candidates=[
                Candidate(
                    id=f"d{j}",
                    requests=dict(zip(resources, map(int, row), strict=True)),
                    value=float(row.sum() / 3 + rng.integers(0, 500)) if explicit else None,
                    priority=HIGH if j % 3 == 0 else LOW,
                    waited_seconds=float(j),
                )
                for j, row in enumerate(requests)
            ],
        )
    )


def test_stalls_follow_luby_s_sequence_so_long_ones_come_back_between_short_ones() -> None:
    size = 10
    units = [stall_limit(restarts, size) // (STALL_GENERATIONS * size) for restarts in range(15)]
    assert units == [1, 1, 2, 1, 1, 2, 4, 1, 1, 2, 1, 1, 2, 4, 8]


def test_a_restart_keeps_the_best_and_replaces_the_rest_with_new_members() -> None:
    knapsack = _knapsack(120, seed=5, explicit=True)
    rng = np.random.default_rng(0)
    population = Population.seeded(knapsack, time.perf_counter() + 30.0, rng, budget=1.0)
    for _ in range(2000):
        population.breed()
    best = np.asarray(population.best, dtype=bool).copy()
    before = {np.asarray(entry[2], dtype=bool).tobytes() for entry in population.entries}

    population.restart(rng, 0)

    assert np.array_equal(np.asarray(population.best, dtype=bool), best)
    after = [np.asarray(entry[2], dtype=bool) for entry in population.entries]
    assert len(after) == population.size
    assert any(np.array_equal(bits, best) for bits in after)
    assert len({bits.tobytes() for bits in after}) == len(after)
    assert all(knapsack.feasible(bits) for bits in after)
    # Explores: most members are new, some further from the best than a mutation reaches.
    assert sum(bits.tobytes() not in before for bits in after) > len(after) // 2
    assert max(int((bits != best).sum()) for bits in after) > genetic.MUTATION_FLIPS


def test_a_run_that_stops_improving_ends_before_its_deadline_reproducibly() -> None:
    # Three levels scored: no LP bound to stop at, so only the patience ends it. A tiny
    # budget keeps the population at its smallest, and the run short.
    knapsack = _knapsack(12, seed=2, explicit=False)
    deadline = time.perf_counter() + 600.0
    answers = [genetic.search(knapsack, deadline, seed=4, budget=0.001) for _ in range(2)]
    assert time.perf_counter() < deadline
    assert np.array_equal(answers[0], answers[1])
    assert knapsack.feasible(answers[0])


def test_more_time_never_ends_worse() -> None:
    # Anytime: the run with the longer deadline passes through the shorter one's state
    # (same seed, same population size), and the best is only ever replaced by better.
    knapsack = _knapsack(150, seed=9, explicit=True)
    short, long = (
        genetic.search(knapsack, time.perf_counter() + seconds, seed=1, budget=1.0)
        for seconds in (0.05, 0.5)
    )
    assert compare(knapsack.scores(long), knapsack.scores(short)) >= 0


def _stalled(knapsack: Knapsack, seed: int) -> Population:
    """A population bred for a while, as a restart finds it."""
    rng = np.random.default_rng(seed)
    population = Population.seeded(knapsack, time.perf_counter() + 30.0, rng, budget=1.0)
    for _ in range(2000):
        population.breed()
    return population


def test_an_item_forced_into_the_best_stays_the_rest_make_room_and_nothing_else_fits() -> None:
    knapsack = _knapsack(80, seed=3, explicit=True)
    population = _stalled(knapsack, seed=0)
    best = np.asarray(population.best, dtype=bool).copy()
    for item in np.flatnonzero(~best):
        bits = population.forced(best, int(item))
        assert bits[item]
        assert knapsack.feasible(bits)
        # Maximal: the fill left no other item that fits.
        for other in np.flatnonzero(~bits):
            bits[other] = True
            assert not knapsack.feasible(bits)
            bits[other] = False
        # The best is maximal, so room had to be made: the copy is not the best plus one.
        assert (bits & ~best).sum() >= 1
        assert (best & ~bits).sum() >= 1


def test_the_items_left_out_of_restarts_can_be_in_no_selection_better_than_the_best() -> None:
    # The reduced-cost test, checked against the LP itself: with any left-out item forced
    # to 1 the relaxation, a bound on every selection holding it, is no better than the best.
    knapsack = _knapsack(60, seed=4, explicit=True)
    population = _stalled(knapsack, seed=1)
    best = np.asarray(population.best, dtype=bool)
    promising = population.promising(best)
    left_out = np.setdiff1d(np.flatnonzero(~best), promising)
    assert left_out.size, "the test needs items the bound rules out"
    value = float(knapsack.levels[0] @ best)
    for item in left_out:
        highs = program(knapsack, integral=False, deadline=time.perf_counter() + 10.0)
        set_costs(highs, knapsack.levels[0])
        highs.changeColBounds(int(item), 1.0, 1.0)
        assert run_until(highs, time.perf_counter() + 10.0)
        assert highs.getInfo().objective_function_value <= value + tolerance(value)
    # And the optimum's items outside the best are all kept.
    found = optimal.search(knapsack, time.perf_counter() + 20.0, 0, None)
    assert found.proven
    assert np.all(np.isin(np.flatnonzero(found.bits & ~best), promising))


def test_after_a_block_of_failed_restarts_every_other_one_forces_promising_items_in() -> None:
    knapsack = _knapsack(100, seed=6, explicit=True)
    population = _stalled(knapsack, seed=2)
    best = np.asarray(population.best, dtype=bool).copy()
    promising = set(population.promising(best).tolist())
    assert promising

    def others() -> list[np.ndarray]:
        members = [np.asarray(entry[2], dtype=bool) for entry in population.entries]
        return [bits for bits in members if not np.array_equal(bits, best)]

    population.restart(np.random.default_rng(0), ESCALATION)
    # Every member but the best is a copy of it holding one promising item it lacked, and
    # nothing else fills the population up.
    assert 0 < len(others()) <= len(promising)
    for bits in others():
        added = set(np.flatnonzero(bits & ~best).tolist())
        assert added & promising
    population.restart(np.random.default_rng(0), ESCALATION + 1)
    # The next restart is one near the best again: perturbed copies and random fills,
    # many of which hold no promising item at all.
    assert any(not set(np.flatnonzero(bits & ~best).tolist()) & promising for bits in others())
