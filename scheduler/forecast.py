"""When each queued deployment should start, and why it waits: the ETA and the reason.

The ETA replays the same policy forward in time over what is known: running deployments end
at their known end, the ones started since end after their expected duration, and at every
end a pass runs as `backfill.decide` does. Two simplifications keep the replay cheap enough
for every pass: nothing new arrives (an arrival of higher priority can only delay the
queue), and backfilling is greedy in queue order where the real pass searches for the best
selection. A reserved deployment's ETA is its promised start or earlier, so it is exact
once everything ahead of it is running, unless something of higher priority arrives.

On a cluster that allows preemption each pass of the replay begins with the operator's
preemption step, so HIGH deployments start as soon as evicting can place them; a LOW
deployment's ETA is then when it should start, not a promise that it runs to the end.
"""

from __future__ import annotations

import bisect
import datetime
from collections.abc import Collection, Mapping
from dataclasses import dataclass

import numpy as np

from simplismart.scheduler.backfill import (
    Arithmetic,
    Decision,
    Hold,
    PassPlan,
    Reserved,
    decide,
    running_holds,
    started_hold,
    started_ids,
)
from simplismart.scheduler.cluster_state import ClusterState, Waiting
from simplismart.scheduler.preemption import (
    MAX_USED_SECONDS,
    PreemptionProblem,
    Preemptor,
    RunningDeployment,
    select_victims,
)
from simplismart.scheduler.problem import HIGH

NAMED_DEPLOYMENTS = 3
"""A reason names at most this many deployments, then says how many more."""


@dataclass(frozen=True, slots=True)
class Forecast:
    """For every deployment a pass left queued: when it should start, and why it waits.

    `estimated_start` is POSIX seconds, None when it never starts on what is known (it needs
    capacity held by runs with no known end, or more than the cluster has).
    """

    estimated_start: Mapping[str, float | None]
    reasons: Mapping[str, str]


def forecast(plan: PassPlan, started: Collection[str]) -> Forecast:
    """The ETAs and reasons after the pass `plan` decided started `started`."""
    cluster = plan.cluster
    arithmetic = Arithmetic(cluster)
    chosen = started_ids(plan, started)
    by_id = {w.id: w for w in cluster.waiting}
    holds = running_holds(cluster, arithmetic) + [
        started_hold(cluster, by_id[i], arithmetic, cluster.now) for i in sorted(chosen)
    ]
    left = [w for w in cluster.waiting if w.id not in chosen]
    estimated = _replay(cluster, arithmetic, holds, left)
    reasons = _reasons(plan, arithmetic, holds, chosen, left)
    return Forecast(estimated_start=estimated, reasons=reasons)


def _replay(
    cluster: ClusterState, arithmetic: Arithmetic, holds: list[Hold], left: list[Waiting]
) -> dict[str, float | None]:
    """Run the policy at every expected end until the queue is empty or nothing ends.

    Each pass of the replay is the operator's: the preemption step first (from now on, so a
    HIGH deployment the next pass would start by evicting is due now), then `decide`.
    """
    estimated: dict[str, float | None] = dict.fromkeys((w.id for w in left), None)
    order = _Order(cluster, left)
    moment = cluster.now
    while True:
        started, holds = _preempt(cluster, arithmetic, holds, order.at(moment), moment)
        if moment > cluster.now:  # the pass at `now` has decided already: `plan` is it
            _start(cluster, arithmetic, holds, order, started, moment, estimated)
            decision = decide(cluster, arithmetic, holds, order.at(moment), moment)
            started = [*decision.first, *_greedy_backfill(decision)]
        _start(cluster, arithmetic, holds, order, started, moment, estimated)
        upcoming = [h.expected_end for h in holds if h.expected_end > moment]
        if not order.queue or not upcoming or not np.isfinite(min(upcoming)):
            return estimated
        moment = min(upcoming)
        holds = [h for h in holds if h.expected_end > moment]


def _start(
    cluster: ClusterState,
    arithmetic: Arithmetic,
    holds: list[Hold],
    order: _Order,
    started: list[Waiting],
    moment: float,
    estimated: dict[str, float | None],
) -> None:
    """Record that `started` start at `moment`: their ETA, their holds, out of the queue."""
    for waiting in started:
        estimated[waiting.id] = moment
        holds.append(started_hold(cluster, waiting, arithmetic, moment))
        order.remove(waiting)


