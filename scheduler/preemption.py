"""Victim selection: which running LOW deployments HIGH ones that cannot start may evict.

Pure policy with no Kubernetes in it, like `solve`: the operator describes the cluster's
capacity, what is running, the free capacity and the HIGH deployments that could not start
(in queue order) as a `PreemptionProblem`, and evicts what `select_victims` returns before
it starts the preemptors it admits.

The rules (docs/scheduler.md, "Preemption"):

- Only LOW running deployments preempted fewer than `max_preemptions` times are victims.
- Preemptors are taken in queue order; one that would not fit even if every possible victim
  were evicted, together with those before it, is blocked and evicts nothing. With
  `stop_at_blocked` (a cluster with reservations), every preemptor after a blocked one is
  blocked too: the blocked one holds a reservation that a later one must not take.
- The victims are the cheapest cover of what the admitted preemptors lack: least run time
  lost, then fewest victims. Run time counts in whole milliseconds so that sums are exact.
  The optimum is inclusion-minimal: no victim could be spared.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import numpy as np

from simplismart.scheduler.cover import cheapest_cover
from simplismart.scheduler.problem import (
    HIGH,
    LOW,
    ProblemError,
    check_amounts,
    check_seconds,
    is_int,
)

DEFAULT_MAX_PREEMPTIONS: Final = 3
"""A deployment preempted this many times is not preempted again (anti-thrash)."""

MAX_USED_SECONDS: Final = 1e9
"""About 31 years: bounds the integer millisecond sums far below int64 overflow."""


@dataclass(frozen=True, slots=True)
class RunningDeployment:
    """A deployment holding `requests` since `used_seconds` ago, preempted `preemptions` times."""

    id: str
    requests: Mapping[str, int]
    priority: int = LOW
    used_seconds: float = 0.0
    preemptions: int = 0


@dataclass(frozen=True, slots=True)
class Preemptor:
    """A HIGH deployment that could not start in the free capacity."""

    id: str
    requests: Mapping[str, int]


@dataclass(frozen=True, slots=True)
class PreemptionProblem:
    """The cluster's `capacity`, what runs on it, what is `free`, and who wants in.

    `preemptors` are in queue order. The requests of the running deployments plus the free
    capacity may not exceed the capacity: an over-committed cluster is a bug to report, not
    a state to preempt in. `stop_at_blocked` blocks every preemptor after the first blocked
    one, so that none jumps it by evicting (with reservations, it holds the first one).
    """

    capacity: Mapping[str, int]
    free: Mapping[str, int]
    running: Sequence[RunningDeployment]
    preemptors: Sequence[Preemptor]
    max_preemptions: int = DEFAULT_MAX_PREEMPTIONS
    stop_at_blocked: bool = False

    def __post_init__(self) -> None:
        check_amounts("capacity", self.capacity)
        check_amounts("free", self.free)
        if not is_int(self.max_preemptions) or self.max_preemptions < 0:
            raise ProblemError("max_preemptions", "must be a non-negative integer")
        if not isinstance(self.stop_at_blocked, bool):
            raise ProblemError("stop_at_blocked", "must be a boolean")
        seen: set[str] = set()
        held = dict(self.free)
        for index, running in enumerate(_sequence("running", self.running)):
            field = f"running[{index}]"
            if not isinstance(running, RunningDeployment):
                raise ProblemError(field, "must be a RunningDeployment")
            _check_identity(field, running.id, running.requests, seen)
            if running.priority not in (LOW, HIGH) or not is_int(running.priority):
                raise ProblemError(f"{field}.priority", "must be 0 (LOW) or 1 (HIGH)")
            check_seconds(f"{field}.used_seconds", running.used_seconds)
            if running.used_seconds > MAX_USED_SECONDS:
                raise ProblemError(f"{field}.used_seconds", f"must be at most {MAX_USED_SECONDS:g}")
            if not is_int(running.preemptions) or running.preemptions < 0:
                raise ProblemError(f"{field}.preemptions", "must be a non-negative integer")
            for name, amount in running.requests.items():
                held[name] = held.get(name, 0) + amount
        for name, amount in held.items():
            if amount > self.capacity.get(name, 0):
                raise ProblemError(
                    f"capacity.{name}",
                    f"is {self.capacity.get(name, 0)}, less than free "
                    f"plus the running requests ({amount})",
                )
        for index, preemptor in enumerate(_sequence("preemptors", self.preemptors)):
            field = f"preemptors[{index}]"
            if not isinstance(preemptor, Preemptor):
                raise ProblemError(field, "must be a Preemptor")
            _check_identity(field, preemptor.id, preemptor.requests, seen)

    def preemptible(self, running: RunningDeployment) -> bool:
        """True for a LOW deployment not yet preempted `max_preemptions` times."""
        return running.priority == LOW and running.preemptions < self.max_preemptions


@dataclass(frozen=True, slots=True)
class Shortfall:
    """A preemptor that does not fit even alone in the free capacity plus every possible victim.

    Per resource it lacks: what it `needs`, and the `most` that evicting every possible
    victim would make free (with what is free already).
    """

    id: str
    needs: Mapping[str, int]
    most: Mapping[str, int]


@dataclass(frozen=True, slots=True)
class Preemption:
    """What to do: evict `victims`, then start `admitted`; `blocked` stay queued.

    `victims` are in the order of `running`, `admitted` and `blocked` in queue order.
    `lost_seconds` is the run time the victims had used. `proven_optimal` is False only
    when the victims come from the greedy fallback (a deficit too fine-grained for the exact
    program): still enough and inclusion-minimal, but maybe not the least work lost.
    `shortfalls` are the blocked preemptors that preemption cannot place now whatever the
    others do: they wait for HIGH runs (or runs at their preemption limit) to end.
    """

    victims: tuple[str, ...]
    admitted: tuple[str, ...]
    blocked: tuple[str, ...]
    lost_seconds: float
    proven_optimal: bool
    duration_ms: float
    shortfalls: tuple[Shortfall, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready view."""
        return {
            "victims": list(self.victims),
            "admitted": list(self.admitted),
            "blocked": list(self.blocked),
            "lost_seconds": self.lost_seconds,
            "proven_optimal": self.proven_optimal,
            "duration_ms": self.duration_ms,
            "shortfalls": [
                {"id": s.id, "needs": dict(s.needs), "most": dict(s.most)} for s in self.shortfalls
            ],
        }


