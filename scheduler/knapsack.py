"""The numeric 0/1 multidimensional knapsack every strategy searches.

Compiling the problem once gives the strategies plain arrays: integer weights (so
feasibility is exact) and one row of item scores per lexicographic level. Candidates that
do not fit alone in the free capacity are dropped here, so no strategy has to skip them.

A reservation compiles to one more row per resource: the requests of the candidates that
outlive it against the capacity left at its time. The strategies see only rows and
capacities, so every one of them honours reservations without knowing about them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from simplismart.scheduler.objective import Objective
from simplismart.scheduler.problem import HIGH, Problem

Bits = npt.NDArray[np.bool_]
"""A selection over the knapsack's items: True means started."""


@dataclass(frozen=True, slots=True, eq=False)
class Knapsack:
    """Items are the candidates that fit alone, in the problem's order.

    `weights[r, j]` is item j's request of resource r and `capacity[r]` the free amount;
    after the resources come the rows of the reservations, each resource again, with the
    requests of the items that outlive the reservation and the capacity left at its time.
    `levels[k, j]` is what item j adds to the k-th score of the objective, most important
    first: (high demand, low demand, waited seconds) under the policy, (value,) otherwise.
    """

    ids: tuple[str, ...]
    weights: npt.NDArray[np.int64]
    capacity: npt.NDArray[np.int64]
    levels: npt.NDArray[np.float64]
    explicit: bool

    @classmethod
    def from_problem(cls, problem: Problem) -> Knapsack:
        """Compile `problem`, leaving out the candidates that could never start."""
        total = problem.total if problem.total is not None else problem.free
        names = sorted(
            set(problem.free) | set(total) | {r for c in problem.candidates for r in c.requests}
        )
        free = np.array([problem.free.get(r, 0) for r in names], dtype=np.int64)
        share = np.array([1.0 / t if (t := total.get(r, 0)) else 0.0 for r in names])
        requests = np.array(
            [[c.requests.get(r, 0) for r in names] for c in problem.candidates], dtype=np.int64
        ).reshape(len(problem.candidates), len(names))
        rows, limits = [requests], [free]
        for reservation in problem.reservations:
            outlives = np.array([c.outlives(reservation) for c in problem.candidates], dtype=bool)
            rows.append(requests * outlives.reshape(-1, 1))
            limits.append(np.array([reservation.capacity.get(r, 0) for r in names], dtype=np.int64))
        every_row = np.concatenate(rows, axis=1)
        capacity = np.concatenate(limits)
        fits = np.all(every_row <= capacity, axis=1)
        kept = [c for c, ok in zip(problem.candidates, fits, strict=True) if ok]
        weights = every_row[fits].T
        if problem.explicit_values:
            levels = np.array([[c.value for c in kept]], dtype=np.float64)
        else:
            demand = share @ weights[: len(names)]
            high = np.array([problem.effective_priority(c) == HIGH for c in kept], dtype=bool)
            waited = np.array([c.waited_seconds for c in kept], dtype=np.float64)
            levels = np.stack([np.where(high, demand, 0.0), np.where(high, 0.0, demand), waited])
        # A resource nobody still requests constrains nothing; dropping its row makes every
        # feasibility check cheaper.
        used = np.any(weights > 0, axis=1)
        return cls(
            ids=tuple(c.id for c in kept),
            weights=np.ascontiguousarray(weights[used]),
            capacity=capacity[used],
            levels=levels,
            explicit=problem.explicit_values,
        )

    @property
    def size(self) -> int:
        """The number of items."""
        return len(self.ids)

    def empty(self) -> Bits:
        """The selection that starts nothing."""
        return np.zeros(self.size, dtype=bool)

    def feasible(self, bits: Bits) -> bool:
        """True when `bits` stays within the free capacity of every resource."""
        return bool(np.all(self.weights @ bits <= self.capacity))

    def scores(self, bits: Bits) -> tuple[float, ...]:
        """The level sums of `bits`, in the order `objective.compare` takes them."""
        return tuple(float(s) for s in self.levels @ bits)

    def objective(self, bits: Bits) -> Objective:
        """The named scores of `bits`."""
        sums = self.scores(bits)
        if self.explicit:
            return Objective(value=sums[0])
        return Objective(high=sums[0], low=sums[1], waited_seconds=sums[2])

    def selected(self, bits: Bits) -> tuple[str, ...]:
        """The ids `bits` starts, in the problem's order."""
        return tuple(self.ids[j] for j in np.flatnonzero(bits))
