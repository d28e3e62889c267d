"""Greedy ranking, filling and dropping: the moves every strategy builds on.

Items are ranked lexicographically like the objective: first by the most important level
they score on (every HIGH item before every LOW one, since no LOW demand may displace HIGH
demand), then by score per surrogate size, the ratio Chu and Beasley's repair operator
uses. The surrogate size weighs each resource by a multiplier, by default the inverse of
its free capacity, so a request counts by the share of what is free that it takes.

Filling and dropping are vectorised over the items because the genetic strategy calls
them for every child on queues of ten thousand candidates.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from simplismart.scheduler.knapsack import Bits, Knapsack

Order = npt.NDArray[np.intp]
"""Item indices, best first."""


def ranking(knapsack: Knapsack, multipliers: npt.NDArray[np.float64] | None = None) -> Order:
    """Rank the items best first by (first level scored on, score per surrogate size).

    `multipliers` weighs each resource in the surrogate size, one per capacity row. Items
    scoring on no level rank last; ties keep the problem's order so the ranking is stable.
    """
    if multipliers is None:
        multipliers = 1.0 / knapsack.capacity
    size = multipliers @ knapsack.weights
    positive = knapsack.levels > 0
    level = np.where(positive.any(axis=0), positive.argmax(axis=0), len(knapsack.levels))
    score = np.take_along_axis(
        knapsack.levels, np.minimum(level, len(knapsack.levels) - 1)[None, :], axis=0
    )[0]
    with np.errstate(divide="ignore", invalid="ignore"):
        # An item that takes nothing is worth starting whatever it scores: infinite ratio.
        ratio = np.where(size > 0, score / size, np.inf)
    return np.lexsort((np.arange(knapsack.size), -ratio, level))


def fill(knapsack: Knapsack, bits: Bits, order: Order) -> None:
    """Add, in `order`, every unselected item that still fits; `bits` must be feasible.

    Equivalent to trying the items one by one, but a whole run of consecutive items that
    fit together is added in one vectorised step: the loop turns only at an item that no
    longer fits, which, as the residual only shrinks, never fits later either.
    """
    residual = knapsack.capacity - knapsack.weights @ bits
    pending = order[~bits[order]]
    while pending.size:
        weights = knapsack.weights[:, pending]
        fitting = (weights <= residual[:, None]).all(axis=0)
        pending, weights = pending[fitting], weights[:, fitting]
        if not pending.size:
            return
        taken = np.cumsum(weights, axis=1)
        together = (taken <= residual[:, None]).all(axis=0)
        run = together.size if together.all() else int(together.argmin())
        bits[pending[:run]] = True
        residual -= taken[:, run - 1]
        pending = pending[run + 1 :]


def drop(knapsack: Knapsack, bits: Bits, order: Order) -> None:
    """Remove selected items, worst first in `order`, until `bits` is feasible."""
    excess = knapsack.weights @ bits - knapsack.capacity
    if (excess <= 0).all():
        return
    worst_first = order[bits[order]][::-1]
    freed = np.cumsum(knapsack.weights[:, worst_first], axis=1)
    # Dropping everything frees all the load, so some prefix always frees enough.
    enough = int((freed >= excess[:, None]).all(axis=0).argmax())
    bits[worst_first[: enough + 1]] = False


def greedy(knapsack: Knapsack, order: Order) -> Bits:
    """Start with nothing and fill in `order`."""
    bits = knapsack.empty()
    fill(knapsack, bits, order)
    return bits
