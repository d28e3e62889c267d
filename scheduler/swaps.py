"""Local search around a selection: 1-1 and 2-1 swaps, then a greedy fill.

A repaired selection is maximal (nothing else fits), so the only way up is to trade: take
one selected item out for one that is worth more (a 1-1 swap), or two out for one worth more
than both together (a 2-1 swap, which frees room no single item does). After each trade the
fill adds whatever fits in the room left over. The search takes the best trade it sees,
lexicographically on the objective's levels, until none improves.

Both neighbourhoods are evaluated as whole arrays, every pair at once, restricted to the
worst-ranked selected items and the best-ranked unselected ones, which is where improving
trades are, in numbers that keep a step to about `STEP_ENTRIES` comparisons whatever the
number of resources: a millisecond or two, so a step never holds a deadline up for long.
"""

from __future__ import annotations

import math
import time
from typing import Final

import numpy as np
import numpy.typing as npt

from simplismart.scheduler.greedy import Order, fill
from simplismart.scheduler.knapsack import Bits, Knapsack
from simplismart.scheduler.objective import tolerance

STEP_ENTRIES: Final = 200_000
"""Weight comparisons one step of either neighbourhood makes at most."""

ENTRY_SPAN: Final = 32
"""Unselected items a 2-1 swap may bring in."""


def improve(knapsack: Knapsack, bits: Bits, order: Order, deadline: float) -> bool:
    """Apply improving trades to `bits` (feasible, maximal) in place; True if any applied."""
    improved = False
    position = np.empty(knapsack.size, dtype=np.intp)
    position[order] = np.arange(knapsack.size)
    while time.perf_counter() < deadline:
        tolerances = np.array([tolerance(s) for s in knapsack.levels @ bits])
        traded = _one_for_one(knapsack, bits, position, tolerances)
        if not traded and time.perf_counter() < deadline:
            traded = _two_for_one(knapsack, bits, position, tolerances)
        if not traded:
            return improved
        fill(knapsack, bits, order)
        improved = True
    return improved


def _one_for_one(
    knapsack: Knapsack, bits: Bits, position: npt.NDArray[np.intp], tolerances: np.ndarray
) -> bool:
    span = math.isqrt(STEP_ENTRIES // max(1, len(knapsack.capacity)))
    selected, unselected = _sides(bits, position, span, span)
    if not selected.size or not unselected.size:
        return False
    residual = knapsack.capacity - knapsack.weights @ bits
    # fits[i, j]: item i out, item j in stays within every resource.
    room = residual[:, None] + knapsack.weights[:, selected]
    fits: npt.NDArray[np.bool_] = np.all(
        knapsack.weights[:, None, unselected] <= room[:, :, None], axis=0
    )
    gains = knapsack.levels[:, None, unselected] - knapsack.levels[:, selected, None]
    best = _best_improving(gains, fits, tolerances)
    if best is None:
        return False
    out, into = np.unravel_index(best, fits.shape)
    bits[selected[out]] = False
    bits[unselected[into]] = True
    return True


def _two_for_one(
    knapsack: Knapsack, bits: Bits, position: npt.NDArray[np.intp], tolerances: np.ndarray
) -> bool:
    pairs = STEP_ENTRIES // (max(1, len(knapsack.capacity)) * ENTRY_SPAN)
    # k selected items make k (k - 1) / 2 pairs.
    selected, unselected = _sides(bits, position, (1 + math.isqrt(1 + 8 * pairs)) // 2, ENTRY_SPAN)
    if selected.size < 2 or not unselected.size:
        return False
    first, second = np.triu_indices(selected.size, k=1)
    pairs_weight = knapsack.weights[:, selected[first]] + knapsack.weights[:, selected[second]]
    pairs_score = knapsack.levels[:, selected[first]] + knapsack.levels[:, selected[second]]
    residual = knapsack.capacity - knapsack.weights @ bits
    room = residual[:, None] + pairs_weight
    fits: npt.NDArray[np.bool_] = np.all(
        knapsack.weights[:, None, unselected] <= room[:, :, None], axis=0
    )
    gains = knapsack.levels[:, None, unselected] - pairs_score[:, :, None]
    best = _best_improving(gains, fits, tolerances)
    if best is None:
        return False
    pair, into = np.unravel_index(best, fits.shape)
    bits[selected[first[pair]]] = False
    bits[selected[second[pair]]] = False
    bits[unselected[into]] = True
    return True


def _sides(
    bits: Bits, position: npt.NDArray[np.intp], out_span: int, in_span: int
) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]:
    """The worst-ranked selected items and the best-ranked unselected ones."""
    selected = np.flatnonzero(bits)
    unselected = np.flatnonzero(~bits)
    if selected.size > out_span:
        selected = selected[np.argpartition(-position[selected], out_span - 1)[:out_span]]
    if unselected.size > in_span:
        unselected = unselected[np.argpartition(position[unselected], in_span - 1)[:in_span]]
    return selected, unselected


def _best_improving(
    gains: npt.NDArray[np.float64], allowed: npt.NDArray[np.bool_], tolerances: np.ndarray
) -> int | None:
    """The flat index of the lexicographically largest gain that improves, if any.

    A gain improves when its first level that differs by more than the tolerance is
    positive: the lexicographic comparison `objective.compare` makes, on differences.
    """
    levels = gains.reshape(len(gains), -1)
    undecided = allowed.reshape(-1).copy()
    improving = np.zeros_like(undecided)
    for gain, slack in zip(levels, tolerances, strict=True):
        up, down = gain > slack, gain < -slack
        improving |= undecided & up
        undecided &= ~(up | down)
    candidates = np.flatnonzero(improving)
    if not candidates.size:
        return None
    # lexsort's last key is the primary one: the first level.
    ranked = np.lexsort(tuple(-level[candidates] for level in levels[::-1]))
    return int(candidates[ranked[0]])
