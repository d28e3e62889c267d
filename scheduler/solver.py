"""`solve`: compile the problem, pick and run a strategy, and report the selection.

The cases every strategy would otherwise handle on its own are settled here first: when
all the candidates that fit alone also fit together, starting them all is optimal and
provably so, which covers the empty queue and zero capacity too.

`auto` keeps the original scheduler's rule in spirit (enumerate short queues, search long
ones) and puts the exact MILP first: from ten candidates on, HiGHS gets most of the budget
(`OPTIMAL_SHARE`, or `OPTIMAL_SHARE_DISTINCT` when no candidates are interchangeable), and
only when it cannot prove the optimum in that time does the genetic search take the rest,
seeded with HiGHS's incumbent, which it keeps unless it finds better. The selection
records which ran and why.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Final

import numpy as np

from simplismart.scheduler import combinations, genetic, optimal
from simplismart.scheduler.classes import Classes
from simplismart.scheduler.greedy import fill, ranking
from simplismart.scheduler.knapsack import Bits, Knapsack
from simplismart.scheduler.objective import compare, relative_gap
from simplismart.scheduler.problem import Problem, ProblemError, is_int, is_number
from simplismart.scheduler.selection import Selection
from simplismart.scheduler.strategy import Strategy

COMBINATIONS_BELOW: Final = 10
"""The original scheduler enumerated combinations below ten candidates, a GA from ten."""

OPTIMAL_SHARE: Final = 0.9
"""The share of `auto`'s budget HiGHS gets before the genetic search takes over, when the
queue has classes of interchangeable candidates (see `classes`): the MILP is then small
and HiGHS proves it unless time is very short, so it gets nearly all of it; 0.6 and 0.8
were tried and lost the HIGH optimum it would have proved at 50 ms. The rest polishes an
unproven incumbent."""

OPTIMAL_SHARE_DISTINCT: Final = 0.5
"""HiGHS's share when the candidates are all different: a hard knapsack that HiGHS rarely
closes in a pass, where the genetic search from its incumbent does better with the time."""

MAX_TIME_LIMIT: Final = 86_400.0
"""A day: no scheduling pass waits longer, and the waits on HiGHS's thread overflow the
platform's time_t not far beyond (from about 1e10 s)."""

FINISH_SECONDS: Final = 2e-4
FINISH_SECONDS_PER_ITEM: Final = 1e-6

DEFAULT_TIME_LIMITS: Final = {
    Strategy.AUTO: 1.0,
    Strategy.COMBINATIONS: 10.0,
    Strategy.GENETIC: 1.0,
    Strategy.OPTIMAL: 10.0,
}
"""Seconds per strategy when the caller gives none: `auto` and the genetic search are meant
to run every scheduling cycle, the exact ones are bounded so a long queue cannot stall it.
`auto` on a short queue takes the enumeration's limit."""


@dataclass(frozen=True, slots=True)
class _Answer:
    """What the strategies that ran settled on, before the final fill."""

    bits: Bits
    strategy: Strategy
    ran: tuple[Strategy, ...]
    proven: bool
    gap: float | None
    reason: str


def solve(
    problem: Problem,
    strategy: Strategy = Strategy.AUTO,
    *,
    seed: int | None = None,
    time_limit: float | None = None,
) -> Selection:
    """Choose the candidates to start now.

    `seed` makes the genetic search (and HiGHS's) reproducible; `time_limit` bounds the
    search in seconds. Every strategy answers within the free capacity.
    """
    started = time.perf_counter()
    knapsack = Knapsack.from_problem(problem)
    strategy = Strategy(strategy)
    short = knapsack.size < COMBINATIONS_BELOW
    if time_limit is None:
        resolved = Strategy.COMBINATIONS if strategy is Strategy.AUTO and short else strategy
        time_limit = DEFAULT_TIME_LIMITS[resolved]
    elif not is_number(time_limit) or not 0 < time_limit <= MAX_TIME_LIMIT:
        raise ProblemError(
            "time_limit", f"must be a positive number of seconds, at most {MAX_TIME_LIMIT:.0f}"
        )
    if seed is not None and (not is_int(seed) or seed < 0):
        raise ProblemError("seed", "must be a non-negative integer")
    deadline = started + time_limit - _finishing(knapsack, time_limit)
    if knapsack.feasible(np.ones(knapsack.size, dtype=bool)):
        answer = _everything(knapsack, strategy, short)
    elif strategy is Strategy.AUTO:
        answer = _auto(knapsack, deadline, seed, short)
    elif strategy is Strategy.COMBINATIONS:
        answer = _combinations(knapsack, deadline, "requested")
    elif strategy is Strategy.GENETIC:
        bits = genetic.search(knapsack, deadline, seed, budget=time_limit)
        answer = _Answer(bits, strategy, (strategy,), False, None, "requested")
    else:
        answer = _optimal(knapsack, deadline, seed, "requested")
    _complete(knapsack, answer.bits)
    return Selection(
        selected=knapsack.selected(answer.bits),
        strategy=answer.strategy,
        objective=knapsack.objective(answer.bits),
        duration_ms=(time.perf_counter() - started) * 1000.0,
        proven_optimal=answer.proven,
        gap=answer.gap,
        ran=answer.ran,
        reason=answer.reason,
    )


