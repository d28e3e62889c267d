"""Benchmark of the scheduler's strategies against the best known selection.

Run ``python bench/scheduler_bench.py [--quick]``. Prints a Markdown report and writes it to
docs/benchmarks/scheduler.md; the generator, the gap measure and the machine are described
in the report itself (see `_METHOD`).
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from simplismart.scheduler import Candidate, Problem, Strategy, solve
from simplismart.scheduler.greedy import fill
from simplismart.scheduler.knapsack import Bits, Knapsack

REPORT = Path(__file__).resolve().parent.parent / "docs" / "benchmarks" / "scheduler.md"
RESOURCES = ("cpu", "ram", "gpu")
TIGHTNESS = (0.25, 0.5, 0.75)
BASELINE = "baseline (original)"

_METHOD = """\
**Instances.** Three resources, Chu and Beasley's generator for the multidimensional
knapsack: requests uniform in 1..1000 per resource, free capacity = tightness x sum of the
requests, the tightness cycling over 0.25, 0.5, 0.75 across the instances of a size. The
cluster total of each resource is free / a, with a uniform in [0.2, 0.8] (the free share of
the cluster), so demand shares weigh the resources differently from the free capacity.
Seeds are fixed (1000 x n + instance).

**Objective and gap.** Every candidate is LOW with no aging and no wait, so the policy's
objective is a single scalar, the LOW demand started (sum of request / total), and the gap
is on that scalar: (best - found) / best. "Best" is the proven optimum when the reference
run (`optimal` with the generous time limit below) proves it, otherwise the best selection
any run found; the reference column then shows HiGHS's remaining gap to its bound, an upper
bound on how far "best" can be from the optimum. Note that this objective is a linear
function of the resources used, so the LP relaxation is degenerate and optimality amounts
to packing the free capacity exactly: a hard case for proving optimality.

**Baseline.** The original scheduler's method, re-implemented here: maximise the number of
started deployments with a GA of 10 individuals x 10 generations, individuals being
permutations decoded first-fit (order crossover, swap mutation, elitism). Its selections
are scored on the same objective.

**Times** are wall-clock, including compiling the problem; the machine was shared with
other work, so they are pessimistic."""


@dataclass(frozen=True, slots=True)
class Plan:
    """What a run measures: sizes, instances per size and the time limits."""

    sizes: tuple[int, ...]
    instances: Callable[[int], int]
    reference_limit: Callable[[int], float]
    genetic_limit: Callable[[int], float]
    limits: str
    optimal_limit: float = 1.0
    combinations_up_to: int = 20


FULL = Plan(
    sizes=(9, 10, 100, 1000, 10_000),
    instances=lambda n: 3 if n >= 10_000 else 5,
    reference_limit=lambda n: 30.0 if n >= 10_000 else 10.0,
    genetic_limit=lambda n: 5.0 if n >= 10_000 else 1.0,
    limits="reference 10 s (30 s at n = 10,000); genetic and auto 1 s (5 s at n = 10,000); "
    "optimal 1 s; 5 instances per size, 3 at n = 10,000.",
)
QUICK = Plan(
    sizes=(9, 10, 100, 1000),
    instances=lambda n: 2,
    reference_limit=lambda n: 2.0,
    genetic_limit=lambda n: 1.0,
    limits="reference 2 s; genetic and auto 1 s; optimal 1 s; 2 instances per size.",
)


@dataclass(frozen=True, slots=True)
class Run:
    """One strategy on one instance; `gap` is relative to the best known demand."""

    n: int
    strategy: str
    gap: float
    seconds: float
    proven: bool


def generate(n: int, instance: int) -> Problem:
    """A Chu-Beasley style instance of `n` LOW candidates (see `_METHOD`)."""
    rng = np.random.default_rng(1000 * n + instance)
    requests = rng.integers(1, 1001, size=(len(RESOURCES), n))
    free = (TIGHTNESS[instance % len(TIGHTNESS)] * requests.sum(axis=1)).astype(np.int64)
    share = rng.uniform(0.2, 0.8, size=len(RESOURCES))
    total = np.ceil(free / share).astype(np.int64)
    return Problem(
        free={r: int(f) for r, f in zip(RESOURCES, free, strict=True)},
        total={r: int(t) for r, t in zip(RESOURCES, total, strict=True)},
        candidates=[
            Candidate(
                id=f"d{j}", requests={r: int(w) for r, w in zip(RESOURCES, column, strict=True)}
            )
            for j, column in enumerate(requests.T)
        ],
    )


def original(knapsack: Knapsack, seed: int) -> Bits:
    """The original scheduler: most deployments started, GA of 10 x 10 over permutations."""
    rng = np.random.default_rng(seed)

    def decode(order: np.ndarray) -> np.ndarray:
        bits = knapsack.empty()
        fill(knapsack, bits, order)
        return bits

    population = [rng.permutation(knapsack.size) for _ in range(10)]
    for _ in range(10):
        ranked = sorted(population, key=lambda order: -int(decode(order).sum()))
        children = [ranked[0]]  # elitism
        while len(children) < len(population):
            mother, father = (ranked[min(rng.integers(10, size=2))] for _ in range(2))
            child = _order_crossover(mother, father, rng)
            i, j = rng.integers(knapsack.size, size=2)
            child[i], child[j] = child[j], child[i]
            children.append(child)
        population = children
    best = max(population, key=lambda order: int(decode(order).sum()))
    return decode(best)


def _order_crossover(
    mother: np.ndarray, father: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """OX: a slice of the mother, the rest in the father's order."""
    start, stop = sorted(rng.integers(len(mother) + 1, size=2))
    kept = mother[start:stop]
    rest = father[~np.isin(father, kept)]
    return np.concatenate([rest[:start], kept, rest[start:]])


