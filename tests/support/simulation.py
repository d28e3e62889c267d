"""A deployment queue in simulated time, replayed through the real scheduler.

Shared by the guarantee tests and the simulation benchmark. Time is a float of seconds; a
pass runs at every moment something arrives or ends, as the operator's event-driven passes
do. A run's end is known as soon as it starts (the operator's lease expiry): its declared
duration, else a random draw from the run window that the policy is not told.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from simplismart.scheduler import (
    Candidate,
    ClusterState,
    Problem,
    Running,
    Waiting,
    forecast,
    plan_pass,
    solve,
)
from simplismart.scheduler.backfill import Reserved


@dataclass(frozen=True, slots=True)
class Arrival:
    """A deployment created at `at` that runs `runs_seconds` once started.

    `declared_seconds` is its `durationSeconds` (then equal to `runs_seconds`), None when it
    relies on the cluster's run window.
    """

    id: str
    at: float
    requests: Mapping[str, int]
    priority: int
    runs_seconds: float
    declared_seconds: float | None = None


@dataclass(frozen=True, slots=True)
class Settings:
    """The cluster: capacity, aging, the run window, and the solver's budget per pass."""

    capacity: Mapping[str, int]
    aging_seconds: float | None
    window: tuple[float, float]
    time_limit: float = 0.05
    seed: int = 0

    def waiting(self, arrival: Arrival, now: float) -> Waiting:
        """The queued deployment as the operator describes it to the scheduler."""
        low, high = self.window
        return Waiting(
            id=arrival.id,
            requests=arrival.requests,
            priority=arrival.priority,
            waited_seconds=now - arrival.at,
            expected_seconds=arrival.declared_seconds or (low + high) / 2,
            max_seconds=arrival.declared_seconds or high,
        )


@dataclass(frozen=True, slots=True)
class Pass:
    """What a policy decided at one pass: whom to start, whom it promised a start, the ETAs."""

    starts: tuple[str, ...]
    reserved: tuple[Reserved, ...] = ()
    estimated_start: Mapping[str, float | None] = field(default_factory=dict)


Policy = Callable[[ClusterState, Settings, bool], Pass]
"""One pass over the queue (`ClusterState.waiting` in arrival order); the flag asks for ETAs."""


@dataclass(slots=True)
class Record:
    """One deployment's history: when it arrived and started, the ETAs it was given."""

    arrival: Arrival
    started: float | None = None
    first_estimate: float | None = None
    first_promise: float | None = None
    """The start promised when it first became the first reserved deployment in the queue."""
    queued_ahead: int = 0
    """How many deployments were queued when it arrived, with those that arrived at the same
    moment and come first in the queue's tie-break (a smaller id)."""
    sampled: bool = False
    """Whether its ETA at arrival is measured (a forecast costs a replay of the queue)."""


