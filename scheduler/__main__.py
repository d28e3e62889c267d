"""Command line: ``python -m simplismart.scheduler solve INSTANCE.json``.

Prints one JSON object (the selection) on stdout; a bad instance is reported on stderr,
naming the field, with exit code 2, the code argparse uses for bad usage.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

from simplismart.scheduler import instance
from simplismart.scheduler.problem import ProblemError
from simplismart.scheduler.solver import solve
from simplismart.scheduler.strategy import Strategy

_FORMAT = """\
instance format (JSON):
  {"capacity": {"cpu": 16, "ram": 64, "gpu": 4},   free capacity now, non-negative integers
   "total": {"cpu": 32, "ram": 128, "gpu": 8},     optional cluster totals (default: capacity)
   "aging_seconds": 600,                           optional: LOW waiting longer counts as HIGH
   "candidates": [{"id": "d1", "requests": {"cpu": 2, "ram": 8, "gpu": 1},
                   "priority": 1,                  1 HIGH, 0 LOW (default 0)
                   "waited_seconds": 12.5,         default 0
                   "max_seconds": 300}],           optional: longest run (default: unbounded)
   "reservations": [{"in_seconds": 40,             optional: a start promised in 40 s, and
                     "capacity": {"cpu": 4}}]}     what is left then for candidates still running
  If every candidate has "value", the priorities are ignored and the sum of the values of
  the started candidates is maximised (a plain multidimensional knapsack).
See docs/scheduler.md for the objective and the strategies.
"""


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit code."""
    parser = argparse.ArgumentParser(
        prog="python -m simplismart.scheduler",
        description="Choose which queued deployments to start within the free capacity.",
        epilog=_FORMAT,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True)
    solve_command = commands.add_parser(
        "solve",
        help="solve an instance file and print the selection as JSON",
        description="Solve INSTANCE and print the selection as one JSON object.",
        epilog=_FORMAT,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    solve_command.add_argument("instance", type=Path, help="instance JSON file")
    solve_command.add_argument(
        "--strategy",
        choices=[s.value for s in Strategy],
        default=Strategy.AUTO.value,
        help=(
            "search strategy (default: auto = combinations below 10 candidates, else "
            "optimal, then genetic if HiGHS cannot prove the optimum in time)"
        ),
    )
    solve_command.add_argument("--seed", type=int, help="seed for a reproducible search")
    solve_command.add_argument("--time-limit", type=float, help="search time limit in seconds")
    arguments = parser.parse_args(argv)
    try:
        problem = instance.load(arguments.instance)
        with _stdout_to_stderr():
            selection = solve(
                problem,
                Strategy(arguments.strategy),
                seed=arguments.seed,
                time_limit=arguments.time_limit,
            )
    except ProblemError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(json.dumps(selection.to_dict()))
    return 0


@contextlib.contextmanager
def _stdout_to_stderr() -> Iterator[None]:
    """Send whatever the solver libraries write to the process's stdout to stderr.

    HiGHS prints a banner on file descriptor 1 from C, which `sys.stdout` never sees; it
    would corrupt the JSON document a caller parses from stdout.
    """
    sys.stdout.flush()
    saved = os.dup(1)
    os.dup2(2, 1)
    try:
        yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)


if __name__ == "__main__":
    sys.exit(main())
