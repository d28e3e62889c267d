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

import functools
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

import highspy
import numpy as np
import numpy.typing as npt

from simplismart.scheduler import swaps
from simplismart.scheduler.classes import Classes
from simplismart.scheduler.greedy import Order, drop, fill, greedy, ranking
from simplismart.scheduler.knapsack import Bits, Knapsack
from simplismart.scheduler.objective import compare, relative_gap, tolerance
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


def search(
    knapsack: Knapsack, deadline: float, seed: int | None, grouped: Classes | None
) -> Outcome:
    """Solve the levels in order until `deadline` (perf_counter).

    HiGHS starts from the greedy selection polished by local search: a good incumbent from
    the first node prunes more and is what a stopped solve falls back on. When many items
    are interchangeable (`grouped`, from `Classes.of`, which the caller has already
    computed), the levels they decide are solved over counts per class first, and the
    binary program only settles the rest.
    """
    order = ranking(knapsack)
    best = greedy(knapsack, order)
    now = time.perf_counter()
    swaps.improve(knapsack, best, order, now + START_SHARE * (deadline - now))
    settled = 0
    if grouped is not None:
        counts = program(
            grouped.reduced, integral=True, deadline=deadline, seed=seed, upper=grouped.sizes
        )
        stages = _Stages(knapsack, counts, grouped.reduced.levels, deadline)
        expand = functools.partial(grouped.expand, knapsack=knapsack, order=order)
        best, stopped = stages.run(range(grouped.solved), best, grouped.count, expand)
        if stopped is not None:
            return stopped
        settled = grouped.solved
    if settled == len(knapsack.levels):
        return Outcome(best, proven=True, gap=0.0)
    highs = program(knapsack, integral=True, deadline=deadline, seed=seed)
    for level in knapsack.levels[:settled]:
        _pin(highs, level, float(level @ best))
    stages = _Stages(knapsack, highs, knapsack.levels, deadline)
    best, stopped = stages.run(
        range(settled, len(knapsack.levels)),
        best,
        lambda bits: bits.astype(np.float64),
        lambda values: _rounded(values, knapsack, order),
    )
    return stopped if stopped is not None else Outcome(best, proven=True, gap=0.0)


class _Stages:
    """Lexicographic stages on one HiGHS program whose columns `levels` score.

    The program's columns are the items, or classes of them; `encode` turns a selection
    into column values and `decode` column values into a feasible, maximal selection.
    """

    def __init__(
        self,
        knapsack: Knapsack,
        highs: highspy.Highs,
        levels: npt.NDArray[np.float64],
        deadline: float,
    ) -> None:
        self.knapsack, self.highs, self.levels, self.deadline = knapsack, highs, levels, deadline
        self.incumbents = Incumbents(highs)

    def run(
        self,
        indices: range,
        best: Bits,
        encode: Callable[[Bits], npt.NDArray[np.float64]],
        decode: Callable[[npt.NDArray[np.float64]], Bits],
    ) -> tuple[Bits, Outcome | None]:
        """Maximise the levels `indices` in turn, pinning each; an Outcome if stopped."""
        highs, incumbents = self.highs, self.incumbents
        for index in indices:
            level = self.levels[index]
            if not level.any():
                continue  # every selection ties on a level nobody scores on
            if time.perf_counter() >= self.deadline:
                return best, Outcome(best, proven=False, gap=None)
            set_costs(highs, level)
            highs.setSolution(_solution(encode(best)))
            incumbents.clear()
            if not run_until(highs, self.deadline):
                # HiGHS is still between two checks of the clock: take its last incumbent.
                if incumbents.latest is not None:
                    best = _better(self.knapsack, best, decode(incumbents.latest))
                stopped = Outcome(
                    best,
                    proven=False,
                    gap=_finite(incumbents.gap),
                    bound=_open(index, incumbents.bound),
                )
                return best, stopped
            if highs.getInfo().primal_solution_status == highspy.kSolutionStatusFeasible:
                solution = np.asarray(highs.getSolution().col_value)
                best = _better(self.knapsack, best, decode(solution))
            if highs.getModelStatus() != highspy.HighsModelStatus.kOptimal:
                info = highs.getInfo()
                stopped = Outcome(
                    best,
                    proven=False,
                    gap=_finite(info.mip_gap),  # infinite without a solution
                    bound=_open(index, info.mip_dual_bound),
                )
                return best, stopped
            reached, bound = float(level @ encode(best)), float(highs.getInfo().mip_dual_bound)
            if reached < bound - tolerance(bound):
                # HiGHS's optimum overloads a resource within its feasibility tolerance (with
                # amounts near 1e10 a few units are inside it), and what is exactly feasible
                # falls short of it: the level is not proven, and `auto` searches on.
                gap = relative_gap(reached, bound)
                return best, Outcome(best, proven=False, gap=gap, bound=(index, bound))
            _pin(highs, level, reached)
        return best, None


def _pin(highs: highspy.Highs, level: npt.NDArray[np.float64], reached: float) -> None:
    """Add the row ``level @ x >= reached - tolerance``: later stages keep this level."""
    highs.addRow(
        reached - tolerance(reached),
        highspy.kHighsInf,
        int(np.count_nonzero(level)),
        np.flatnonzero(level).astype(np.int32),
        level[level != 0],
    )


def _solution(values: npt.NDArray[np.float64]) -> highspy.HighsSolution:
    solution = highspy.HighsSolution()
    solution.col_value = values.tolist()
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
