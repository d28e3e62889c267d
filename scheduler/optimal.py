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
from typing import Final

import highspy
import numpy as np
import numpy.typing as npt

from simplismart.scheduler import swaps
from simplismart.scheduler.greedy import Order, drop, fill, greedy, ranking
from simplismart.scheduler.knapsack import Bits, Knapsack
from simplismart.scheduler.objective import compare, tolerance
from simplismart.scheduler.program import Incumbents, program, run_until, set_costs


@dataclass(frozen=True, slots=True)
class Outcome:
    """The best selection, whether every stage was proven, and the open stage's gap.

    The gap is HiGHS's relative gap on the first level it could not prove, the earlier
    levels being optimal; None when it is unknown (time ran out before the level started,
    or HiGHS found no solution of its own). `bound` is then that level's index and HiGHS's
    bound on it, so that a better selection found later can be measured against it.
    """

    bits: Bits
    proven: bool
    gap: float | None
    bound: tuple[int, float] | None = None


START_SHARE: Final = 0.1
"""The most of the budget local search may spend polishing HiGHS's starting solution."""


def search(knapsack: Knapsack, deadline: float, seed: int | None) -> Outcome:
    """Solve the levels in order until `deadline` (perf_counter).

    HiGHS starts from the greedy selection polished by local search: a good incumbent from
    the first node prunes more and is what a stopped solve falls back on.
    """
    order = ranking(knapsack)
    best = greedy(knapsack, order)
    now = time.perf_counter()
    swaps.improve(knapsack, best, order, now + START_SHARE * (deadline - now))
    highs = program(knapsack, integral=True, deadline=deadline, seed=seed)
    incumbents = Incumbents(highs)
    for index, level in enumerate(knapsack.levels):
        if not level.any():
            continue  # every selection ties on a level nobody scores on
        if time.perf_counter() >= deadline:
            return Outcome(best, proven=False, gap=None)
        set_costs(highs, level)
        highs.setSolution(_solution(best))
        incumbents.clear()
        if not run_until(highs, deadline):
            # HiGHS is still between two checks of the clock: take its last incumbent.
            if incumbents.latest is not None:
                best = _better(knapsack, best, _rounded(incumbents.latest, knapsack, order))
            return Outcome(
                best,
                proven=False,
                gap=_finite(incumbents.gap),
                bound=_open(index, incumbents.bound),
            )
        if highs.getInfo().primal_solution_status == highspy.kSolutionStatusFeasible:
            solution = np.asarray(highs.getSolution().col_value)
            best = _better(knapsack, best, _rounded(solution, knapsack, order))
        if highs.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            info = highs.getInfo()
            return Outcome(
                best,
                proven=False,
                gap=_finite(info.mip_gap),  # infinite without a solution
                bound=_open(index, info.mip_dual_bound),
            )
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


def _rounded(values: npt.NDArray[np.float64], knapsack: Knapsack, order: Order) -> Bits:
    """A HiGHS solution rounded to 0/1 and made exactly feasible and maximal.

    HiGHS accepts values within its integrality tolerance, so rounding can overload a
    resource by a unit in rare cases; the greedy drop and fill restore exactness.
    """
    bits = values > 0.5
    drop(knapsack, bits, order)
    fill(knapsack, bits, order)
    return bits


def _better(knapsack: Knapsack, best: Bits, found: Bits) -> Bits:
    return found if compare(knapsack.scores(found), knapsack.scores(best)) > 0 else best


def _finite(value: float | None) -> float | None:
    return float(value) if value is not None and math.isfinite(value) else None


def _open(index: int, bound: float | None) -> tuple[int, float] | None:
    """The open level's index and HiGHS's bound on it, when HiGHS has one."""
    bound = _finite(bound)
    return None if bound is None else (index, bound)