def _preempt(
    cluster: ClusterState,
    arithmetic: Arithmetic,
    holds: list[Hold],
    queue: list[Waiting],
    moment: float,
) -> tuple[list[Waiting], list[Hold]]:
    """The operator's preemption step at `moment`: who starts by evicting, and what is left held.

    The same victim selection as the operator's (`select_victims`), over the evictable
    holds with the run time they will have used; nothing when no start needs an eviction
    (those start in `decide`), or when more is held than the cluster has (it shrank).
    Evicted runs are not restarted in the replay.
    """
    preemptors = [w for w in queue if cluster.preempts(w)]
    evictable = [h for h in holds if h.evictable]
    if not preemptors or not evictable:
        return [], holds
    held = sum((h.request for h in holds), np.zeros(len(arithmetic.names), dtype=np.int64))
    if (held > arithmetic.capacity).any():
        return [], holds
    free = arithmetic.capacity - held
    reachable = free + sum(h.request for h in evictable)
    requests = arithmetic.requests(arithmetic.rows(preemptors))
    # Only those that may be admitted go to the exact selection (the others evict nothing):
    # with reservations the prefix that fits together, else each that fits alone.
    if cluster.reservations:
        fits = np.all(np.cumsum(requests, axis=0) <= reachable, axis=1)
        possible = np.cumprod(fits).astype(bool)
    else:
        possible = np.all(requests <= reachable, axis=1)
    if not possible.any() or np.all(requests[possible].sum(axis=0) <= free):
        return [], holds  # nothing to evict for: a cheap test before the exact selection
    preemptors = [w for w, kept in zip(preemptors, possible, strict=True) if kept]
    preemption = select_victims(
        PreemptionProblem(
            capacity=arithmetic.mapping(arithmetic.capacity),
            free=arithmetic.mapping(free),
            running=[
                RunningDeployment(
                    id=h.id,
                    requests=arithmetic.mapping(h.request),
                    used_seconds=min(max(moment - h.begin, 0.0), MAX_USED_SECONDS),
                )
                for h in evictable
            ],
            preemptors=[Preemptor(w.id, w.requests) for w in preemptors],
            max_preemptions=cluster.max_preemptions,
            stop_at_blocked=cluster.reservations > 0,
        )
    )
    if not preemption.victims:
        return [], holds
    admitted = set(preemption.admitted)
    victims = set(preemption.victims)
    return [w for w in preemptors if w.id in admitted], [h for h in holds if h.id not in victims]


class _Order:
    """The queue in policy order, sorted again only when a LOW deployment ages to HIGH."""

    def __init__(self, cluster: ClusterState, waiting: list[Waiting]) -> None:
        self._cluster = cluster
        self.queue = list(waiting)
        self._aging = sorted(
            cluster.now + cluster.aging_seconds - w.waited_seconds
            for w in waiting
            if w.priority != HIGH and cluster.aging_seconds is not None
        )
        self._sorted_at: float | None = None

    def at(self, moment: float) -> list[Waiting]:
        """The queue at `moment`, which never goes back in time."""
        if self._sorted_at is None or bisect.bisect_left(
            self._aging, self._sorted_at
        ) != bisect.bisect_left(self._aging, moment):
            rank = {w.id: index for index, w in enumerate(self._cluster.order(moment))}
            self.queue.sort(key=lambda w: rank[w.id])
            self._sorted_at = moment
        return self.queue

    def remove(self, waiting: Waiting) -> None:
        self.queue.remove(waiting)


def _greedy_backfill(decision: Decision) -> list[Waiting]:
    """The deployments after the head, in queue order, that fit now and delay no reservation.

    Vectorised over the queue: each turn finds the next one that fits, starts it, and looks
    again from there, so a pass costs one sweep per start rather than one per deployment.
    """
    requests = decision.requests[decision.rest]
    longest = decision.longest[decision.rest]
    outlives = [decision.moment + longest > limit.at for limit in decision.limits]
    free = decision.free.copy()
    spares = [limit.capacity.copy() for limit in decision.limits]
    started: list[Waiting] = []
    position = 0
    while position < len(requests):
        allowed = np.all(requests[position:] <= free, axis=1)
        for spare, outliving in zip(spares, outlives, strict=True):
            allowed &= np.all(requests[position:] <= spare, axis=1) | ~outliving[position:]
        if not allowed.any():
            break
        index = position + int(allowed.argmax())
        started.append(decision.queue[int(decision.rest[index])])
        free -= requests[index]
        for spare, outliving in zip(spares, outlives, strict=True):
            if outliving[index]:
                spare -= requests[index]
        position = index + 1
    return started