def measure(plan: Plan, log: Callable[[str], None]) -> list[tuple[int, list[Run], list[float]]]:
    """Every strategy on every instance; per size: the runs and the reference gaps."""
    results = []
    for n in plan.sizes:
        runs: list[Run] = []
        reference_gaps: list[float] = []
        for instance in range(plan.instances(n)):
            problem = generate(n, instance)
            reference = solve(problem, Strategy.OPTIMAL, time_limit=plan.reference_limit(n))
            reference_gaps.append(reference.gap if reference.gap is not None else float("nan"))
            # (strategy, demand started, seconds, proven optimal)
            found = [("reference", reference.objective.low, 0.0, reference.proven_optimal)]
            strategies = [Strategy.GENETIC, Strategy.OPTIMAL, Strategy.AUTO]
            if n <= plan.combinations_up_to:
                strategies.insert(0, Strategy.COMBINATIONS)
            for strategy in strategies:
                limit = (
                    plan.optimal_limit if strategy is Strategy.OPTIMAL else plan.genetic_limit(n)
                )
                selection = solve(problem, strategy, seed=instance, time_limit=limit)
                name = f"auto ({selection.strategy})" if strategy is Strategy.AUTO else strategy
                found.append(
                    (
                        name,
                        selection.objective.low,
                        selection.duration_ms / 1000.0,
                        selection.proven_optimal,
                    )
                )
            started = time.perf_counter()
            knapsack = Knapsack.from_problem(problem)
            demand = knapsack.objective(original(knapsack, seed=instance)).low
            found.append((BASELINE, demand, time.perf_counter() - started, False))
            best = max(demand for _, demand, _, _ in found)
            runs.extend(
                Run(n, name, (best - demand) / best, seconds, proven)
                for name, demand, seconds, proven in found
            )
            log(f"n={n} instance={instance} done")
        results.append((n, runs, reference_gaps))
    return results


def _percent(value: float) -> str:
    return f"{100.0 * value:.3f} %"


def _milliseconds(value: float) -> str:
    return f"{1000.0 * value:.1f}"


