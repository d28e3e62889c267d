"""Benchmark of victim selection: how long `select_victims` takes and how often it is exact.

Run ``python bench/preemption_bench.py [--quick]``. Prints a Markdown report and writes it to
docs/benchmarks/preemption.md; the generator is described in the report itself (`_METHOD`).
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

from simplismart.scheduler import PreemptionProblem, Preemptor, RunningDeployment, select_victims

REPORT = Path(__file__).resolve().parent.parent / "docs" / "benchmarks" / "preemption.md"
GIB = 1024

_METHOD = """\
**Instances.** A cluster full of runs: each running deployment asks 1, 2, 4 or 8 CPU, 2 to
32 GiB of RAM and no GPU (70 %), 1 or 2; it is LOW with probability 0.8, has run 0 to
3,600 s and has been preempted 0 times (70 %) or 1 to 3 times (`maxPreemptions` 3). The
free capacity is 0 to 2 CPU, 0 to 8 GiB and 0 GPU, the capacity is exactly what runs plus
what is free. One to three HIGH preemptors ask 2 to 16 CPU, 4 to 64 GiB and 0 to 4 GPU.
Seeds are fixed (1000 x n + instance).

Two units for RAM: **GiB** (whole GiB, the way requests are usually written) and **MiB**
(any number of MiB: the fine-grained case, where the deficit in RAM has up to 65,536 steps
and the exact program gives way to the greedy fallback beyond its cell limit).

**Times** are wall-clock per `select_victims` call, validation included; the machine was
shared with other work, so they are pessimistic. "p99 CPU" is the thread's CPU time, which
waiting for a core does not inflate; the target is checked on wall-clock time."""


@dataclass(frozen=True, slots=True)
class Plan:
    """What a run measures: sizes and instances per size."""

    sizes: tuple[int, ...]
    instances: int


FULL = Plan(sizes=(10, 30, 100, 300, 1000), instances=500)
QUICK = Plan(sizes=(10, 100, 1000), instances=100)


@dataclass(frozen=True, slots=True)
class Run:
    """One call: its time, whether it was proven optimal, how many victims it chose."""

    seconds: float
    cpu_seconds: float
    proven: bool
    victims: int


def generate(n: int, instance: int, *, ram_unit: int) -> PreemptionProblem:
    """A full cluster of `n` runs and one to three preemptors (see `_METHOD`)."""
    rng = np.random.default_rng(1000 * n + instance)

    def ram(low_gib: int, high_gib: int) -> int:
        if ram_unit == GIB:  # requests in whole GiB
            return int(rng.integers(low_gib, high_gib + 1))
        return int(rng.integers(low_gib * GIB, high_gib * GIB + 1))  # any number of MiB

    running = [
        RunningDeployment(
            id=f"r{i}",
            requests={
                "cpu": int(rng.choice([1, 2, 4, 8])),
                "ram": ram(2, 32),
                "gpu": int(rng.choice([0, 1, 2], p=[0.7, 0.2, 0.1])),
            },
            priority=int(rng.random() >= 0.8),
            used_seconds=round(float(rng.uniform(0, 3600)), 3),
            preemptions=int(rng.choice([0, 1, 2, 3], p=[0.7, 0.1, 0.1, 0.1])),
        )
        for i in range(n)
    ]
    free = {"cpu": int(rng.integers(0, 3)), "ram": ram(0, 8), "gpu": 0}
    capacity = {
        name: free[name] + sum(r.requests[name] for r in running) for name in ("cpu", "ram", "gpu")
    }
    preemptors = [
        Preemptor(
            id=f"p{k}",
            requests={
                "cpu": int(rng.integers(2, 17)),
                "ram": ram(4, 64),
                "gpu": int(rng.integers(0, 5)),
            },
        )
        for k in range(int(rng.integers(1, 4)))
    ]
    return PreemptionProblem(capacity=capacity, free=free, running=running, preemptors=preemptors)


def measure(plan: Plan, log: Callable[[str], None]) -> list[tuple[str, int, list[Run]]]:
    """Every instance of every size, in both RAM units."""
    results = []
    for unit_name, unit in (("GiB", GIB), ("MiB", 1)):
        for n in plan.sizes:
            runs = []
            for instance in range(plan.instances):
                problem = generate(n, instance, ram_unit=unit)
                started, cpu_started = time.perf_counter(), time.thread_time()
                chosen = select_victims(problem)
                seconds = time.perf_counter() - started
                cpu_seconds = time.thread_time() - cpu_started
                runs.append(Run(seconds, cpu_seconds, chosen.proven_optimal, len(chosen.victims)))
            results.append((unit_name, n, runs))
            log(f"RAM in {unit_name}, n={n} done")
    return results


def _quantile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(np.ceil(q * len(ordered))) - 1)]


def table(results: list[tuple[str, int, list[Run]]]) -> str:
    """The Markdown table: per unit and size, exactness, victims and times."""
    lines = [
        "| RAM in | running | instances | proven optimal | with victims | mean victims "
        "| median ms | p99 ms | max ms | p99 CPU ms |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for unit, n, runs in results:
        seconds = [run.seconds * 1000.0 for run in runs]
        cpu = [run.cpu_seconds * 1000.0 for run in runs]
        with_victims = [run.victims for run in runs if run.victims]
        mean = statistics.mean(with_victims) if with_victims else 0.0
        lines.append(
            f"| {unit} | {n:,} | {len(runs)} | {sum(run.proven for run in runs)} "
            f"| {len(with_victims)} | {mean:.1f} | {statistics.median(seconds):.2f} "
            f"| {_quantile(seconds, 0.99):.2f} | {max(seconds):.2f} | {_quantile(cpu, 0.99):.2f} |"
        )
    return "\n".join(lines)


def targets(results: list[tuple[str, int, list[Run]]]) -> str:
    """The issue's target, marked met or missed on CPU time and on wall-clock time.

    CPU time is the selection's own work; wall-clock time adds whatever the machine's other
    load made it wait for a core, which on a shared machine can dominate.
    """
    runs = [run for unit, n, rs in results if unit == "GiB" and n == 100 for run in rs]
    if not runs:
        return "- p99 <= 10 ms with 100 running: **not measured**"
    exact = all(run.proven for run in runs)
    lines = []
    for clock, seconds in (
        ("CPU time", [run.cpu_seconds for run in runs]),
        ("wall-clock time", [run.seconds for run in runs]),
    ):
        p99 = _quantile(seconds, 0.99)
        verdict = "met" if p99 <= 0.010 and exact else "missed"
        lines.append(
            f"- p99 <= 10 ms with 100 running (RAM in GiB), every answer proven optimal, on "
            f"{clock}: **{verdict}** ({1000 * p99:.2f} ms)"
        )
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
    """Run the benchmark, print the report and write it to docs/benchmarks/preemption.md."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer sizes and instances")
    parser.add_argument("--output", type=Path, default=REPORT, help="where to write the report")
    arguments = parser.parse_args(argv)
    plan = QUICK if arguments.quick else FULL
    results = measure(plan, log=lambda line: print(line, flush=True))
    mode = "quick" if arguments.quick else "full"
    report = "\n\n".join(
        [
            "# Preemption benchmark",
            f"Generated by `python bench/preemption_bench.py"
            f"{' --quick' if arguments.quick else ''}` ({mode} run) on {machine()}.",
            _METHOD,
            f"{plan.instances} instances per size.",
            table(results),
            "## Target\n\n" + targets(results),
        ]
    )
    print(report)
    arguments.output.parent.mkdir(parents=True, exist_ok=True)
    arguments.output.write_text(report + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
