"""Capacity over time: what is held from a moment on, and the earliest a request fits.

Every run's end is known (the lease's expiry), so the capacity in use is a step function
of time: it drops when a run ends and rises only where a reservation begins. That is all a
backfilling scheduler needs: the earliest moment a request fits for as long as it runs,
and how much is left at a given moment.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

Amounts = npt.NDArray[np.int64]
"""One integer per resource, in the order the caller fixed."""


class Timeline:
    """The holds on a capacity from `start` on; each hold is `[begin, end)`, `end` may be inf.

    A hold that began before `start` counts from `start`; a cluster shrunk below what is
    running simply shows usage above capacity until enough of it ends.
    """

    def __init__(self, capacity: Amounts, start: float) -> None:
        self._capacity = capacity
        self._start = start
        self._begins: list[float] = []
        self._ends: list[float] = []
        self._requests: list[Amounts] = []
        self._cached: tuple[npt.NDArray[np.float64], Amounts] | None = None

    def hold(self, begin: float, end: float, request: Amounts) -> None:
        """Mark `request` as held over `[begin, end)`."""
        if end > max(begin, self._start):
            self._begins.append(max(begin, self._start))
            self._ends.append(end)
            self._requests.append(request)
            self._cached = None

    def _steps(self) -> tuple[npt.NDArray[np.float64], Amounts]:
        """The moments the usage changes (the start first) and the usage from each on."""
        if self._cached is None:
            self._cached = self._compute_steps()
        return self._cached

    def _compute_steps(self) -> tuple[npt.NDArray[np.float64], Amounts]:
        moments = {self._start, *self._begins, *(e for e in self._ends if math.isfinite(e))}
        times = np.array(sorted(moments), dtype=np.float64)
        if not self._requests:
            return times, np.zeros((len(times), len(self._capacity)), dtype=np.int64)
        begins = np.array(self._begins, dtype=np.float64)
        ends = np.array(self._ends, dtype=np.float64)
        active = (begins[None, :] <= times[:, None]) & (times[:, None] < ends[None, :])
        return times, active.astype(np.int64) @ np.array(self._requests, dtype=np.int64)

    def in_use(self, moment: float) -> Amounts:
        """What is held at `moment` (at or after the start)."""
        times, usage = self._steps()
        index = int(np.searchsorted(times, moment, side="right")) - 1
        held: Amounts = usage[max(index, 0)]
        return held

    def earliest_fit(
        self, request: Amounts, seconds: float, beside: Timeline | None = None
    ) -> float | None:
        """The first moment from the start at which `request` fits for `seconds` (may be inf),
        beside what `beside` (of the same capacity and start) holds too.

        None when it never does: it is larger than the capacity, or what blocks it holds
        capacity forever. A resource it asks none of never blocks it, even where a cluster
        shrunk under its runs holds more of it than it has.
        """
        if beside is not None and beside._requests:
            times, usage = self._merged(beside)
        else:
            times, usage = self._steps()  # cached: most promises have nothing ahead to count
        fits = np.all((usage + request <= self._capacity) | (request == 0), axis=1)
        for index in np.flatnonzero(fits):
            begin = times[index]
            window_end = int(np.searchsorted(times, begin + seconds, side="left"))
            if fits[index:window_end].all():
                return float(begin)
        return None

    def _merged(self, other: Timeline) -> tuple[npt.NDArray[np.float64], Amounts]:
        """The steps of this timeline's holds and `other`'s together."""
        both = Timeline(self._capacity, self._start)
        both._begins = [*self._begins, *other._begins]
        both._ends = [*self._ends, *other._ends]
        both._requests = [*self._requests, *other._requests]
        return both._steps()
