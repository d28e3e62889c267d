"""Heuristic search: Chu and Beasley's steady-state GA for the 0/1 MKP, made anytime.

Individuals are bit strings. Each child comes from two binary tournaments, uniform
crossover and a two-bit mutation, then the repair operator makes it feasible and maximal:
drop the worst-ranked selected items until every resource fits, then add the best-ranked
items that still fit (see `greedy`). The child replaces the population's worst member
unless it duplicates a member, which keeps the population diverse without a diversity
measure. The population is seeded with greedy solutions, the rounded LP relaxation and any
selection the caller already has (`auto` passes HiGHS's incumbent), and the best individual
ever seen is kept, so the answer is never worse than those seeds.

Three additions make it use whatever time it is given (the original stopped for good after
25 generations without improvement, so ten seconds bought nothing over one):

- every new best is polished by local search (1-1 and 2-1 swaps, see `swaps`), the step
  that separates memetic algorithms from plain GAs on this problem;
- when the run stalls the population restarts around the best: it is kept, the others are
  perturbed copies of it and fresh random fills. How long a stall lasts before a restart
  follows Luby's sequence (see `stall_limit`): short stalls come back again and again, and
  every so often one twice as long as any before. Once `ESCALATION` restarts in a row have
  found nothing, every other restart leaves the best's basin instead (see `restart`);
- the population is fitted to the budget: a short budget gets a small population, so that
  it still runs some tens of generations instead of spending it all on the first one.

The restart schedule is what made the search stop improving: a restart after every ten
generations without a new best (a thousand children at full size) rebuilt the population
around the same best long before crossover had recombined what it held, a hundred times in
a row, and then the run gave up; on the OR-Library problems ten seconds returned what one
second had. A steady-state GA needs long undisturbed runs (Chu and Beasley's ran a million
children), while short restarts around the best are what pays within a short budget. Which
stall length suits a problem is unknown in advance; for a randomised search Luby's sequence
costs at most a logarithmic factor over the best fixed length, whatever it is, and it has
both kinds.

Perturbed copies of the best do not leave its basin: the flipped-in items are mostly
low-ranked ones, which the repair drops first before refilling what the flips took out. On
5.100-02 a quarter of them were the best again and the median one 3.5 items from it, so
every restart searched the same basin: with the benchmark's seed the run settled on 23,538
within 0.3 s and kept it for ten seconds (given forty, until the patience ended it at 18 s),
five items in and five out from the optimum 23,551, which holds items the LP prices rank as
low as 37th and 45th. Restarts that force such an item in leave the basin; alternating them
with the perturbed copies keeps up the search near the best, from which the 30-constraint
problem still improves late in a run.

The run ends at the deadline, when the best reaches the LP bound (then it is optimal), or
after `PATIENCE` restarts in a row without improving: a short queue whose optimum was found
early does not spin until its time limit. With a fixed seed, a run that ends before its
deadline is reproducible.

DEAP provides the individual and fitness types and the toolbox the run is assembled in.
The operators are our own: DEAP's built-in ones draw from the global `random` module,
which would make a seeded run depend on whatever else uses it, and loop over bits in
Python, which is too slow for ten thousand candidates.
"""

from __future__ import annotations

import heapq
import itertools
import math
import time
from collections.abc import Iterator, Sequence
from typing import Any, Final, NamedTuple

import highspy
import numpy as np
import numpy.typing as npt
from deap import base, creator

from simplismart.scheduler import swaps
from simplismart.scheduler.greedy import Order, drop, fill, greedy, ranking
from simplismart.scheduler.knapsack import Bits, Knapsack
from simplismart.scheduler.objective import compare, tolerance
from simplismart.scheduler.program import program, run_until, set_costs

POPULATION: Final = 100
"""Chu and Beasley's population size, used when the budget allows it."""

MIN_POPULATION: Final = 10
GENERATIONS_IN_BUDGET: Final = 50
"""The population is sized so that the budget holds about this many generations."""

