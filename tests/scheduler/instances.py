"""Random problems and an independent reference scorer for the scheduler tests.

The reference recomputes feasibility and the objective from the `Problem` itself, straight
from the policy's definition, so the tests check the compiled knapsack as well as the
search on top of it.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable

from hypothesis import strategies as st

from simplismart.scheduler import Candidate, Problem, Reservation
from simplismart.scheduler.objective import compare

RESOURCES = ("cpu", "ram", "gpu")


def feasible(problem: Problem, selected: Iterable[str]) -> bool:
    """True when the selected candidates fit the free capacity, and those that outlive a
    reservation fit the capacity it leaves; unknown resources have 0."""
    ids = set(selected)
    chosen = [c for c in problem.candidates if c.id in ids]
    limits = [(problem.free, chosen)]
    for reservation in problem.reservations:
        limits.append((reservation.capacity, [c for c in chosen if c.outlives(reservation)]))
    for capacity, holding in limits:
        used: dict[str, int] = {}
        for candidate in holding:
            for name, amount in candidate.requests.items():
                used[name] = used.get(name, 0) + amount
        if any(amount > capacity.get(name, 0) for name, amount in used.items()):
            return False
    return True


def score(problem: Problem, selected: Iterable[str]) -> tuple[float, ...]:
    """The lexicographic objective of a selection, from the policy's definition."""
    chosen = set(selected)
    total = problem.total if problem.total is not None else problem.free
    high = low = waited = value = 0.0
    for candidate in problem.candidates:
        if candidate.id not in chosen:
            continue
        if candidate.value is not None:
            value += candidate.value
            continue
        demand = sum(amount / total[r] for r, amount in candidate.requests.items() if total.get(r))
        aged = (
            problem.aging_seconds is not None and candidate.waited_seconds > problem.aging_seconds
        )
        if candidate.priority == 1 or aged:
            high += demand
        else:
            low += demand
        waited += candidate.waited_seconds
    return (value,) if problem.explicit_values else (high, low, waited)


def brute_force(problem: Problem) -> tuple[float, ...]:
    """The best objective over every subset of the candidates."""
    ids = [c.id for c in problem.candidates]
    best = score(problem, ())
    for size in range(1, len(ids) + 1):
        for subset in itertools.combinations(ids, size):
            if feasible(problem, subset) and compare(score(problem, subset), best) > 0:
                best = score(problem, subset)
    return best


@st.composite
def problems(
    draw: st.DrawFn,
    *,
    max_candidates: int = 8,
    explicit: bool | None = None,
    reservations: bool = False,
) -> Problem:
    """Small problems, including zero capacity, oversized and unknown-resource requests;
    with `reservations`, up to two of them and candidates that end before or after."""
    names = draw(st.lists(st.sampled_from(RESOURCES), min_size=1, max_size=3, unique=True))
    free = {name: draw(st.integers(0, 20)) for name in names}
    total = (
        {name: amount + draw(st.integers(0, 20)) for name, amount in free.items()}
        if draw(st.booleans())
        else None
    )
    with_value = draw(st.booleans()) if explicit is None else explicit
    count = draw(st.integers(0, max_candidates))
    candidates = []
    for index in range(count):
        # "fpga" is in no capacity: requesting any of it must keep a candidate queued.
        requested = draw(st.lists(st.sampled_from((*RESOURCES, "fpga")), max_size=4, unique=True))
        candidates.append(
            Candidate(
                id=f"d{index}",
                requests={name: draw(st.integers(0, 12)) for name in requested},
                priority=draw(st.integers(0, 1)),
                waited_seconds=float(draw(st.integers(0, 1000))),
                value=float(draw(st.integers(0, 100))) if with_value else None,
                max_seconds=draw(st.none() | st.sampled_from((5.0, 10.0, 30.0)))
                if reservations
                else None,
            )
        )
    aging = draw(st.none() | st.integers(0, 1000).map(float))
    promised = [
        Reservation(
            in_seconds=draw(st.sampled_from((0.0, 10.0, 20.0))),
            capacity={name: draw(st.integers(0, amount)) for name, amount in free.items()},
        )
        for _ in range(draw(st.integers(1, 2)) if reservations else 0)
    ]
    return Problem(
        free=free, candidates=candidates, total=total, aging_seconds=aging, reservations=promised
    )
