"""`solve`: compile the problem, pick and run a strategy, and report the selection.

The cases every strategy would otherwise handle on its own are settled here first: when
all the candidates that fit alone also fit together, starting them all is optimal and
provably so, which covers the empty queue and zero capacity too.
"""

from __future__ import annotations

import time
from typing import Final

import numpy as np

from simplismart.scheduler import combinations, genetic, optimal
from simplismart.scheduler.greedy import fill, ranking
from simplismart.scheduler.knapsack import Bits, Knapsack
from simplismart.scheduler.problem import Problem, ProblemError
from simplismart.scheduler.selection import Selection
from simplismart.scheduler.strategy import Strategy

COMBINATIONS_BELOW: Final = 10
"""The original scheduler enumerated combinations below ten candidates, a GA from ten."""

DEFAULT_TIME_LIMITS: Final = {
    Strategy.COMBINATIONS: 10.0,
    Strategy.GENETIC: 1.0,
    Strategy.OPTIMAL: 10.0,
}
"""Seconds per strategy when the caller gives none: the genetic search is meant to run
every scheduling cycle, the exact ones are bounded so a long queue cannot stall it."""


def solve(
    problem: Problem,
    strategy: Strategy = Strategy.AUTO,
    *,
    seed: int | None = None,
    time_limit: float | None = None,
) -> Selection:
    """Choose the candidates to start now.

    `seed` makes the genetic search (and HiGHS's) reproducible; `time_limit` bounds the
    search in seconds. Every strategy answers within the free capacity.
    """
    started = time.perf_counter()
    knapsack = Knapsack.from_problem(problem)
    strategy = _resolve(Strategy(strategy), knapsack)
    if time_limit is None:
        time_limit = DEFAULT_TIME_LIMITS[strategy]
    elif time_limit <= 0:
        raise ProblemError("time_limit", "must be positive")
    deadline = started + time_limit
    everything = np.ones(knapsack.size, dtype=bool)
    proven: bool
    gap: float | None
    if knapsack.feasible(everything):
        bits, proven, gap = everything, True, 0.0
    elif strategy is Strategy.COMBINATIONS:
        outcome = combinations.search(knapsack, deadline)
        bits, proven = outcome.bits, outcome.complete
        gap = 0.0 if proven else None
    elif strategy is Strategy.GENETIC:
        bits, proven, gap = genetic.search(knapsack, deadline, seed), False, None
    else:
        found = optimal.search(knapsack, deadline - time.perf_counter(), seed)
        bits, proven, gap = found.bits, found.proven, found.gap
    _complete(knapsack, bits)
    return Selection(
        selected=knapsack.selected(bits),
        strategy=strategy,
        objective=knapsack.objective(bits),
        duration_ms=(time.perf_counter() - started) * 1000.0,
        proven_optimal=proven,
        gap=gap,
    )


def _resolve(strategy: Strategy, knapsack: Knapsack) -> Strategy:
    # Counting the candidates that fit alone, not the whole queue: the oversized ones are
    # out of the search anyway, and a short search space is worth solving exactly.
    if strategy is not Strategy.AUTO:
        return strategy
    return Strategy.COMBINATIONS if knapsack.size < COMBINATIONS_BELOW else Strategy.GENETIC


def _complete(knapsack: Knapsack, bits: Bits) -> None:
    """Check the selection and start whatever else still fits.

    Scores are never negative, so adding an item cannot lower the objective; it only
    starts candidates that score nothing (they request nothing anywhere) and that an
    exact strategy had no reason to prefer over leaving them queued.
    """
    if not knapsack.feasible(bits):
        raise AssertionError("a strategy overran the free capacity")
    fill(knapsack, bits, ranking(knapsack))