CHILD_SECONDS: Final = 4e-5
CHILD_SECONDS_PER_WEIGHT: Final = 2e-9
"""A child's cost, fixed plus per entry of the weight matrix (measured on the benchmark);
a static estimate rather than a measurement, so that a seeded run stays reproducible."""

STALL_GENERATIONS: Final = 10
"""The unit of the restart schedule: generations without a new best before the first
restart; later stalls are this times a term of Luby's sequence (see `stall_limit`)."""

PATIENCE: Final = 100
"""Restarts in a row without a new best after which the run gives up before its deadline:
about 2,800 generations since the last new best (the first 100 terms of Luby's sequence
add up to 280)."""

MUTATION_FLIPS: Final = 2
"""Chu and Beasley flip two bits: enough to leave a parent's neighbourhood, few enough
that the repair does not undo the whole child."""

PERTURBATION: Final = 0.1
"""The share of a restart's population's bits flipped in the copies of the best."""

ESCALATION: Final = 15
"""Restarts in a row without a new best after which every other restart forces items into
copies of the best instead of perturbing it: the first 15 terms of Luby's sequence, up to its
first 8, 32 units of stall (some 320 generations). Within a second or so a run seldom gets
that far, and the perturbed copies, which find the improvements close to the best, keep
that time to themselves."""

_INTEGRAL: Final = 1e-6
"""How close to 1 a relaxed value counts as taking the item."""

_PRICE_FLOOR: Final = 1e-6
"""The price, per whole free capacity, of a resource the LP relaxation leaves slack."""

_LEVELS: Final = 3
"""DEAP fixes the number of fitness values per type; fewer levels are padded with zeros."""


class _Bound(NamedTuple):
    """The one scored level, the LP bound on it and each item's reduced cost there."""

    level: np.ndarray
    value: float
    reduced: npt.NDArray[np.float64]


_Entry = tuple[tuple[float, ...], int, Any]
"""A population member as the heap holds it: (weighted fitness, arrival, individual)."""

creator.create("SchedulerFitness", base.Fitness, weights=(1.0,) * _LEVELS)
creator.create("SchedulerIndividual", np.ndarray, fitness=creator.SchedulerFitness)


def search(
    knapsack: Knapsack,
    deadline: float,
    seed: int | None,
    *,
    budget: float,
    seeds: Sequence[Bits] = (),
    relax: bool = True,
) -> Bits:
    """Evolve until `deadline` (perf_counter), the LP bound or `PATIENCE` restarts.

    `budget` is the nominal time in seconds the population is sized for; `seeds` are
    feasible selections to start from. `relax=False` skips the LP relaxation (its seed,
    bound and prices), for a caller whose seed already comes from the MILP.
    """
    if not knapsack.size:
        return knapsack.empty()
    rng = np.random.default_rng(seed)
    population = Population.seeded(knapsack, deadline, rng, budget=budget, seeds=seeds, relax=relax)
    stale = restarts = 0
    # Only a new best can reach the bound, so it is checked then, not for every child.
    reached = population.reached_bound()
    while not reached and restarts < PATIENCE:
        if time.perf_counter() >= deadline:
            break
        if population.breed():
            stale = restarts = 0
            reached = population.reached_bound()
            continue
        stale += 1
        if stale >= stall_limit(restarts, population.size):
            population.restart(rng, restarts)
            stale, restarts = 0, restarts + 1
            reached = population.reached_bound()
    return np.asarray(population.best, dtype=bool)


def stall_limit(restarts: int, size: int) -> int:
    """Children without a new best that end a stall, after `restarts` restarts in a row.

    `STALL_GENERATIONS` generations of `size` children times the next term of Luby, Sinclair
    and Zuckerman's sequence (1 1 2 1 1 2 4 1 1 2 1 1 2 4 8 ...), the universal restart
    schedule for a search whose best restart interval is unknown. A new best starts the
    sequence over: while the search improves, short stalls are enough.
    """
    return STALL_GENERATIONS * size * _luby(restarts + 1)