def _reasons(
    plan: PassPlan,
    arithmetic: Arithmetic,
    holds: list[Hold],
    chosen: Collection[str],
    left: list[Waiting],
) -> dict[str, str]:
    """Why each deployment left queued waits, in words a person can act on."""
    cluster = plan.cluster
    reserved = {r.id: r for r in plan.reserved}
    held = sum((h.request for h in holds), np.zeros(len(arithmetic.names), dtype=np.int64))
    # A cluster shrunk under its runs holds more than it has: none free, not less than none.
    free = np.maximum(arithmetic.capacity - held, 0)
    # The search's starts: the rows already count the head of the queue.
    selected = [h for h in holds if h.id in chosen and h.id not in plan.first]
    reasons: dict[str, str] = {}
    ahead = {HIGH: 0, 0: 0}
    waiting_ids = {w.id for w in left}
    for waiting in cluster.order(cluster.now):
        if waiting.id not in waiting_ids:
            continue
        request = arithmetic.request(waiting.id)
        if waiting.id in reserved:
            reasons[waiting.id] = _promised(reserved[waiting.id], cluster.now)
        elif not np.all(request <= arithmetic.capacity):
            reasons[waiting.id] = "waiting: asks more than the cluster has in total"
        elif np.all(request <= free) and (delayed := _delayed(plan, arithmetic, selected, waiting)):
            reasons[waiting.id] = (
                f"waiting: starting now would delay the reserved start of {delayed.id} "
                f"(~{_clock(delayed.at, cluster.now)})"
            )
        elif ahead[HIGH] or ahead[0]:
            counts = [f"{n} {name}" for n, name in ((ahead[HIGH], "HIGH"), (ahead[0], "LOW")) if n]
            total = ahead[HIGH] + ahead[0]
            reasons[waiting.id] = (
                f"waiting behind {' and '.join(counts)} deployment{'s' if total > 1 else ''}"
            )
        else:
            short = ", ".join(
                f"{name} {int(r)} > {int(f)} free"
                for name, r, f in zip(arithmetic.names, request, free, strict=True)
                if r > f
            )
            # Nothing short: it fits now and delays nothing, but the search did not choose it.
            reasons[waiting.id] = f"waiting for capacity: {short}" if short else "waiting: fits now"
        ahead[cluster.effective_priority(waiting, cluster.now)] += 1
    return reasons


def _delayed(
    plan: PassPlan, arithmetic: Arithmetic, selected: list[Hold], waiting: Waiting
) -> Reserved | None:
    """The first reservation `waiting` would delay by starting now, if any.

    One it would outlive whose row cannot hold it beside what the search started that
    outlives it too.
    """
    starting = started_hold(plan.cluster, waiting, arithmetic, plan.cluster.now)
    for promise, row in zip(plan.reserved, plan.problem.reservations, strict=True):
        spare = arithmetic.vector(row.capacity) - sum(
            (h.request for h in selected if h.sure_end > promise.at),
            np.zeros(len(arithmetic.names), dtype=np.int64),
        )
        if starting.sure_end > promise.at and not np.all(starting.request <= spare):
            return promise
    return None


def _promised(promise: Reserved, now: float) -> str:
    """The reason of a reserved deployment: what it waits for, and when."""
    when = _clock(promise.at, now)
    if promise.evicting and not promise.after:
        return f"reserved: starts by evicting LOW runs (~{when})"
    ends = f"when {_names(promise.after)} finish{_s(promise.after)}"
    evicting = ", evicting LOW runs" if promise.evicting else ""
    return f"reserved: starts {ends}{evicting} (~{when})"


def _names(ids: tuple[str, ...]) -> str:
    if not ids:
        return "the runs ahead"
    named = list(ids[:NAMED_DEPLOYMENTS])
    if len(ids) > NAMED_DEPLOYMENTS:
        return f"{', '.join(named)} and {len(ids) - NAMED_DEPLOYMENTS} more"
    if len(named) == 1:
        return named[0]
    return f"{', '.join(named[:-1])} and {named[-1]}"


def _s(ids: tuple[str, ...]) -> str:
    """The verb's ending: "d7 finishes", "d7 and d9 finish"."""
    return "es" if len(ids) == 1 else ""


def _clock(moment: float, now: float) -> str:
    """The time of day of `moment` (UTC), with its date when that is not `now`'s; a moment
    outside the calendar's years 1 to 9999 as the seconds from `now`."""
    try:
        at, today = (datetime.datetime.fromtimestamp(t, tz=datetime.UTC) for t in (moment, now))
    except (ValueError, OverflowError, OSError):
        return f"in {moment - now:,.0f} s"
    return at.strftime("%H:%M:%S" if at.date() == today.date() else "%Y-%m-%d %H:%M:%S")
