"""Heuristic search: Chu and Beasley's steady-state genetic algorithm for the 0/1 MKP.

Individuals are bit strings. Each child comes from two binary tournaments, uniform
crossover and a two-bit mutation, then the repair operator makes it feasible and maximal:
drop the worst-ranked selected items until every resource fits, then add the best-ranked
items that still fit (see `greedy`). The child replaces the population's worst member
unless it duplicates a member, which keeps the population diverse without a diversity
measure. The population is seeded with greedy solutions and the rounded LP relaxation, and
the best individual ever seen is kept, so the answer is never worse than those seeds.

DEAP provides the individual and fitness types and the toolbox the run is assembled in.
The operators are our own: DEAP's built-in ones draw from the global `random` module,
which would make a seeded run depend on whatever else uses it, and loop over bits in
Python, which is too slow for ten thousand candidates.

The run stops at the first of: the time limit, the generation budget, or `stall`
generations without improving the best (a generation is one population's worth of
children), so short queues do not spend the whole time limit confirming the greedy answer.
"""

from __future__ import annotations

import heapq
import itertools
import time
from typing import Any, Final

import numpy as np
from deap import base, creator

from simplismart.scheduler.greedy import Order, drop, fill, greedy, ranking
from simplismart.scheduler.knapsack import Bits, Knapsack
from simplismart.scheduler.objective import compare
from simplismart.scheduler.program import program, set_costs

POPULATION: Final = 100
MAX_GENERATIONS: Final = 1000
STALL_GENERATIONS: Final = 25
MUTATION_FLIPS: Final = 2
"""Chu and Beasley flip two bits: enough to leave a parent's neighbourhood, few enough
that the repair does not undo the whole child."""

_INTEGRAL: Final = 1e-6
"""How close to 1 a relaxed value counts as taking the item."""

_LEVELS: Final = 3
"""DEAP fixes the number of fitness values per type; fewer levels are padded with zeros."""

_Entry = tuple[tuple[float, ...], int, Any]
"""A population member as the heap holds it: (weighted fitness, arrival, individual)."""

creator.create("SchedulerFitness", base.Fitness, weights=(1.0,) * _LEVELS)
creator.create("SchedulerIndividual", np.ndarray, fitness=creator.SchedulerFitness)


def search(
    knapsack: Knapsack,
    deadline: float,
    seed: int | None,
    *,
    max_generations: int = MAX_GENERATIONS,
    stall: int = STALL_GENERATIONS,
) -> Bits:
    """Evolve until `deadline` (perf_counter), the generation budget or a stall."""
    rng = np.random.default_rng(seed)
    order = ranking(knapsack)
    toolbox = base.Toolbox()
    toolbox.register("evaluate", _evaluate, knapsack)
    toolbox.register("repair", _repair, knapsack, order)
    toolbox.register("select", _tournament, rng)
    toolbox.register("mate", _uniform_crossover, rng)
    toolbox.register("mutate", _flip_bits, rng)

    # A min-heap on fitness, so the worst member, which each child replaces, is at [0].
    # The counter keeps equal fitnesses from ever comparing the arrays themselves.
    counter = itertools.count()
    population = [
        (member.fitness.wvalues, next(counter), member)
        for member in _initial_population(knapsack, order, rng, toolbox, deadline)
    ]
    heapq.heapify(population)
    members = {_key(member) for _, _, member in population}
    best = max(population)[2]

    generation = stale = 0
    while generation < max_generations and stale < stall:
        improved = False
        for _ in range(len(population)):
            if time.perf_counter() >= deadline:
                return np.asarray(best, dtype=bool)
            child = toolbox.mate(toolbox.select(population), toolbox.select(population))
            toolbox.mutate(child)
            toolbox.repair(child)
            key = _key(child)
            if key in members:
                continue
            toolbox.evaluate(child)
            members.add(key)
            _, _, replaced = heapq.heapreplace(
                population, (child.fitness.wvalues, next(counter), child)
            )
            members.discard(_key(replaced))
            if compare(child.fitness.values, best.fitness.values) > 0:
                best, improved = child, True
        generation += 1
        stale = 0 if improved else stale + 1
    return np.asarray(best, dtype=bool)


def _initial_population(
    knapsack: Knapsack, order: Order, rng: np.random.Generator, toolbox: Any, deadline: float
) -> list[Any]:
    """Greedy seeds first, then repaired random bit strings, all distinct.

    The seeds are the rounded LP relaxation and greedy fills ranked by the default
    surrogate size and by each resource alone, so the population starts with good
    solutions of different shapes. Short queues may have
    fewer distinct maximal selections than POPULATION; the attempts are bounded.
    """
    population: list[Any] = []
    members: set[bytes] = set()

    def admit(bits: Bits) -> None:
        individual = _individual(bits)
        key = _key(individual)
        if key not in members:
            toolbox.evaluate(individual)
            members.add(key)
            population.append(individual)

    admit(greedy(knapsack, order))
    admit(_rounded_relaxation(knapsack, order))
    for resource in range(len(knapsack.capacity)):
        alone = np.zeros(len(knapsack.capacity))
        alone[resource] = 1.0 / knapsack.capacity[resource]
        admit(greedy(knapsack, ranking(knapsack, alone)))
    for _ in range(2 * POPULATION):
        if len(population) >= POPULATION or time.perf_counter() >= deadline:
            break
        bits = rng.random(knapsack.size) < 0.5
        toolbox.repair(bits)
        admit(bits)
    return population


def _rounded_relaxation(knapsack: Knapsack, order: Order) -> Bits:
    """The LP relaxation's optimum rounded down, then filled.

    An LP optimum has at most one fractional item per resource, so rounding it down loses
    little on long queues, and it balances the resources where a greedy ranking fills one
    of them first and strands the others. Only the most important level is relaxed; the
    fill ranks the rest.
    """
    highs = program(knapsack, integral=False)
    set_costs(highs, next(level for level in knapsack.levels if level.any()))
    highs.run()
    bits = np.asarray(highs.getSolution().col_value) > 1.0 - _INTEGRAL
    drop(knapsack, bits, order)
    fill(knapsack, bits, order)
    return bits


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
    """The fitter of two members drawn at random (a binary tournament)."""
    first, second = rng.integers(len(population), size=2)
    return max(population[first], population[second])[2]


def _uniform_crossover(rng: np.random.Generator, mother: Any, father: Any) -> Any:
    """Each bit from either parent with equal probability."""
    return _individual(np.where(rng.random(len(mother)) < 0.5, mother, father))


def _flip_bits(rng: np.random.Generator, individual: Any) -> None:
    flips = rng.integers(len(individual), size=MUTATION_FLIPS)
    individual[flips] = ~individual[flips]