def simulate(
    arrivals: Sequence[Arrival], settings: Settings, policy: Policy, *, sample_every: int = 1
) -> list[Record]:
    """Replay `arrivals` (sorted by time) to the end; every started run holds its capacity.

    The ETA at arrival is asked for one arrival in `sample_every`.
    """
    records = {
        a.id: Record(a, sampled=index % sample_every == 0) for index, a in enumerate(arrivals)
    }
    queued: dict[str, Arrival] = {}
    running: dict[str, tuple[Arrival, float]] = {}
    upcoming = list(reversed(arrivals))
    now = 0.0
    while upcoming or queued or running:
        next_arrival = upcoming[-1].at if upcoming else math.inf
        next_end = min((end for _, end in running.values()), default=math.inf)
        now = min(next_arrival, next_end)
        if math.isinf(now):
            break  # what is left can never start
        for name in [n for n, (_, end) in running.items() if end <= now]:
            del running[name]
        arrived = []
        while upcoming and upcoming[-1].at <= now:
            arrival = upcoming.pop()
            queued[arrival.id] = arrival
            arrived.append(arrival.id)
        earlier = len(queued) - len(arrived)
        for name in arrived:
            # Equal waits are ordered by id: those of this moment with a smaller one go first.
            records[name].queued_ahead = earlier + sum(other < name for other in arrived)
        cluster = ClusterState(
            capacity=settings.capacity,
            running=[Running(n, a.requests, end) for n, (a, end) in running.items()],
            waiting=[settings.waiting(a, now) for a in queued.values()],
            now=now,
            aging_seconds=settings.aging_seconds,
        )
        sampled = any(records[n].sampled for n in arrived)
        decided = policy(cluster, settings, sampled)
        for name in decided.starts:
            arrival = queued.pop(name)
            records[name].started = now
            running[name] = (arrival, now + arrival.runs_seconds)
        _check_capacity(settings.capacity, [a for a, _ in running.values()])
        for name in arrived:
            if name in queued and records[name].first_estimate is None:
                records[name].first_estimate = decided.estimated_start.get(name)
        if decided.reserved and records[decided.reserved[0].id].first_promise is None:
            records[decided.reserved[0].id].first_promise = decided.reserved[0].at
    return list(records.values())


def _check_capacity(capacity: Mapping[str, int], running: Sequence[Arrival]) -> None:
    for name in {r for a in running for r in a.requests}:
        used = sum(a.requests.get(name, 0) for a in running)
        if used > capacity.get(name, 0):
            raise AssertionError(f"over-committed {name}: {used} > {capacity.get(name, 0)}")


def backfilling(reservations: int, *, estimate: bool = True) -> Policy:
    """The time-aware policy with `reservations` reservations (0: today's per-pass optimum)."""

    def decide(cluster: ClusterState, settings: Settings, wants_estimates: bool) -> Pass:
        decided = plan_pass(dataclasses.replace(cluster, reservations=reservations))
        selection = solve(decided.problem, seed=settings.seed, time_limit=settings.time_limit)
        starts = decided.starts(selection)
        wanted = estimate and wants_estimates
        estimates = forecast(decided, starts).estimated_start if wanted else {}
        return Pass(starts, decided.reserved, estimates)

    return decide


def most_deployments(cluster: ClusterState, settings: Settings, wants_estimates: bool) -> Pass:
    """The original project's rule: start as many deployments as fit (explicit value 1)."""
    free = _free(cluster)
    problem = Problem(
        free=free,
        total=dict(cluster.capacity),
        candidates=[Candidate(w.id, w.requests, value=1.0) for w in cluster.waiting],
    )
    selection = solve(problem, seed=settings.seed, time_limit=settings.time_limit)
    return Pass(selection.selected)


def strict_fifo(cluster: ClusterState, settings: Settings, wants_estimates: bool) -> Pass:
    """Start in queue order and stop at the first deployment that does not fit."""
    return Pass(_in_order(cluster, skip_blocked=False))


def best_effort_fifo(cluster: ClusterState, settings: Settings, wants_estimates: bool) -> Pass:
    """Start in queue order every deployment that fits, skipping the others (Kueue's)."""
    return Pass(_in_order(cluster, skip_blocked=True))


def _in_order(cluster: ClusterState, *, skip_blocked: bool) -> tuple[str, ...]:
    free = _free(cluster)
    starts = []
    for waiting in cluster.order(cluster.now):
        if all(amount <= free.get(name, 0) for name, amount in waiting.requests.items()):
            starts.append(waiting.id)
            for name, amount in waiting.requests.items():
                free[name] -= amount
        elif not skip_blocked:
            break
    return tuple(starts)


def _free(cluster: ClusterState) -> dict[str, int]:
    free = dict(cluster.capacity)
    for run in cluster.running:
        for name, amount in run.requests.items():
            free[name] = free.get(name, 0) - amount
    return {name: max(amount, 0) for name, amount in free.items()}
