"""The genetic search's restarts: when they come, and what they keep and change."""

from __future__ import annotations

import time

import numpy as np
import pytest

from simplismart.scheduler import Candidate, Problem, genetic
from simplismart.scheduler.genetic import STALL_GENERATIONS, Population, stall_limit
from simplismart.scheduler.knapsack import Knapsack
from simplismart.scheduler.objective import compare
from simplismart.scheduler.problem import HIGH, LOW

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

    population.restart(rng)

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
