"""One scheduling pass in time: queue order, reservations, and what may backfill.

The per-pass optimum alone starves a large request: capacity is freed one run at a time
and a stream of small requests takes it every time. Every run's end is known, so the pass
does what HPC schedulers' backfilling does (EASY backfilling, extended to several
reservations):

1. Queue order: HIGH (aged LOW included) before LOW, then the longest waiting first.
2. The head of the queue starts, in order, as long as each fits (passing over the
   deployments that can never fit).
3. The first `reservations` deployments after it that cannot start now each get a
   reservation: the earliest moment their request fits for their whole run, given the
   runs' known ends, what this pass starts, the reservations before them and what may
   start now ahead of them.
4. Everything else may start now only where it delays no reservation: it is sure to end
   before the reservation begins, or the capacity left at that moment still holds it. Those
   limits become rows of the selection `Problem`, so every strategy honours them, and the
   strategy still maximises the objective among what they allow.

With `reservations=0` this is today's per-pass optimum, unchanged.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from simplismart.scheduler.cluster_state import ClusterState, Running, Waiting, candidate
from simplismart.scheduler.problem import Problem, ProblemError, Reservation
from simplismart.scheduler.selection import Selection
from simplismart.scheduler.timeline import Amounts, Timeline


@dataclass(frozen=True, slots=True)
class Reserved:
    """A start promised to `id` at `at` (POSIX seconds), once the deployments in `after` end.

    `after` are the running (or just started, or reserved before it) deployments whose end
    it waits for, soonest first. `evicting` is True when it starts then by evicting LOW runs
    (a cluster that allows preemption), which `after` does not name.
    """

    id: str
    at: float
    after: tuple[str, ...]
    evicting: bool = False


@dataclass(frozen=True, slots=True)
class Limit:
    """A reservation as a constraint: from `at` on, `capacity` is left beside everything held."""

    at: float
    capacity: Amounts


@dataclass(frozen=True, slots=True)
class Decision:
    """What one pass at `moment` decided before the search: who starts, who is promised when.

    `first` is the head of the queue that starts in order; `reserved` the promises;
    `limits` what they leave for the deployments that start now and outlive them;
    the others, free to backfill within `free` and the limits, are `queue[rest]`: their
    requests are `requests[rest]` and the longest they can run `longest[rest]`.
    """

    moment: float
    first: tuple[Waiting, ...]
    reserved: tuple[Reserved, ...]
    limits: tuple[Limit, ...]
    free: Amounts
    queue: Sequence[Waiting]
    requests: Amounts
    longest: npt.NDArray[np.float64]
    rest: npt.NDArray[np.intp]

    def backfill(self) -> list[Waiting]:
        """The deployments free to backfill, in queue order."""
        return [self.queue[int(index)] for index in self.rest]


class Arithmetic:
    """The resource names of a cluster, and its amounts and requests as integer vectors."""

    def __init__(self, cluster: ClusterState) -> None:
        names = set(cluster.capacity)
        items: list[Running | Waiting] = [*cluster.running, *cluster.waiting]
        for item in items:
            names.update(item.requests)
        self.names = tuple(sorted(names))
        self.capacity = self.vector(cluster.capacity)
        self._rows = {item.id: row for row, item in enumerate(items)}
        self._running = len(cluster.running)
        self._matrix = np.array(
            [[item.requests.get(name, 0) for name in self.names] for item in items],
            dtype=np.int64,
        ).reshape(len(items), len(self.names))
        self._longest = np.array(
            [math.inf if w.max_seconds is None else w.max_seconds for w in cluster.waiting],
            dtype=np.float64,
        )

    def vector(self, amounts: Mapping[str, int]) -> Amounts:
        """`amounts` in the names' order; a missing name is 0."""
        return np.array([amounts.get(name, 0) for name in self.names], dtype=np.int64)

    def mapping(self, vector: Amounts) -> dict[str, int]:
        """The inverse of `vector`."""
        return {name: int(amount) for name, amount in zip(self.names, vector, strict=True)}

    def request(self, identifier: str) -> Amounts:
        """What the running or waiting deployment `identifier` requests."""
        request: Amounts = self._matrix[self._rows[identifier]]
        return request

    def rows(self, queue: Sequence[Waiting]) -> npt.NDArray[np.intp]:
        """Where the deployments of `queue` are in this arithmetic's tables."""
        return np.array([self._rows[w.id] for w in queue], dtype=np.intp)

    def requests(self, rows: npt.NDArray[np.intp]) -> Amounts:
        """One request per row of `rows`."""
        return self._matrix[rows]

    def longest(self, rows: npt.NDArray[np.intp]) -> npt.NDArray[np.float64]:
        """The longest each waiting deployment of `rows` can run (inf when unknown)."""
        return self._longest[rows - self._running]


