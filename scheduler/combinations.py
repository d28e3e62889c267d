"""Exact search by enumerating combinations, pruned: depth-first branch and bound.

The original scheduler enumerated every combination of a short queue. This visits the
same tree but skips an item that does not fit and abandons a branch whose optimistic bound
(its scores plus every remaining item that still fits alone) cannot beat the incumbent
lexicographically. Pruning a branch because its bound is lexicographically no better is
sound even though each level is bounded separately: a completion that ties the incumbent
on the bounded levels cannot exceed the bound on the next one either.

Plain Python on tuples: the queues it is meant for are short, where numpy's per-call
overhead would dominate.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from simplismart.scheduler.greedy import greedy, ranking
from simplismart.scheduler.knapsack import Bits, Knapsack
from simplismart.scheduler.objective import compare


@dataclass(frozen=True, slots=True)
class Outcome:
    """The best selection found and whether the whole tree was searched."""

    bits: Bits
    complete: bool


def search(knapsack: Knapsack, deadline: float) -> Outcome:
    """Branch and bound from the greedy incumbent, until done or `deadline` (perf_counter)."""
    # Best-ranked items first: the first leaves reached are good, so pruning starts early.
    order = ranking(knapsack)
    incumbent = greedy(knapsack, order)
    best_scores = knapsack.scores(incumbent)
    best: tuple[int, ...] = tuple(int(j) for j in np.flatnonzero(incumbent))
    weights = [tuple(int(w) for w in knapsack.weights[:, j]) for j in order]
    scores = [tuple(float(s) for s in knapsack.levels[:, j]) for j in order]
    capacity = tuple(int(c) for c in knapsack.capacity)
    zero = tuple(0.0 for _ in knapsack.levels)
    # Each frame: next position in `order`, residual capacity, scores so far, chosen items.
    stack: list[tuple[int, tuple[int, ...], tuple[float, ...], tuple[int, ...]]] = [
        (0, capacity, zero, ())
    ]
    while stack:
        # Reading the clock costs far less than the bound computed at every node.
        if time.perf_counter() > deadline:
            return Outcome(_bits(knapsack, best), complete=False)
        position, residual, so_far, chosen = stack.pop()
        bound = list(so_far)
        for item in range(position, len(order)):
            if all(w <= r for w, r in zip(weights[item], residual, strict=True)):
                bound = [b + s for b, s in zip(bound, scores[item], strict=True)]
        if compare(bound, best_scores) <= 0:
            continue
        if position == len(order):
            best_scores, best = so_far, chosen
            continue
        # Pushed last, the branch that takes the item is explored first.
        stack.append((position + 1, residual, so_far, chosen))
        item_weights = weights[position]
        if all(w <= r for w, r in zip(item_weights, residual, strict=True)):
            stack.append(
                (
                    position + 1,
                    tuple(r - w for r, w in zip(residual, item_weights, strict=True)),
                    tuple(s + v for s, v in zip(so_far, scores[position], strict=True)),
                    (*chosen, int(order[position])),
                )
            )
    return Outcome(_bits(knapsack, best), complete=True)


def _bits(knapsack: Knapsack, items: tuple[int, ...]) -> Bits:
    bits = knapsack.empty()
    bits[list(items)] = True
    return bits