def table(results: list[tuple[int, list[Run], list[float]]]) -> str:
    """The Markdown table: per size and strategy, gaps and times."""
    lines = [
        "| n | strategy | instances | proven | median gap | worst gap | median ms | p95 ms |",
        "|---:|---|---:|---:|---:|---:|---:|---:|",
    ]
    for n, runs, reference_gaps in results:
        names = list(dict.fromkeys(run.strategy for run in runs))
        for name in names:
            mine = [run for run in runs if run.strategy == name]
            gaps = [run.gap for run in mine]
            seconds = sorted(run.seconds for run in mine)
            proven = sum(run.proven for run in mine)
            if name == "reference":
                open_gap = max(reference_gaps)
                lines.append(
                    f"| {n:,} | reference (optimal, bound gap {_percent(open_gap)}) | {len(mine)} "
                    f"| {proven} | {_percent(statistics.median(gaps))} | {_percent(max(gaps))} "
                    "| | |"
                )
                continue
            p95 = seconds[min(len(seconds) - 1, int(np.ceil(0.95 * len(seconds))) - 1)]
            lines.append(
                f"| {n:,} | {name} | {len(mine)} | {proven} | {_percent(statistics.median(gaps))} "
                f"| {_percent(max(gaps))} | {_milliseconds(statistics.median(seconds))} "
                f"| {_milliseconds(p95)} |"
            )
    return "\n".join(lines)


def targets(results: list[tuple[int, list[Run], list[float]]], plan: Plan) -> str:
    """The design's targets, each marked met or missed from the measured runs."""

    def runs_of(n: int, strategy: str) -> list[Run]:
        return [
            run
            for size, runs, _ in results
            if size == n
            for run in runs
            if run.strategy == strategy
        ]

    checks: list[tuple[str, int, str, Callable[[list[Run]], bool]]] = [
        (
            "combinations at n = 9 in <= 10 ms (median)",
            9,
            "combinations",
            lambda rs: statistics.median(r.seconds for r in rs) <= 0.010,
        ),
        (
            "genetic median gap <= 0.1 % at n = 100 within 1 s",
            100,
            "genetic",
            lambda rs: (
                statistics.median(r.gap for r in rs) <= 0.001 and max(r.seconds for r in rs) <= 1.05
            ),
        ),
        (
            "genetic median gap <= 0.1 % at n = 1,000 within 1 s",
            1000,
            "genetic",
            lambda rs: (
                statistics.median(r.gap for r in rs) <= 0.001 and max(r.seconds for r in rs) <= 1.05
            ),
        ),
        (
            "genetic median gap <= 0.5 % at n = 10,000 within 5 s",
            10_000,
            "genetic",
            lambda rs: (
                statistics.median(r.gap for r in rs) <= 0.005 and max(r.seconds for r in rs) <= 5.05
            ),
        ),
        (
            "optimal proves the optimum at n = 10,000 in <= 1 s (median)",
            10_000,
            "optimal",
            lambda rs: sum(r.proven for r in rs) * 2 > len(rs),
        ),
    ]
    lines = []
    for text, n, strategy, met in checks:
        rs = runs_of(n, strategy)
        verdict = (
            "not measured" if not rs or n not in plan.sizes else ("met" if met(rs) else "missed")
        )
        lines.append(f"- {text}: **{verdict}**")
    return "\n".join(lines)


def machine() -> str:
    """Where and when the numbers were taken."""
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return (
        f"{datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC; {os.cpu_count()} cores "
        f"({platform.machine()}, {platform.system()}); Python {platform.python_version()}; "
        f"load average at the end {load}"
    )


def main(argv: Sequence[str] | None = None) -> None:
    """Run the benchmark, print the report and write it to docs/benchmarks/scheduler.md."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller sizes and limits (~1 min)")
    parser.add_argument("--output", type=Path, default=REPORT, help="where to write the report")
    arguments = parser.parse_args(argv)
    plan = QUICK if arguments.quick else FULL
    results = measure(plan, log=lambda line: print(line, flush=True))
    mode = "quick" if arguments.quick else "full"
    report = "\n\n".join(
        [
            "# Scheduler benchmark",
            f"Generated by `python bench/scheduler_bench.py{' --quick' if arguments.quick else ''}`"
            f" ({mode} run) on {machine()}.",
            _METHOD,
            f"Time limits: {plan.limits}",
            table(results),
            "## Targets\n\n" + targets(results, plan),
        ]
    )
    print(report)
    arguments.output.parent.mkdir(parents=True, exist_ok=True)
    arguments.output.write_text(report + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