@dataclass(frozen=True, slots=True)
class Hold:
    """Capacity a deployment holds, with the end backfilling trusts and the end it expects.

    `begin` is when it started; `evictable` is True when a HIGH deployment may evict it
    (`ClusterState.preemptible`): then it holds capacity only until a HIGH one needs it.
    """

    id: str
    request: Amounts
    sure_end: float
    expected_end: float
    begin: float
    evictable: bool = False


def decide(
    cluster: ClusterState,
    arithmetic: Arithmetic,
    holds: Sequence[Hold],
    queue: Sequence[Waiting],
    moment: float,
) -> Decision:
    """Steps 2 and 3 of the policy at `moment`, for `queue` already in order.

    On a cluster that allows preemption, the first blocked HIGH deployment (by spec) is
    promised the earlier of the moment it fits and the moment it fits beside what it may
    not evict (`firm`): HIGH runs, LOW runs at their preemption limit, reservations of
    those. Its start evicts the LOW runs in the way, which the operator's preemption step
    does as soon as it fits so. The other reservations count every run until its end.
    """
    held = sum((h.request for h in holds), np.zeros(len(arithmetic.names), dtype=np.int64))
    # A cluster shrunk below what it runs evicts nothing until its runs fit again.
    shrunk = bool((held > arithmetic.capacity).any())
    free = np.maximum(arithmetic.capacity - held, 0)
    rows = arithmetic.rows(queue)
    requests = arithmetic.requests(rows)
    first = _head(cluster, arithmetic, holds, queue, requests, free)
    free = free - requests[first].sum(axis=0)
    timeline = Timeline(arithmetic.capacity, moment)
    firm = Timeline(arithmetic.capacity, moment)
    ends: list[tuple[float, str, bool]] = []

    def hold(begin: float, end: float, request: Amounts, name: str, evictable: bool) -> None:
        timeline.hold(begin, end, request)
        if not evictable:
            firm.hold(begin, end, request)
        ends.append((end, name, evictable))

    for h in holds:
        hold(moment, h.sure_end, h.request, h.id, h.evictable)
    for index in first:
        waiting = queue[index]
        end = _end(moment, waiting.max_seconds)
        hold(moment, end, requests[index], waiting.id, cluster.preemptible(waiting))
    reserved: list[Reserved] = []
    blocked: list[int] = []
    preemptor_seen = False
    # What may start now ahead of a reservation arrived before it: its promise counts them as
    # started (`ahead`), but its limit binds only those behind it, as the limits leave out
    # the deployments free to backfill.
    ahead = Timeline(arithmetic.capacity, moment)
    fits_now = np.all(requests <= free, axis=1)
    rest = np.setdiff1d(np.arange(len(queue), dtype=np.intp), first)
    for index in rest:
        if len(reserved) == cluster.reservations:
            break
        waiting, request = queue[index], requests[index]
        seconds = _or_forever(waiting.max_seconds)
        if fits_now[index]:
            end = _end(moment, seconds)
            ahead.hold(moment, end, request)
            ends.append((end, waiting.id, cluster.preemptible(waiting)))
            continue
        at = timeline.earliest_fit(request, seconds, ahead)
        evicting = False
        if cluster.preempts(waiting) and not preemptor_seen and not shrunk:
            preemptor_seen = True
            by_evicting = firm.earliest_fit(request, seconds, ahead)
            if by_evicting is not None and (at is None or by_evicting < at):
                at, evicting = by_evicting, True
        if at is None:  # never fits: too large, or blocked by runs with no known end
            continue
        after = tuple(
            name
            for end, name, evictable in sorted(ends)
            if moment < end <= at and not (evicting and evictable)
        )
        reserved.append(Reserved(waiting.id, at, after, evicting))
        blocked.append(index)
        hold(at, _end(at, seconds), request, waiting.id, cluster.preemptible(waiting))
    limits = tuple(
        Limit(r.at, np.maximum(arithmetic.capacity - timeline.in_use(r.at), 0)) for r in reserved
    )
    if blocked:
        rest = rest[~np.isin(rest, blocked)]
    return Decision(
        moment=moment,
        first=tuple(queue[int(index)] for index in first),
        reserved=tuple(reserved),
        limits=limits,
        free=free,
        queue=queue,
        requests=requests,
        longest=arithmetic.longest(rows),
        rest=rest,
    )