def _finishing(knapsack: Knapsack, time_limit: float) -> float:
    """The time kept back from the strategies for the final fill and the answer.

    Measured at about half a microsecond per candidate (5 ms at 10,000); twice that, and
    never more than a tenth of the budget.
    """
    return min(FINISH_SECONDS + FINISH_SECONDS_PER_ITEM * knapsack.size, 0.1 * time_limit)


def _everything(knapsack: Knapsack, strategy: Strategy, short: bool) -> _Answer:
    """Every candidate that fits alone fits with the others: nothing to search."""
    if strategy is Strategy.AUTO:
        strategy = Strategy.COMBINATIONS if short else Strategy.OPTIMAL
    bits = np.ones(knapsack.size, dtype=bool)
    return _Answer(bits, strategy, (), True, 0.0, "every candidate that fits alone fits together")


def _auto(knapsack: Knapsack, deadline: float, seed: int | None, short: bool) -> _Answer:
    if short:
        return _combinations(knapsack, deadline, f"fewer than {COMBINATIONS_BELOW} candidates")
    grouped = Classes.of(knapsack)
    now = time.perf_counter()
    share = OPTIMAL_SHARE if grouped is not None else OPTIMAL_SHARE_DISTINCT
    found = optimal.search(knapsack, now + share * (deadline - now), seed, grouped)
    spent = (time.perf_counter() - now) * 1000.0
    if found.proven:
        return _Answer(
            found.bits,
            Strategy.OPTIMAL,
            (Strategy.OPTIMAL,),
            True,
            0.0,
            f"{knapsack.size} candidates: HiGHS proved the optimum in {spent:.0f} ms",
        )
    unproven = f"{knapsack.size} candidates: HiGHS did not prove the optimum in {spent:.0f} ms"
    ran = (Strategy.OPTIMAL, Strategy.GENETIC)
    if time.perf_counter() >= deadline:
        return _Answer(found.bits, Strategy.OPTIMAL, ran[:1], False, found.gap, unproven)
    evolved = genetic.search(
        knapsack,
        deadline,
        seed,
        budget=deadline - time.perf_counter(),
        seeds=[found.bits],
        relax=False,
    )
    if compare(knapsack.scores(evolved), knapsack.scores(found.bits)) <= 0:
        reason = f"{unproven}; the genetic search seeded with its incumbent found nothing better"
        return _Answer(found.bits, Strategy.OPTIMAL, ran, False, found.gap, reason)
    reason = f"{unproven}; the genetic search seeded with its incumbent improved on it"
    return _Answer(evolved, Strategy.GENETIC, ran, False, _gap(knapsack, evolved, found), reason)


def _gap(knapsack: Knapsack, bits: Bits, found: optimal.Outcome) -> float | None:
    """`bits`'s relative distance to HiGHS's bound on the level it left open, as HiGHS
    measures its own gap; None without a bound."""
    if found.bound is None:
        return None
    level, bound = found.bound
    return relative_gap(float(knapsack.levels[level] @ bits), bound)


def _combinations(knapsack: Knapsack, deadline: float, reason: str) -> _Answer:
    outcome = combinations.search(knapsack, deadline)
    gap = 0.0 if outcome.complete else None
    ran = (Strategy.COMBINATIONS,)
    return _Answer(outcome.bits, Strategy.COMBINATIONS, ran, outcome.complete, gap, reason)


def _optimal(knapsack: Knapsack, deadline: float, seed: int | None, reason: str) -> _Answer:
    found = optimal.search(knapsack, deadline, seed, Classes.of(knapsack))
    ran = (Strategy.OPTIMAL,)
    return _Answer(found.bits, Strategy.OPTIMAL, ran, found.proven, found.gap, reason)


def _complete(knapsack: Knapsack, bits: Bits) -> None:
    """Check the selection and start whatever else still fits.

    Scores are never negative, so adding an item cannot lower the objective; it only
    starts candidates that score nothing (they request nothing anywhere) and that an
    exact strategy had no reason to prefer over leaving them queued.
    """
    if not knapsack.feasible(bits):
        raise AssertionError("a strategy overran the free capacity")
    fill(knapsack, bits, ranking(knapsack))
