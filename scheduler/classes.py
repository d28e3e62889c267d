"""Interchangeable candidates grouped, so the MILP decides how many of each, not which.

Deployments come in few shapes: the replicas of one model request the same resources at
the same priority. Items with the same weights and the same scores on every level but the
last are interchangeable on all the levels before it, so the MILP over one integer count
per class has the same optima there as the binary MILP, with a column per class instead of
per candidate: a queue of a thousand replicas of nine shapes becomes a program of eighteen
columns that HiGHS proves in a few milliseconds. The last level (the waits, under the
policy) tells members of a class apart; a count is expanded into the members that score
best on it, and the binary MILP settles that level from there.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

from simplismart.scheduler.greedy import Order, drop, fill
from simplismart.scheduler.knapsack import Bits, Knapsack

WORTHWHILE: Final = 0.5
"""Grouping pays when there are at most this many classes per item."""


@dataclass(frozen=True, slots=True, eq=False)
class Classes:
    """`reduced` has one item per class; `sizes[k]` members of class k, in `members[k]`
    best first on the last level; `solved` leading levels are decided by the classes."""

    reduced: Knapsack
    sizes: npt.NDArray[np.int64]
    members: tuple[npt.NDArray[np.intp], ...]
    solved: int
    label: npt.NDArray[np.intp]

    @classmethod
    def of(cls, knapsack: Knapsack) -> Classes | None:
        """The classes of `knapsack`'s items, or None when too few items share one."""
        solved = max(1, len(knapsack.levels) - 1)
        key = np.vstack([knapsack.weights.astype(np.float64), knapsack.levels[:solved]]).T
        # A cheap look first: equal rows project to equal numbers, so more distinct
        # projections than the threshold means more classes; on queues of all-different
        # candidates this skips the row-wise sort, several times slower.
        projection = key @ np.sqrt(np.arange(2.0, key.shape[1] + 2.0))
        if len(np.unique(projection)) > WORTHWHILE * knapsack.size:
            return None
        _, first, label, sizes = np.unique(
            key, axis=0, return_index=True, return_inverse=True, return_counts=True
        )
        if len(sizes) > WORTHWHILE * knapsack.size:
            return None
        label = label.reshape(-1)
        last = knapsack.levels[-1]
        by_last = np.lexsort((np.arange(knapsack.size), -last, label))
        members = tuple(np.split(by_last, np.cumsum(sizes)[:-1]))
        reduced = Knapsack(
            ids=tuple(str(k) for k in range(len(sizes))),
            weights=np.ascontiguousarray(knapsack.weights[:, first]),
            capacity=knapsack.capacity,
            levels=knapsack.levels[:, first],
            explicit=knapsack.explicit,
        )
        return cls(reduced, sizes.astype(np.int64), members, solved, label)

    def count(self, bits: Bits) -> npt.NDArray[np.float64]:
        """How many members of each class `bits` selects, as the program's column values."""
        return np.bincount(self.label[bits], minlength=len(self.sizes)).astype(np.float64)

    def expand(self, counts: npt.NDArray[np.float64], knapsack: Knapsack, order: Order) -> Bits:
        """The best `counts[k]` members of each class k, made exactly feasible and maximal.

        HiGHS's counts are rounded; its integrality tolerance could otherwise overload a
        resource by a unit, which the greedy drop and fill put right.
        """
        bits = knapsack.empty()
        for members, taken in zip(self.members, np.rint(counts).astype(np.int64), strict=True):
            bits[members[: max(0, int(taken))]] = True
        drop(knapsack, bits, order)
        fill(knapsack, bits, order)
        return bits