def _head(
    cluster: ClusterState,
    arithmetic: Arithmetic,
    holds: Sequence[Hold],
    queue: Sequence[Waiting],
    requests: Amounts,
    free: Amounts,
) -> npt.NDArray[np.intp]:
    """The rows of `queue` that start in order: the longest run of it that fits together,
    passing over the deployments that can never fit (none without reservations).

    A deployment can never fit when it asks more than the capacity less what is held for
    ever (runs with no known end, and those of the head with no longest run). Stopping at
    one would leave every deployment behind it to the search, the first reserved included,
    so a later arrival could take its promised start.
    """
    if not cluster.reservations:
        return np.zeros(0, dtype=np.intp)
    forever = sum(
        (h.request for h in holds if math.isinf(h.sure_end)),
        np.zeros(len(arithmetic.names), dtype=np.int64),
    )
    first: list[int] = []
    for index, (waiting, request) in enumerate(zip(queue, requests, strict=True)):
        if np.any((request > arithmetic.capacity - forever) & (request > 0)):
            continue
        if not np.all(request <= free):
            break
        first.append(index)
        free = free - request
        if waiting.max_seconds is None:
            forever = forever + request
    return np.array(first, dtype=np.intp)


def _or_forever(seconds: float | None) -> float:
    return math.inf if seconds is None else seconds


def _end(begin: float, seconds: float | None) -> float:
    """When a run that begins at `begin` and lasts `seconds` ends: at least an instant later,
    so that one of no length still holds its capacity at its start, and ends after it."""
    return max(begin + _or_forever(seconds), math.nextafter(begin, math.inf))


def running_holds(cluster: ClusterState, arithmetic: Arithmetic) -> list[Hold]:
    """The running deployments as holds: their known end is both sure and expected.

    A run past its end still holds its capacity until a pass ends it, so it ends at the
    next instant after `now`: ended at `now`, the timeline would free what `free` still
    counts, and the replay would never see it end.
    """
    holds = []
    for run in cluster.running:
        end = max(_or_forever(run.ends_at), math.nextafter(cluster.now, math.inf))
        begin = cluster.now if run.started_at is None else min(run.started_at, cluster.now)
        request = arithmetic.request(run.id)
        holds.append(Hold(run.id, request, end, end, begin, cluster.preemptible(run)))
    return holds


def started_hold(
    cluster: ClusterState, waiting: Waiting, arithmetic: Arithmetic, moment: float
) -> Hold:
    """What `waiting` holds once started at `moment`; it expects no longer than it may run."""
    sure = _end(moment, waiting.max_seconds)
    expected = sure if waiting.expected_seconds is None else _end(moment, waiting.expected_seconds)
    return Hold(
        waiting.id,
        arithmetic.request(waiting.id),
        sure,
        min(expected, sure),
        moment,
        cluster.preemptible(waiting),
    )


@dataclass(frozen=True, slots=True)
class PassPlan:
    """A pass's decision: solve `problem`, then start `starts(selection)`.

    `first` start whatever the search selects; `reserved` wait for their promised start.
    """

    cluster: ClusterState
    problem: Problem
    first: tuple[str, ...]
    reserved: tuple[Reserved, ...]

    def starts(self, selection: Selection) -> tuple[str, ...]:
        """Everything this pass starts: the head of the queue, then the selection."""
        return self.first + selection.selected


def plan_pass(cluster: ClusterState) -> PassPlan:
    """Decide a pass over `cluster` at `cluster.now` and state the selection problem left.

    The problem's free capacity is what the head of the queue leaves; its candidates are
    the other unreserved deployments, each with the longest it can run; its reservations
    are the limits the reserved starts put on them.
    """
    arithmetic = Arithmetic(cluster)
    holds = running_holds(cluster, arithmetic)
    decision = decide(cluster, arithmetic, holds, cluster.order(cluster.now), cluster.now)
    problem = Problem(
        free=arithmetic.mapping(decision.free),
        total=arithmetic.mapping(arithmetic.capacity),
        aging_seconds=cluster.aging_seconds,
        candidates=[candidate(w) for w in decision.backfill()],
        reservations=[
            Reservation(limit.at - cluster.now, arithmetic.mapping(limit.capacity))
            for limit in decision.limits
        ],
    )
    return PassPlan(
        cluster=cluster,
        problem=problem,
        first=tuple(w.id for w in decision.first),
        reserved=decision.reserved,
    )


def started_ids(plan: PassPlan, started: Collection[str]) -> set[str]:
    """`started` as a set, checked against the plan: only queued ids can start."""
    queued = {w.id for w in plan.cluster.waiting}
    unknown = sorted(set(started) - queued)
    if unknown:
        raise ProblemError("started", f"not queued: {', '.join(unknown)}")
    return set(started)