def select_victims(problem: PreemptionProblem) -> Preemption:
    """Admit preemptors in queue order and choose the cheapest victims that make room."""
    started = time.perf_counter()
    eligible = [r for r in problem.running if problem.preemptible(r)]
    names = sorted(
        set(problem.free)
        | {name for r in eligible for name in r.requests}
        | {name for p in problem.preemptors for name in p.requests}
    )
    free = np.array([problem.free.get(name, 0) for name in names], dtype=np.int64)
    amounts = np.array(
        [[r.requests.get(name, 0) for name in names] for r in eligible], dtype=np.int64
    ).reshape(len(eligible), len(names))
    reachable = free + amounts.sum(axis=0)  # what evicting every possible victim would free
    wanted = np.zeros(len(names), dtype=np.int64)
    admitted: list[str] = []
    blocked: list[str] = []
    shortfalls: list[Shortfall] = []
    for preemptor in problem.preemptors:
        request = np.array([preemptor.requests.get(name, 0) for name in names], dtype=np.int64)
        if (wanted + request <= reachable).all() and not (blocked and problem.stop_at_blocked):
            wanted += request
            admitted.append(preemptor.id)
            continue
        blocked.append(preemptor.id)
        short = np.flatnonzero(request > reachable)
        if len(short):
            shortfalls.append(
                Shortfall(
                    preemptor.id,
                    needs={names[i]: int(request[i]) for i in short},
                    most={names[i]: int(reachable[i]) for i in short},
                )
            )
    costs = np.array([round(r.used_seconds * 1000.0) for r in eligible], dtype=np.int64)
    cover = cheapest_cover(amounts, costs, wanted - free)
    assert cover is not None  # the admitted preemptors fit in `reachable` by construction
    victims = {eligible[j].id for j in cover.chosen}
    return Preemption(
        victims=tuple(r.id for r in problem.running if r.id in victims),
        admitted=tuple(admitted),
        blocked=tuple(blocked),
        lost_seconds=float(sum(eligible[j].used_seconds for j in cover.chosen)),
        proven_optimal=cover.proven,
        duration_ms=(time.perf_counter() - started) * 1000.0,
        shortfalls=tuple(shortfalls),
    )


def _sequence(field: str, items: object) -> Sequence[object]:
    if isinstance(items, str | bytes) or not isinstance(items, Sequence):
        raise ProblemError(field, "must be a sequence")
    return items


def _check_identity(field: str, id_: object, requests: object, seen: set[str]) -> None:
    """A non-empty id unique among running deployments and preemptors, valid requests."""
    if not isinstance(id_, str) or not id_:
        raise ProblemError(f"{field}.id", "must be a non-empty string")
    if id_ in seen:
        raise ProblemError(f"{field}.id", f"duplicate id {id_!r}")
    seen.add(id_)
    check_amounts(f"{field}.requests", requests)