def _luby(term: int) -> int:
    """The `term`-th (from 1) number of Luby's sequence.

    The sequence is made of blocks: the block that ends at term 2^k - 1 is two copies of the
    one before it followed by 2^(k-1).
    """
    while True:
        k = term.bit_length()
        if term == (1 << k) - 1:
            return 1 << (k - 1)
        term -= (1 << (k - 1)) - 1


def _population_size(knapsack: Knapsack, budget: float) -> int:
    """The population that lets `budget` seconds hold `GENERATIONS_IN_BUDGET` generations.

    Never more than twice the items: a short queue has few distinct maximal selections.
    """
    child = CHILD_SECONDS + CHILD_SECONDS_PER_WEIGHT * knapsack.weights.size
    fitted = int(budget / child / GENERATIONS_IN_BUDGET)
    return max(MIN_POPULATION, min(POPULATION, fitted, 2 * knapsack.size))


class Population:
    """The individuals (a min-heap on fitness, worst at [0]), their keys and the best ever."""

    def __init__(
        self,
        knapsack: Knapsack,
        order: Order,
        toolbox: Any,
        deadline: float,
        size: int,
        bound: _Bound | None,
    ) -> None:
        self.knapsack, self.order, self.toolbox = knapsack, order, toolbox
        self.deadline, self.size, self.bound = deadline, size, bound
        self.entries: list[_Entry] = []
        self.members: set[bytes] = set()
        # The counter keeps equal fitnesses from ever comparing the arrays themselves.
        self.counter = itertools.count()
        self.best: Any = None

    @classmethod
    def seeded(
        cls,
        knapsack: Knapsack,
        deadline: float,
        rng: np.random.Generator,
        *,
        budget: float,
        seeds: Sequence[Bits] = (),
        relax: bool = True,
    ) -> Population:
        """A full population for `search` (same arguments), its seeds admitted first."""
        relaxed, bound, duals = _relaxation(knapsack, deadline) if relax else (None, None, None)
        # Chu and Beasley rank by value per surrogate size weighted by the LP's dual
        # prices: a resource the relaxation leaves slack costs nothing, a binding one what
        # it is worth. Only when one level is scored: prices for HIGH demand would misrank
        # the LOW items.
        order = ranking(knapsack) if duals is None else ranking(knapsack, duals)
        toolbox = base.Toolbox()
        toolbox.register("evaluate", _evaluate, knapsack)
        toolbox.register("repair", _repair, knapsack, order)
        toolbox.register("select", _tournament, rng)
        toolbox.register("mate", _uniform_crossover, rng)
        toolbox.register("mutate", _flip_bits, rng)
        size = _population_size(knapsack, budget)
        population = cls(knapsack, order, toolbox, deadline, size, bound)
        # The caller's seeds and the greedy fill go in whatever the clock says: the answer
        # is never worse than them, and there is always a best.
        for bits in [*seeds, greedy(knapsack, order)]:
            population.admit(bits)
        for bits in _more_seeds(knapsack, order, relaxed):
            if time.perf_counter() >= deadline:
                break
            population.admit(bits)
        population.fill_randomly(rng)
        return population

    def admit(self, bits: Bits) -> bool:
        """Add `bits` (feasible) unless it is a member or the population is full."""
        individual = _individual(bits)
        key = _key(individual)
        if key in self.members or len(self.entries) >= self.size:
            return False
        self.toolbox.evaluate(individual)
        self.members.add(key)
        heapq.heappush(self.entries, (individual.fitness.wvalues, next(self.counter), individual))
        self._consider(individual)
        return True

    def fill_randomly(self, rng: np.random.Generator) -> None:
        """Complete the population with repaired random bit strings, attempts bounded."""
        for _ in range(2 * self.size):
            if len(self.entries) >= self.size or time.perf_counter() >= self.deadline:
                return
            bits = rng.random(self.knapsack.size) < 0.5
            self.toolbox.repair(bits)
            self.admit(bits)

    def breed(self) -> bool:
        """One child replaces the worst member; True when it is a new best."""
        toolbox = self.toolbox
        child = toolbox.mate(toolbox.select(self.entries), toolbox.select(self.entries))
        toolbox.mutate(child)
        toolbox.repair(child)
        key = _key(child)
        if key in self.members:
            return False
        toolbox.evaluate(child)
        self.members.add(key)
        _, _, replaced = heapq.heapreplace(
            self.entries, (child.fitness.wvalues, next(self.counter), child)
        )
        self.members.discard(_key(replaced))
        return self._consider(child)

    def restart(self, rng: np.random.Generator, restarts: int) -> None:
        """Keep the best and rebuild the rest, near it or, once that has failed, away from it.

        `restarts` counts the restarts in a row without a new best. Up to `ESCALATION`, and
        every other one after, half the others are perturbed copies of the best and half
        random fills. The rest force one item the best lacks (of those `promising` allows)
        into a copy each: the item stays, the worst-ranked others make room for it and the
        fill completes the rest, so unlike a perturbation the repair cannot undo it. Nothing
        else joins them: the population is as large as the distinct copies, so crossover
        recombines only these moves out of the basin until the next restart.
        """
        best = np.asarray(self.best, dtype=bool).copy()
        self.entries, self.members = [], set()
        self.admit(best)
        escape = restarts >= ESCALATION and (restarts - ESCALATION) % 2 == 0
        promising = self.promising(best) if escape else np.empty(0, dtype=np.intp)
        flips = max(MUTATION_FLIPS, math.ceil(PERTURBATION * self.knapsack.size))
        for attempt in range(2 * self.size):
            if len(self.entries) >= self.size or time.perf_counter() >= self.deadline:
                return
            if promising.size:
                bits = self.forced(best, int(promising[int(rng.random() * promising.size)]))
            elif attempt % 2 or escape:
                bits = rng.random(self.knapsack.size) < 0.5
                self.toolbox.repair(bits)
            else:
                bits = best.copy()
                flipped = rng.integers(self.knapsack.size, size=flips)
                bits[flipped] = ~bits[flipped]
                self.toolbox.repair(bits)
            self.admit(bits)

    def promising(self, best: Bits) -> npt.NDArray[np.intp]:
        """The items outside `best` that a better selection may hold, by the LP bound.

        Taking item j costs at least its reduced cost -r_j off the LP bound (LP duality,
        the reduced-cost test of branch and bound), so an item whose -r_j exceeds what the
        bound leaves above the best is in no better selection. Without a bound every item
        outside the best qualifies.
        """
        outside = np.flatnonzero(~best)
        if self.bound is None:
            return outside
        room = self.bound.value - float(self.bound.level @ best) + tolerance(self.bound.value)
        return outside[self.bound.reduced[outside] >= -room]

    def forced(self, best: Bits, item: int) -> Bits:
        """`best` with `item` in: the worst-ranked others dropped until it fits, then a fill."""
        bits = best.copy()
        bits[item] = True
        drop(self.knapsack, bits, self.order[self.order != item])
        fill(self.knapsack, bits, self.order)
        return bits

    def reached_bound(self) -> bool:
        """True when the best meets the LP bound, so no selection can be better."""
        if self.bound is None:
            return False
        score = float(self.bound.level @ np.asarray(self.best, dtype=bool))
        return score >= self.bound.value - tolerance(self.bound.value)

    def _consider(self, individual: Any) -> bool:
        """Make `individual` the best if it is better, polished by local search first."""
        if (
            self.best is not None
            and compare(individual.fitness.values, self.best.fitness.values) <= 0
        ):
            return False
        polished = np.asarray(individual, dtype=bool).copy()
        if swaps.improve(self.knapsack, polished, self.order, self.deadline):
            individual = _individual(polished)
            self.toolbox.evaluate(individual)
        self.best = individual
        return True


