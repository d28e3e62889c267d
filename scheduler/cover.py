"""The cheapest multidimensional cover: the exact optimisation under victim selection.

Given items with integer amounts of some resources and integer costs, choose items whose
amounts sum to at least a deficit in every resource, minimising the total cost and then the
number of items. Breaking cost ties by the count makes every answer inclusion-minimal, also
when some costs are zero: dropping a chosen item that is not needed would keep the cost and
lower the count, so an optimum never holds one.

The exact method is a dynamic program over the items, whose states are the deficit still to
cover, capped per resource (an item covering more than what is left counts as covering
exactly that), with the cheapest (cost, count) reaching each. States with the same deficit
merge, and bounds drop every state that cannot lead to a strictly better cover than the best
known one, which starts as a greedy cover and improves whenever a state is complete:

- each level (cost, then count) has its own lower bound, the larger of a Lagrangian one
  (multipliers from coordinate ascent at the root) and the best single-resource fractional
  cover; both levels are integers, so bounds are rounded up, which is what makes ties (runs
  of equal length, started together) cheap to settle;
- items are taken in order of reduced cost, the LP's favourites first, and an item whose
  inclusion alone lifts the bound past the best known cover is left out from the start.

Reductions first: only resources with a deficit are constraints, and each resource, and the
costs, are divided by their greatest common divisor (RAM asked in MiB but always in whole
GiB costs no more than in GiB). The work is the number of states visited, at most the items
times the product of (deficit + 1) over resources, in practice far fewer; past
`STATE_LIMIT` visited states the search stops and the greedy cover, pruned to an
inclusion-minimal one, is returned, flagged as not proven. docs/scheduler.md has the
measured scale.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

Amounts = npt.NDArray[np.int64]
"""Items x resources, non-negative integers."""

Costs = npt.NDArray[np.int64]
"""One non-negative integer per item."""

Items = npt.NDArray[np.intp]
"""Item indices."""

STATE_LIMIT: Final = 250_000
"""The most states, summed over the items, the exact search visits before giving way to
the greedy cover: a few hundred milliseconds at worst."""

SWEEPS: Final = 4
"""Coordinate-ascent sweeps for the multipliers; one is exact for a single resource."""


@dataclass(frozen=True, slots=True)
class Cover:
    """The chosen item indices (ascending), their total cost, and whether it is optimal."""

    chosen: tuple[int, ...]
    cost: int
    proven: bool


def cheapest_cover(
    amounts: Amounts, costs: Costs, deficit: Costs, *, state_limit: int = STATE_LIMIT
) -> Cover | None:
    """The cheapest set of items covering `deficit`, then the smallest; None if none covers.

    `amounts` is items x resources, `deficit` one integer per resource (at or below zero
    needs nothing). `costs` sum to less than 2**62. `state_limit` bounds the exact search
    (see the module docstring).
    """
    needed = deficit > 0
    amounts, deficit = amounts[:, needed], deficit[needed]
    if not needed.any():
        return Cover((), 0, proven=True)
    if (amounts.sum(axis=0) < deficit).any():
        return None
    useful = np.flatnonzero(amounts.any(axis=1))  # an item covering nothing only adds cost
    amounts, costs = amounts[useful], costs[useful]
    divisor = np.gcd.reduce(amounts, axis=0)  # positive: the items cover a positive deficit
    deficit = -(-deficit // divisor)  # the items only sum to multiples of the divisor
    amounts = np.minimum(amounts // divisor, deficit)
    greedy = _greedy(amounts, costs, deficit)
    exact = _search(amounts, costs, deficit, greedy, state_limit)
    picked = exact if exact is not None else greedy
    return Cover(
        chosen=tuple(int(j) for j in np.sort(useful[picked])),
        cost=int(costs[picked].sum()),
        proven=exact is not None,
    )


def _search(
    amounts: Amounts, costs: Costs, deficit: Costs, incumbent: Items, state_limit: int
) -> Items | None:
    """Exact: the bounded dynamic program of the module docstring; None past the limit.

    States are compared exactly on (cost, count) and bounded on each level by its own
    `_Relaxation`, rounded up since both are integers: a state is dropped when it cannot
    reach the best known cost, or can at best tie it without fewer items. Costs are divided
    by their greatest common divisor first, so that runs of equal length (started together)
    cost 1 each and the rounding tells two of them from three.

    A state's record is a node of a tree of (item, parent record), so a state carries one
    integer and the walk back from the best complete state gives its items.
    """
    unit = int(np.gcd.reduce(costs)) or 1
    costs = costs // unit
    cost_bound = _Relaxation.of(amounts, costs, deficit)
    count_bound = _Relaxation.of(amounts, np.ones_like(costs), deficit)
    best_cost, best_count, best_record = int(costs[incumbent].sum()), len(incumbent), -1
    ones = np.ones(len(costs), dtype=np.int64)
    forced_cost = cost_bound.forcing(amounts, costs, deficit)
    forced_count = count_bound.forcing(amounts, ones, deficit)
    order = np.flatnonzero(~_hopeless(forced_cost, forced_count, best_cost, best_count))
    order = order[np.lexsort((count_bound.reduced[order], cost_bound.reduced[order]))]
    cost_future, count_future = cost_bound.futures(order), count_bound.futures(order)
    remaining = deficit[None, :]
    cost = np.zeros(1, dtype=np.int64)
    count = np.zeros(1, dtype=np.int64)
    record = np.full(1, -1, dtype=np.int64)
    record_items: list[Items] = []
    record_parents: list[Items] = []
    records = visited = 0
    for k, item in enumerate(order):
        taken = np.maximum(remaining - amounts[item], 0)
        taken_cost, taken_count = cost + costs[item], count + 1
        taken_record = np.arange(records, records + len(cost))
        record_items.append(np.full(len(cost), item))
        record_parents.append(record)
        records += len(cost)
        done = ~taken.any(axis=1)
        if done.any():
            first = np.lexsort((taken_count[done], taken_cost[done]))[0]
            found = int(taken_cost[done][first]), int(taken_count[done][first])
            if found < (best_cost, best_count):
                best_cost, best_count = found
                best_record = int(taken_record[done][first])
        remaining = np.concatenate([remaining, taken[~done]])
        cost = np.concatenate([cost, taken_cost[~done]])
        count = np.concatenate([count, taken_count[~done]])
        record = np.concatenate([record, taken_record[~done]])
        alive = ~_hopeless(
            cost + cost_bound.least(remaining, cost_future[k + 1]),
            count + count_bound.least(remaining, count_future[k + 1]),
            best_cost,
            best_count,
        )
        remaining, cost, count, record = remaining[alive], cost[alive], count[alive], record[alive]
        # Merge equal remaining deficits: sorted by deficit, then cost, then count, the first
        # of each run is the one to keep.
        by = np.lexsort((count, cost, *remaining.T[::-1]))
        remaining, cost, count, record = remaining[by], cost[by], count[by], record[by]
        first_of_run = np.ones(len(cost), dtype=bool)
        first_of_run[1:] = (remaining[1:] != remaining[:-1]).any(axis=1)
        remaining, cost, count, record = (
            remaining[first_of_run],
            cost[first_of_run],
            count[first_of_run],
            record[first_of_run],
        )
        visited += len(cost)
        if visited > state_limit:
            return None
        if not len(cost):
            break
    if best_record < 0:
        return incumbent
    items, parents = np.concatenate(record_items), np.concatenate(record_parents)
    chosen = []
    while best_record >= 0:
        chosen.append(items[best_record])
        best_record = int(parents[best_record])
    return np.array(chosen, dtype=np.intp)


def _hopeless(
    least_cost: Costs, least_count: Costs, best_cost: int, best_count: int
) -> npt.NDArray[np.bool_]:
    """True where a state, at best (`least_cost`, `least_count`), cannot beat the best."""
    return (least_cost > best_cost) | ((least_cost >= best_cost) & (least_count >= best_count))


Curve = tuple[Amounts, npt.NDArray[np.float64], npt.NDArray[np.float64]]
"""One resource's fractional cover: cumulative amounts, cumulative weights, weight per unit
of each step, items in order of weight per unit."""


@dataclass(frozen=True, slots=True)
class _Relaxation:
    """Lower bounds on the weight (cost, or count) of covering a deficit, for one level.

    Two relaxations, the larger bound wins:

    - Lagrangian: for y >= 0, covering s with a set of items weighs at least
      ``y @ s + sum(min(0, reduced_j))`` over the items available, ``reduced_j`` being
      ``weight_j - y @ amount_j``: relax the cover constraints with y and take every item
      whose reduced weight is negative. y is fixed at the root, so this bound is tightest
      there and slack where the remaining deficit has another shape.
    - One resource at a time: covering s_r alone, items taken fractionally in order of
      weight per unit, over all the items; it follows the shape of every state.
    """

    multipliers: npt.NDArray[np.float64]
    reduced: npt.NDArray[np.float64]
    curves: tuple[Curve, ...]
    lagrangian: float
    """The Lagrangian bound at the root (not the larger of the two: adding an item's reduced
    weight is valid for this bound only)."""

    @classmethod
    def of(cls, amounts: Amounts, weights: Costs, deficit: Costs) -> _Relaxation:
        """The relaxation with multipliers from coordinate ascent at the root."""
        multipliers = _multipliers(amounts, weights, deficit)
        reduced = weights - amounts @ multipliers
        curves = tuple(_curve(amount, weights) for amount in amounts.T)
        lagrangian = float(multipliers @ deficit + np.minimum(reduced, 0.0).sum())
        return cls(multipliers, reduced, curves, lagrangian)

    def forcing(self, amounts: Amounts, weights: Costs, deficit: Costs) -> Costs:
        """Per item, the least weight of a cover of the whole deficit that includes it."""
        lagrangian = self.lagrangian + np.maximum(self.reduced, 0.0)
        rest = np.maximum(deficit - amounts, 0)
        alone = weights + self._alone(rest)
        return _round_up(np.maximum(lagrangian, alone), np.abs(lagrangian) + alone)

    def futures(self, order: Items) -> npt.NDArray[np.float64]:
        """For k = 0..len(order), the negative part the items `order[k:]` could add."""
        gains = np.minimum(self.reduced[order], 0.0)
        return np.append(np.cumsum(gains[::-1])[::-1], 0.0)

    def least(self, remaining: Amounts, future: float) -> Costs:
        """Per state, the least weight still to add to cover `remaining` (never below 0)."""
        still = remaining @ self.multipliers
        alone = self._alone(remaining)
        bound = np.maximum(still + future, alone)
        return np.maximum(_round_up(bound, still + abs(future) + alone), 0)

    def _alone(self, remaining: Amounts) -> npt.NDArray[np.float64]:
        """Per state, the largest one-resource bound."""
        alone = np.zeros(len(remaining))
        for r, curve in enumerate(self.curves):
            np.maximum(alone, _along(curve, remaining[:, r]), out=alone)
        return alone


def _curve(amount: Amounts, weights: Costs) -> Curve:
    """The fractional cover of one resource: its items by weight per unit, accumulated."""
    helps = amount > 0
    per_unit = weights[helps] / amount[helps]
    by = np.argsort(per_unit, kind="stable")
    return (
        np.cumsum(amount[helps][by]),
        np.cumsum(weights[helps][by]).astype(np.float64),
        per_unit[by],
    )


def _along(curve: Curve, needed: Amounts) -> npt.NDArray[np.float64]:
    """The least weight covering `needed` of the curve's resource, items taken fractionally:
    whole items while they fit, then the part of the next one that is still needed."""
    reach, weight, per_unit = curve
    step = np.minimum(np.searchsorted(reach, needed), len(reach) - 1)
    return weight[step] - (reach[step] - needed) * per_unit[step]


def _round_up(bound: npt.NDArray[np.float64], scale: object) -> Costs:
    """A float bound on an integer, rounded up after giving way to float rounding error.

    `scale` is the size of the terms the bound was summed from, which the error is relative
    to; the slack is far above that error and far below one unit.
    """
    slack = 1e-9 * (1.0 + np.abs(np.asarray(scale, dtype=np.float64)))
    return np.ceil(bound - slack).astype(np.int64)


def _multipliers(amounts: Amounts, weights: Costs, deficit: Costs) -> npt.NDArray[np.float64]:
    """Multipliers y >= 0 making the Lagrangian bound large, by coordinate ascent.

    With the other multipliers fixed, the bound as a function of y_r is concave and
    piecewise linear, with slope ``deficit_r`` minus the amounts of r of the items whose
    reduced cost has turned negative: its maximum is where those amounts first reach the
    deficit, a weighted median of the items' break points.
    """
    multipliers = np.zeros(len(deficit))
    for _ in range(SWEEPS):
        for r, amount in enumerate(amounts.T):
            others = weights - amounts @ multipliers + amount * multipliers[r]
            helps = amount > 0
            breaks = others[helps] / amount[helps]
            by = np.argsort(breaks, kind="stable")
            reach = int(np.searchsorted(np.cumsum(amount[helps][by]), deficit[r]))
            multipliers[r] = max(0.0, float(breaks[by][reach]))
    return multipliers


def _greedy(amounts: Amounts, costs: Costs, deficit: Costs) -> Items:
    """A cover, not proven cheapest: take the best coverage per cost, then prune.

    Coverage is the share of each resource's remaining deficit an item covers, summed; the
    cost gets one added so that free items rank by coverage rather than all tie at infinity.
    Pruning drops the costliest chosen items first while the rest still covers, which
    leaves an inclusion-minimal cover.
    """
    chosen = np.zeros(len(costs), dtype=bool)
    remaining = deficit.copy()
    while (remaining > 0).any():
        share = np.minimum(amounts, remaining) / deficit
        worth = np.where(chosen, -1.0, share.sum(axis=1) / (costs + 1.0))
        best = int(worth.argmax())
        chosen[best] = True
        remaining = np.maximum(remaining - amounts[best], 0)
    covered = amounts[chosen].sum(axis=0)
    for item in sorted(np.flatnonzero(chosen), key=lambda j: (-costs[j], -j)):
        if (covered - amounts[item] >= deficit).all():
            chosen[item] = False
            covered -= amounts[item]
    return np.flatnonzero(chosen)
