"""Exact search as a mixed-integer program solved by HiGHS, one solve per objective level.

Lexicographic order is enforced by stages rather than by weights: weights large enough to
make any HIGH demand outweigh all LOW demand would have to exceed the LOW total divided by
the smallest possible difference between two HIGH totals, which for float demand shares
has no useful bound. So stage k maximises level k, then pins it with the row
``level_k @ x >= optimum_k - tolerance`` before stage k + 1. Each stage starts from the
previous stage's solution, which stays feasible, so later stages only ever improve.

"Proven optimal" means optimal up to what `objective.compare` can tell apart (see
`program` for the gaps and tolerances HiGHS is given).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import highspy
import numpy as np

from simplismart.scheduler.greedy import Order, drop, fill, greedy, ranking
from simplismart.scheduler.knapsack import Bits, Knapsack
from simplismart.scheduler.objective import compare, tolerance
from simplismart.scheduler.program import program, set_costs


@dataclass(frozen=True, slots=True)
class Outcome:
    """The best selection, whether every stage was proven, and the open stage's gap.

    The gap is HiGHS's relative gap on the first level it could not prove, the earlier
    levels being optimal; None when it is unknown (time ran out before the level started,
    or HiGHS found no solution of its own).
    """

    bits: Bits
    proven: bool
    gap: float | None


def search(knapsack: Knapsack, time_limit: float, seed: int | None) -> Outcome:
    """Solve the levels in order within `time_limit` seconds overall."""
    deadline = time.perf_counter() + time_limit
    order = ranking(knapsack)
    best = greedy(knapsack, order)
    highs = program(knapsack, integral=True, seed=seed)
    for level in knapsack.levels:
        if not level.any():
            continue  # every selection ties on a level nobody scores on
        remaining = deadline - time.perf_counter()
        if remaining <= 0:
            return Outcome(best, proven=False, gap=None)
        highs.setOptionValue("time_limit", remaining)
        set_costs(highs, level)
        highs.setSolution(_solution(best))
        highs.run()
        found = _incumbent(highs, knapsack, order)
        if found is not None and compare(knapsack.scores(found), knapsack.scores(best)) > 0:
            best = found
        if highs.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            gap = float(highs.getInfo().mip_gap)  # infinite when HiGHS found no solution
            return Outcome(best, proven=False, gap=gap if math.isfinite(gap) else None)
        reached = float(level @ best)
        highs.addRow(
            reached - tolerance(reached),
            highspy.kHighsInf,
            int(np.count_nonzero(level)),
            np.flatnonzero(level).astype(np.int32),
            level[level != 0],
        )
    return Outcome(best, proven=True, gap=0.0)


def _solution(bits: Bits) -> highspy.HighsSolution:
    solution = highspy.HighsSolution()
    solution.col_value = bits.astype(np.float64).tolist()
    solution.value_valid = True
    return solution


def _incumbent(highs: highspy.Highs, knapsack: Knapsack, order: Order) -> Bits | None:
    """HiGHS's best solution rounded to 0/1 and made exactly feasible and maximal.

    HiGHS accepts values within its integrality tolerance, so rounding can overload a
    resource by a unit in rare cases; the greedy drop and fill restore exactness.
    """
    if highs.getInfo().primal_solution_status != highspy.kSolutionStatusFeasible:
        return None
    bits = np.asarray(highs.getSolution().col_value) > 0.5
    drop(knapsack, bits, order)
    fill(knapsack, bits, order)
    return bits