def _relaxation(
    knapsack: Knapsack, deadline: float
) -> tuple[Bits | None, _Bound | None, npt.NDArray[np.float64] | None]:
    """The LP relaxation's optimum rounded down, and its bound and dual prices.

    An LP optimum has at most one fractional item per resource, so rounding it down (the
    caller then fills it) loses little on long queues, and it balances the resources where
    a greedy ranking fills one of them first and strands the others. Only the most
    important level is relaxed. The LP optimum bounds every selection when that level is
    the only one anybody scores on (explicit values, or a queue of one priority without
    waits), rounded down when the scores are integral; otherwise the bound and the prices
    are None.
    """
    scored = [level for level in knapsack.levels if level.any()]
    if not scored:
        return None, None, None
    highs = program(knapsack, integral=False, deadline=deadline)
    set_costs(highs, scored[0])
    if (
        not run_until(highs, deadline)
        or highs.getModelStatus() != highspy.HighsModelStatus.kOptimal
    ):
        return None, None, None
    solution = highs.getSolution()
    relaxed = np.asarray(solution.col_value)
    prices = np.abs(np.asarray(solution.row_dual))
    bits = relaxed > 1.0 - _INTEGRAL
    if len(scored) > 1:
        return bits, None, None
    bound = float(scored[0] @ relaxed)
    if np.all(scored[0] == np.round(scored[0])):
        bound = math.floor(bound + tolerance(bound))
    reduced = scored[0] - prices @ knapsack.weights
    # A resource whose price is zero still counts a little, so ties break by its share.
    duals = prices + _PRICE_FLOOR / knapsack.capacity
    return bits, _Bound(scored[0], bound, reduced), duals


def _more_seeds(knapsack: Knapsack, order: Order, relaxed: Bits | None) -> Iterator[Bits]:
    """Greedy fills of other shapes, made lazily, so a deadline can cut them short.

    Greedy by the default ranking, the rounded LP relaxation, and greedy by each resource
    alone: selections that fill the resources differently from the search's own greedy.
    """
    yield greedy(knapsack, ranking(knapsack))
    if relaxed is not None:
        _repair(knapsack, order, relaxed)
        yield relaxed
    for resource in range(len(knapsack.capacity)):
        alone = np.zeros(len(knapsack.capacity))
        alone[resource] = 1.0 / knapsack.capacity[resource]
        yield greedy(knapsack, ranking(knapsack, alone))


def _individual(bits: Bits) -> Any:
    """Wrap `bits` as a DEAP individual.

    Viewing the array avoids the element-by-element copy DEAP's constructor makes, which
    would dominate the cost of a child on long queues.
    """
    individual = bits.view(creator.SchedulerIndividual)
    individual.fitness = creator.SchedulerFitness()
    return individual


def _key(bits: Bits) -> bytes:
    return np.packbits(bits).tobytes()


def _evaluate(knapsack: Knapsack, individual: Any) -> None:
    scores = knapsack.scores(np.asarray(individual))
    individual.fitness.values = scores + (0.0,) * (_LEVELS - len(scores))


def _repair(knapsack: Knapsack, order: Order, bits: Bits) -> None:
    drop(knapsack, bits, order)
    fill(knapsack, bits, order)


def _tournament(rng: np.random.Generator, population: list[_Entry]) -> Any:
    """The fitter of two members drawn at random (a binary tournament).

    Indices are scaled uniform draws: `Generator.integers` costs three times as much per
    call, and a child makes two tournaments.
    """
    size = len(population)
    first, second = population[int(rng.random() * size)], population[int(rng.random() * size)]
    return max(first, second)[2]


def _uniform_crossover(rng: np.random.Generator, mother: Any, father: Any) -> Any:
    """Each bit from either parent with equal probability."""
    return _individual(np.where(rng.random(len(mother)) < 0.5, mother, father))


def _flip_bits(rng: np.random.Generator, individual: Any) -> None:
    flips = (rng.random(MUTATION_FLIPS) * len(individual)).astype(np.intp)
    individual[flips] = ~individual[flips]
