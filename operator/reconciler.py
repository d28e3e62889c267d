"""One scheduling pass over one cluster: the one place where runs end and start.

A pass reads the cluster from the store, ends every run whose deadline has passed, holds what
cannot be queued, starts what the scheduler selects, keeps queue positions current and reports,
then returns when it wants to run again: at the next run's deadline (a requeue-after, as
Kubernetes controllers do). Lease expiry events and that timer only wake it.

free = capacity - what Running deployments hold, recomputed every pass from the store, which
holds what earlier passes wrote even before the watch shows it. Every transition is a write with
a resourceVersion precondition, and a start also takes the run's lease with NX, so each happens
once even if a stale copy or a second process tries again. Only one pass per cluster runs at a
time (the coordinator) and only in the leading replica (the leadership Lease).
"""

import asyncio
import itertools
import logging
import math
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from simplismart.crds import Phase, Resources, format_time
from simplismart.crds.models import DEFAULT_TTL_AFTER_FINISHED
from simplismart.operator import metrics, planning, statuses
from simplismart.operator.config import OperatorConfig
from simplismart.operator.events import EventRecorder
from simplismart.operator.history import RunHistory
from simplismart.operator.kube import KubeApi
from simplismart.operator.leases import RunId, RunLeases
from simplismart.operator.objects import ClusterObject, ClusterRef, DeploymentObject
from simplismart.operator.outages import log_failure
from simplismart.operator.store import DeploymentStore
from simplismart.scheduler import (
    PassPlan,
    Preemption,
    Selection,
    Shortfall,
    Strategy,
    forecast,
    plan_pass,
    select_victims,
    solve,
)

logger = logging.getLogger(__name__)

#: Ends and starts in flight at once over all passes: enough that at half the API server's
#: limit none waits for a slot (with 16, they waited 350 ms at the median in the paced
#: benchmark).
WRITE_CONCURRENCY = 48
#: Queue refreshes in flight at once: more only queue them in the API server ahead of the ends
#: and starts (with 48 its PATCHes took three times as long in the same benchmark).
REFRESH_CONCURRENCY = 16
#: Queues up to this long have their positions rewritten on every change.
EXACT_POSITIONS = 20
#: Seconds an ETA may move before it is rewritten: each rewrite is an API write.
ETA_SLACK = 1.0
#: The Event's reason for a run that ended unfinished, its cluster deleted: the status,
#: Pending until the cluster returns, no longer shows that it ran.
RUN_CANCELLED = "RunCancelled"
#: The Warning's reason for a cluster whose runs hold more than it has (it shrank under them).
OVER_CAPACITY = "OverCapacity"
#: The Warning's reason for a HIGH deployment that evicting every LOW run would not place.
PREEMPTION_IMPOSSIBLE = "PreemptionImpossible"

Clock = Callable[[], datetime]


def _run(deployment: DeploymentObject) -> RunId:
    return RunId(deployment.namespace, deployment.spec.cluster, deployment.name, deployment.uid)


def _seconds(later: datetime | None, earlier: datetime | None) -> float:
    return 0.0 if later is None or earlier is None else (later - earlier).total_seconds()


def _waits(decided: PassPlan, started: list[str]) -> dict[str, statuses.Wait]:
    """Why each deployment the pass left queued waits, and its ETA (a replay of the queue)."""
    outlook = forecast(decided, started)
    reserved = {r.id for r in decided.reserved}
    return {
        name: statuses.Wait(
            reason=statuses.RESERVED if name in reserved else statuses.WAITING,
            message=message,
            estimated_start=_moment(outlook.estimated_start[name]),
        )
        for name, message in outlook.reasons.items()
    }


async def _all(writes: Iterable[Awaitable[bool]]) -> list[bool]:
    """Whether each write went through, once every one is answered; the first failure is
    raised only then.

    A pass that failed on one write while its others went on would end with them still in
    flight, and the next pass would count the capacity of a start not yet written as free.
    """
    answers = await asyncio.gather(*writes, return_exceptions=True)
    for answer in answers:
        if isinstance(answer, BaseException):
            raise answer
    return [answer is True for answer in answers]


def _place(deployment: DeploymentObject, now: datetime) -> statuses.Place:
    return statuses.Place(deployment.spec.cluster, planning.queued_since(deployment, now))


def _moment(seconds: float | None) -> datetime | None:
    return None if seconds is None else datetime.fromtimestamp(seconds, tz=UTC)


def _moved(written: datetime | None, estimated: datetime | None) -> bool:
    """Whether an ETA moved enough to be rewritten (appearing or vanishing counts)."""
    if written is None or estimated is None:
        return (written is None) != (estimated is None)
    return abs((estimated - written).total_seconds()) > ETA_SLACK


@dataclass(frozen=True, slots=True)
class _QueueUpdate:
    """What a pass decided a waiting deployment's Queued status should say."""

    deployment: DeploymentObject
    position: int
    wait: statuses.Wait
    due: bool  # rewrite position, reason and ETA; else only a newcomer is written
    moment: datetime
    number: int  # the pass's: a later pass's hold of the deployment outdates the update


class Reconciler:
    def __init__(
        self,
        kube: KubeApi,
        leases: RunLeases,
        store: DeploymentStore,
        events: EventRecorder,
        config: OperatorConfig,
        clock: Clock,
    ) -> None:
        self._kube = kube
        self._leases = leases
        self._store = store
        self._events = events
        self._config = config
        self._clock = clock
        # Run durations and solver seeds: simulation, not security; seedable for demos.
        self._random = random.Random(config.seed)  # noqa: S311
        self._transitions = asyncio.Semaphore(WRITE_CONCURRENCY)
        self._refreshes = asyncio.Semaphore(REFRESH_CONCURRENCY)
        # uid -> set when our status write to it in flight is answered.
        self._writing: dict[str, asyncio.Event] = {}
        # A pass's queue refreshes and Cluster report, still writing after it returned.
        self._trailing: set[asyncio.Task[None]] = set()
        # uid -> the newest queue update not yet written, and the task writing them.
        self._updates: dict[str, _QueueUpdate] = {}
        self._updaters: dict[str, asyncio.Task[None]] = {}
        self._reporting: dict[ClusterRef, asyncio.Task[None]] = {}
        self._clusters: dict[ClusterRef, ClusterObject] = {}
        # Passes are numbered; per cluster, the deployments its last pass held, and that pass.
        self._numbers = itertools.count(1)
        self._held: dict[ClusterRef, tuple[int, frozenset[str]]] = {}
        self._history: dict[ClusterRef, RunHistory] = {}
        self._positions_refreshed: dict[ClusterRef, float] = {}
        #: Per cluster, the pass whose forecast last reached the updaters.
        self._refreshed_by: dict[ClusterRef, int] = {}
        self._reported: dict[ClusterRef, dict[str, Any]] = {}
        self._last_preemption: dict[ClusterRef, dict[str, Any]] = {}
        # Per cluster, the HIGH deployments (by uid) warned that eviction cannot place them,
        # with the resources they lacked: warned again only when that changes.
        self._warned: dict[ClusterRef, dict[str, frozenset[str]]] = {}
        # The clusters warned that their runs hold more than they have, and of which resources.
        self._over: dict[ClusterRef, frozenset[str]] = {}
        # uid -> the deployment as a start whose answer never came was conditioned on (a read
        # timeout, a 5xx, a pass cancelled mid-write): the API server may commit it yet.
        # Kept across terms (`close`): it is the API server's state, not this replica's.
        self._unanswered: dict[str, DeploymentObject] = {}

    async def __call__(self, ref: ClusterRef) -> float | None:
        """Run one pass; returns when to run again (0 = at once), or None when settled."""
        with metrics.pass_seconds.time():
            return await self._pass(ref)

    async def _pass(self, ref: ClusterRef) -> float | None:
        cluster = await self._read(ref)
        moment, number = self._clock(), next(self._numbers)
        settled = await self._end_due(cluster, ref, moment)
        if not await self._fence(ref, moment):
            return 0.0  # a start may land yet: decide nothing until a fresh read shows it
        current = planning.plan(cluster, self._store.members(ref), moment)
        if current.holds:
            self._held[ref] = (number, frozenset(h.deployment.uid for h in current.holds))
        else:
            self._held.pop(ref, None)
        settled &= all(await _all(self._hold(h, moment) for h in current.holds))
        if cluster is None:
            self._forget(ref)
            return None if settled else 0.0
        await self._restore_leases(current.running, moment)
        preempted = await self._preempt(cluster, current, moment)
        if preempted is not None:
            settled &= preempted
            # Capacity moved: the rest of the pass works from what the store now holds.
            current = planning.plan(cluster, self._store.members(ref), moment)
        decided = plan_pass(planning.cluster_state(cluster, current, moment))
        selection, chosen = await self._select(cluster, current, decided)
        picked = {d.uid for d in chosen}
        waiting = [d for d in current.queue if d.uid not in picked]
        position_delay = self._queue(ref, decided, chosen, waiting, moment, number)
        admitted = await self._admit(cluster, current, selection, chosen, moment)
        if len(admitted) < len(chosen):
            settled = False  # a start lost a race: decide again from a fresh read
        self._report(cluster, current, admitted, waiting, selection, decided, moment)
        if not settled:
            return 0.0
        # The store holds what this pass wrote: the runs it started have their deadlines there.
        deadlines = [
            d.status.expires_at for d in self._store.members(ref) if d.phase == Phase.RUNNING
        ]
        next_end = min((e for e in deadlines if e is not None), default=None)
        delays = [d for d in (position_delay,) if d is not None]
        if next_end is not None:
            # A millisecond late rather than early: the pass ends what is due, not what is near.
            delays.append(max((next_end - self._clock()).total_seconds(), 0.0) + 0.001)
        return min(delays, default=None)

    async def _read(self, ref: ClusterRef) -> ClusterObject | None:
        """The cluster's spec and members, from a quorum read when the store may be behind."""
        if self._store.needs_list(ref) or ref not in self._clusters:
            begun = self._store.begin_list()
            cluster, (listed, version) = await asyncio.gather(
                self._kube.get_cluster(ref), self._kube.list_deployments(ref)
            )
            self._store.replace(ref, listed, version, begun)
            known = self._clusters.get(ref)
            if known is not None and (cluster is None or cluster.uid != known.uid):
                # Deleted (and perhaps created again under its name since): its history, last
                # report and warnings were the old one's.
                self._forget_state(ref)
            if cluster is not None:
                self._clusters[ref] = cluster
        return self._clusters.get(ref)

    def _forget(self, ref: ClusterRef) -> None:
        """A deleted cluster: drop what this process kept about it, metric series included."""
        self._forget_state(ref)
        self._store.forget_cluster(ref)
        # A start on it that lands yet is a run on a deleted cluster: the next pass holds it.
        for uid, planned in list(self._unanswered.items()):
            if ClusterRef(planned.namespace, planned.spec.cluster) == ref:
                del self._unanswered[uid]

    def _forget_state(self, ref: ClusterRef) -> None:
        """Drop what the passes kept about the cluster, and its metric series."""
        self._clusters.pop(ref, None)
        self._history.pop(ref, None)
        self._positions_refreshed.pop(ref, None)
        self._refreshed_by.pop(ref, None)
        self._reported.pop(ref, None)
        self._last_preemption.pop(ref, None)
        self._warned.pop(ref, None)
        self._over.pop(ref, None)
        metrics.forget_cluster(ref.namespace, ref.name)

    async def _write(
        self, deployment: DeploymentObject, status: dict[str, Any], *, refresh: bool = False
    ) -> bool:
        """A conditional status write; the store learns the result either way.

        An end, a start or a hold waits for a transition slot. A ``refresh`` (a queue position,
        reason or ETA) is written by its deployment's updater, which holds a refresh slot
        (`_send_updates`), so a long queue's updates never hold up the writes that end and start
        runs; it claims the deployment like a transition, so a start waits for it.
        """
        ref = ClusterRef(deployment.namespace, deployment.spec.cluster)
        try:
            if refresh:
                async with self._claim(deployment):
                    written = await self._kube.patch_deployment_status(deployment, status)
            else:
                async with self._transitions:
                    written = await self._kube.patch_deployment_status(deployment, status)
        except BaseException:
            # A 5xx, a timeout or a reset may follow a write the API server committed: until a
            # fresh read says otherwise, this deployment's capacity is not known to be free.
            self._store.invalidate(ref)
            raise
        if written is None:
            # Changed or gone since we read it: read the whole cluster afresh next time.
            self._store.invalidate(ref)
            return False
        self._store.put(written)
        return True

    async def _latest(self, deployment: DeploymentObject) -> DeploymentObject:
        """The deployment once our write to it in flight, if any, is answered."""
        while (answered := self._writing.get(deployment.uid)) is not None:
            await answered.wait()
        return self._store.get(deployment.uid) or deployment

    @asynccontextmanager
    async def _claim(self, planned: DeploymentObject) -> AsyncIterator[DeploymentObject | None]:
        """The deployment as our last write left it, kept from refreshes while a start or a
        hold is decided and written; None if its spec changed since the pass planned with it.

        A refresh still in flight is waited for: a transition decided on the copy it replaces
        would be refused by its resourceVersion precondition. One that has not begun finds the
        deployment claimed and is dropped. A spec edited meanwhile (resources, cluster) is one
        the pass's capacity check never saw: the transition is given up and decided again.
        """
        latest = await self._latest(planned)
        answered = self._writing[planned.uid] = asyncio.Event()
        try:
            yield latest if latest.generation == planned.generation else None
        finally:
            del self._writing[planned.uid]
            answered.set()

    def _trail(self, work: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        """Run writes that no decision waits for beside the passes that follow."""
        task = asyncio.create_task(work)
        self._trailing.add(task)
        task.add_done_callback(self._trailed)
        return task

    def _trailed(self, task: asyncio.Task[None]) -> None:
        self._trailing.discard(task)
        if not task.cancelled() and (error := task.exception()) is not None:
            log_failure(logger, error, "a queue refresh or cluster report failed")

    async def settle(self) -> None:
        """Wait until the trailing writes of every pass so far are answered."""
        while self._trailing:
            await asyncio.wait(set(self._trailing))

    async def close(self) -> None:
        """Stop the trailing writes and forget every cluster: this replica no longer leads.

        What it kept would be stale by the time it leads again (a report it cancelled would
        pass for written), and its gauges would go on reporting clusters beside the leader's.
        """
        trailing = set(self._trailing)
        for task in trailing:
            task.cancel()
        await asyncio.gather(*trailing, return_exceptions=True)
        # A task cancelled before it began never ran its own clean-up (its `finally`).
        self._updaters.clear()
        self._updates.clear()
        self._reporting.clear()
        for ref in {*self._clusters, *self._reported, *self._history}:
            self._forget_state(ref)
        self._held.clear()

    async def _end_due(
        self, cluster: ClusterObject | None, ref: ClusterRef, moment: datetime
    ) -> bool:
        """End every run whose deadline has passed; False if one must be decided again."""
        due = [
            d
            for d in self._store.members(ref)
            if d.phase == Phase.RUNNING and (d.status.expires_at or moment) <= moment
        ]
        # Even on a deleted cluster: a run whose time is up has finished, and cancelled instead
        # it would run again if the cluster came back.
        ended = await _all(self._end(ref, cluster, d, moment) for d in due)
        return all(ended)

    async def _end(
        self,
        ref: ClusterRef,
        cluster: ClusterObject | None,
        deployment: DeploymentObject,
        now: datetime,
    ) -> bool:
        ttl = deployment.spec.ttl_seconds_after_finished
        if ttl is None and cluster is not None:
            ttl = cluster.spec.history.ttl_seconds_after_finished
        elif ttl is None:
            ttl = DEFAULT_TTL_AFTER_FINISHED
        retained = None if ttl is None else now + timedelta(seconds=ttl)
        patch = statuses.succeeded(deployment.status, now, retained, deployment.generation)
        if not await self._write(deployment, patch):
            return False
        await self._leases.release(_run(deployment))
        status = deployment.status
        waited, ran = (
            _seconds(status.started_at, status.queued_at),
            _seconds(now, status.started_at),
        )
        if cluster is not None:  # a deleted one's figures and series are forgotten
            self._history.setdefault(ref, RunHistory()).record(now, waited, ran)
            metrics.run_ends.labels(namespace=ref.namespace, cluster=ref.name).inc()
        late_ms = _seconds(now, status.expires_at) * 1000
        logger.info(
            "%s: %s finished after %.1fs (ended %.0f ms after its deadline)",
            ref, deployment.name, ran, late_ms,
        )  # fmt: skip
        self._events.announce(deployment.reference(), "Succeeded", "the run finished")
        return True

    async def _fence(self, ref: ClusterRef, moment: datetime) -> bool:
        """Settle the cluster's starts whose answer never came; whether every one is settled.

        The API server may commit such a start after a read that still shows the deployment
        queued, and a pass deciding from that read would give its capacity to another (as the
        Kubernetes scheduler's assumed pods, its capacity is not known to be free). A write
        conditioned on the same resourceVersion settles it: written, it moved the version, so
        the start can no longer land; refused, the deployment changed (the start landed, or
        something else did), which the next read shows. A write must change the object to move
        its version: the message, with the moment, does.
        """
        for uid, planned in list(self._unanswered.items()):
            if ClusterRef(planned.namespace, planned.spec.cluster) != ref:
                continue
            latest = self._store.get(uid)
            if latest is not None and latest.resource_version == planned.resource_version:
                message = f"its start at {format_time(moment)} went unanswered; deciding again"
                async with self._claim(latest) as fenced:
                    if fenced is None or not await self._write(fenced, {"message": message}):
                        return False
                written = self._store.get(uid)
                if written is not None and written.resource_version == planned.resource_version:
                    return False  # the same message already: no change, no new version
            del self._unanswered[uid]  # gone, changed since, or fenced: it cannot land now
        return True

    async def _hold(self, hold: planning.Hold, moment: datetime) -> bool:
        async with self._claim(hold.deployment) as deployment:
            if deployment is None:
                return False
            current = deployment.status
            if (current.phase, current.reason, current.message, current.observed_generation) == (
                Phase.PENDING,
                hold.reason,
                hold.message,
                deployment.generation,
            ):
                return True
            patch = statuses.pending(
                current, moment, hold.reason, hold.message, deployment.generation
            )
            if not await self._write(deployment, patch):
                return False
            reason, message = hold.reason, hold.message
            if deployment.phase == Phase.RUNNING:  # its cluster is gone (or another): cancelled
                await self._leases.release(_run(deployment))
                reason, message = RUN_CANCELLED, f"the run was cancelled: {message}"
            self._events.announce(deployment.reference(), reason, message)
            return True

    async def _restore_leases(self, running: list[DeploymentObject], moment: datetime) -> None:
        """Rebuild the leases Redis lost (restarted empty), each with its remaining time."""
        await self._leases.restore(
            [
                (_run(d), int(_seconds(d.status.expires_at, moment) * 1000))
                for d in running
                if d.status.expires_at is not None and d.status.expires_at > moment
            ]
        )

    async def _preempt(
        self, cluster: ClusterObject, current: planning.Plan, moment: datetime
    ) -> bool | None:
        """Evict the victims HIGH deployments need, then start those deployments.

        None when nothing was evicted; otherwise whether every write went through. The
        order is what keeps capacity from being over-committed at any instant, even if the
        operator dies half-way: every eviction is written (status Queued, conditional on
        the version read) before any preemptor's start, and a start checks the capacity
        the store then shows. A crash after the evictions leaves the preemptors queued
        with the capacity free, and the next pass starts HIGH demand first.
        """
        problem = planning.preemption(cluster, current, moment)
        if problem is None:
            self._warned.pop(cluster.ref, None)
            return None
        # Milliseconds in practice, but up to a few hundred on adversarial clusters: off the
        # event loop, like the solver.
        preemption = await asyncio.to_thread(select_victims, problem)
        queued = {d.name: d for d in current.queue}
        self._warn(cluster.ref, queued, preemption.shortfalls)
        if not preemption.victims:
            return None
        running = {d.name: d for d in current.running}
        preemptors = [queued[name] for name in preemption.admitted]
        evicted = await _all(
            self._evict(running[name], preemption.admitted, moment) for name in preemption.victims
        )
        self._last_preemption[cluster.ref] = _preemption_report(preemption, moment)
        logger.info(
            "%s: evicted %s (%.1f s of run time, %s, %.1f ms) for %s",
            cluster.ref, ", ".join(preemption.victims), preemption.lost_seconds,
            "optimal" if preemption.proven_optimal else "not proven optimal",
            preemption.duration_ms, ", ".join(preemption.admitted),
        )  # fmt: skip
        if not all(evicted):
            return False  # a victim changed under us: decide again from a fresh read
        after = planning.plan(cluster, self._store.members(cluster.ref), moment)
        if not Resources.total(d.spec.resources for d in preemptors).fits_in(after.free(cluster)):
            logger.error("%s: %s do not fit after eviction", cluster.ref, preemption.admitted)
            return False
        started = await _all(self._start(d, cluster, moment) for d in preemptors)
        for deployment, ok in zip(preemptors, started, strict=True):
            if ok:
                self._events.announce(
                    deployment.reference(),
                    "Preempting",
                    f"evicted {', '.join(preemption.victims)} to start",
                )
        return all(started)

    def _warn(
        self,
        ref: ClusterRef,
        queued: dict[str, DeploymentObject],
        shortfalls: tuple[Shortfall, ...],
    ) -> None:
        """A Warning for each HIGH deployment that no eviction can place now, saying why.

        Once while it stays so (again if it comes to lack another resource), and through the
        per-object limiter like every event: its status says the rest.
        """
        warned = self._warned.get(ref, {})
        now_short: dict[str, frozenset[str]] = {}
        for shortfall in shortfalls:
            deployment = queued[shortfall.id]
            lacking = frozenset(shortfall.needs)
            now_short[deployment.uid] = lacking
            if warned.get(deployment.uid) != lacking:
                self._events.announce(
                    deployment.reference(),
                    PREEMPTION_IMPOSSIBLE,
                    _shortfall_message(shortfall),
                    warning=True,
                )
        self._warned[ref] = now_short

    async def _evict(
        self, victim: DeploymentObject, preemptors: tuple[str, ...], moment: datetime
    ) -> bool:
        """Lease first, then status Queued: a lease without a Running status is never left.

        If the status write is refused (the deployment changed meanwhile), the run may still
        be going without its lease; the next pass restores leases from status.
        """
        await self._leases.release(_run(victim))
        patch = statuses.preempted(victim.status, moment, list(preemptors), victim.generation)
        if not await self._write(victim, patch):
            return False
        metrics.preemptions.labels(namespace=victim.namespace, cluster=victim.spec.cluster).inc()
        self._events.announce(victim.reference(), "Preempted", patch["message"])
        return True

    async def _select(
        self, cluster: ClusterObject, current: planning.Plan, decided: PassPlan
    ) -> tuple[Selection | None, list[DeploymentObject]]:
        """The head of the queue and what the scheduler selects among the rest.

        Returns the selection (None when nothing can start) and the deployments to start.
        """
        free = current.free(cluster)
        if not any(d.spec.resources.fits_in(free) for d in current.queue):
            return None, []  # nothing can start: spare the solver
        # The solver is CPU-bound for up to its time limit: off the event loop, so that other
        # clusters' passes and watch events go on meanwhile.
        selection = await asyncio.to_thread(
            solve,
            decided.problem,
            Strategy(cluster.spec.scheduling.strategy.value),
            seed=self._random.randrange(2**32),
            time_limit=self._config.solver_time_limit,
        )
        metrics.solver_seconds.labels(strategy=selection.strategy.value).observe(
            selection.duration_ms / 1000
        )
        starts = decided.starts(selection)
        picked = set(starts)
        chosen = [d for d in current.queue if d.name in picked]
        if not Resources.total(d.spec.resources for d in chosen).fits_in(free):
            # The scheduler promises feasibility; capacity is the one invariant never to bet on.
            logger.error("%s: infeasible selection %s ignored", cluster.ref, starts)
            return None, []
        return selection, chosen

    async def _admit(
        self,
        cluster: ClusterObject,
        current: planning.Plan,
        selection: Selection | None,
        chosen: list[DeploymentObject],
        moment: datetime,
    ) -> list[DeploymentObject]:
        """Start what was chosen; returns the deployments actually started."""
        if selection is None:
            return []
        started = await _all(self._start(d, cluster, moment) for d in chosen)
        admitted = [d for d, ok in zip(chosen, started, strict=True) if ok]
        logger.info(
            "%s: started %d of %d queued (%s, %.1f ms%s): %s",
            cluster.ref, len(admitted), len(current.queue), selection.strategy.value,
            selection.duration_ms, "" if selection.gap is None else f", gap {selection.gap:.4%}",
            ", ".join(d.name for d in admitted) or "none",
        )  # fmt: skip
        return admitted

    async def _start(
        self, planned: DeploymentObject, cluster: ClusterObject, moment: datetime
    ) -> bool:
        """Lease, then conditional Running status; False (and no lease) if either is refused,
        or if the deployment is no longer the one the pass planned to start."""
        async with self._claim(planned) as deployment:
            if deployment is None or deployment.phase in (Phase.RUNNING, Phase.SUCCEEDED):
                return False
            window = cluster.spec.scheduling.run_duration
            seconds = deployment.spec.duration_seconds or self._random.randint(
                window.min_seconds, window.max_seconds
            )
            expires = moment + timedelta(seconds=seconds)
            run = _run(deployment)
            # The key expires at the deadline itself, however long the pass took to get here.
            if not await self._leases.take(run, int(_seconds(expires, self._clock()) * 1000)):
                # Already leased: either our view is behind (it runs) or a start's status write
                # failed after its lease was taken. Ask the API server which.
                fresh = await self._kube.get_deployment(deployment.namespace, deployment.name)
                if fresh is not None and fresh.uid == run.uid and fresh.phase == Phase.RUNNING:
                    self._store.put(fresh)
                else:
                    await self._leases.release(run)
                return False
            patch = statuses.running(
                deployment.status,
                moment,
                _place(deployment, moment),
                cluster.uid,
                expires,
                deployment.spec.resources,
                deployment.generation,
            )
            try:
                written = await self._write(deployment, patch)
            except BaseException:
                self._unanswered[deployment.uid] = deployment  # settled by `_fence`
                await self._leases.release(run)
                raise
            if not written:
                await self._leases.release(run)
                return False
            metrics.admissions.labels(namespace=cluster.namespace, cluster=cluster.name).inc()
            self._events.announce(
                deployment.reference(), "Started", f"running until {format_time(expires)}"
            )
            return True

    def _queue(
        self,
        ref: ClusterRef,
        decided: PassPlan,
        starting: list[DeploymentObject],
        waiting: list[DeploymentObject],
        moment: datetime,
        number: int,
    ) -> float | None:
        """Mark newcomers Queued and keep positions, reasons and ETAs current; returns when to
        refresh positions next, if they are left stale meanwhile.

        The writes trail the pass: no end or start waits for them, nor does the next pass.
        ``starting`` are being started meanwhile: the forecast counts them as running.

        Every admission shifts everyone behind it: rewriting a long queue on every pass would
        cost more API writes than the admissions themselves (quadratic in the queue's length).
        Short queues stay exact; longer ones are refreshed every `position_refresh` seconds,
        but for their news: newcomers (an evicted run among them), the deployments that lost
        the reservation they show, so that none claims one another holds, and those edited
        since their last status (its `observedGeneration` acknowledges the edit). (One that gains a
        reservation shows it at the next refresh: in a queue that only drains, each deployment
        gains one before it starts, and writing each gain cost a quarter more writes per
        deployment in the paced benchmark.) An ETA is rewritten only when it moves by more
        than `ETA_SLACK` seconds.
        """
        clock = time.monotonic()
        last = self._positions_refreshed.get(ref, -math.inf)
        due = len(waiting) <= EXACT_POSITIONS or clock - last >= self._config.position_refresh
        reserved = {r.id for r in decided.reserved}
        news = {
            d.uid
            for d in waiting
            if planning.joins_queue(d)
            or (d.status.reason == statuses.RESERVED and d.name not in reserved)
            or d.status.observed_generation != d.generation  # an edit to acknowledge
        }
        if waiting and (due or news):
            started = [d.name for d in starting]
            self._trail(self._refresh(decided, started, waiting, due, news, moment, number))
        stale = any(d.status.queue_position != at for at, d in enumerate(waiting, start=1))
        if stale and due:
            self._positions_refreshed[ref] = clock
        if stale and not due:
            return last + self._config.position_refresh - clock
        return None

    async def _refresh(
        self,
        decided: PassPlan,
        starting: list[str],
        waiting: list[DeploymentObject],
        due: bool,
        news: set[str],
        moment: datetime,
        number: int,
    ) -> None:
        """Hand what `_queue` decided to each deployment's updater: the changes of the
        deployments in ``news`` (uids), and everyone's when ``due``.

        An update replaces one of an earlier pass still waiting for a slot, so a backlog costs
        one write per deployment, with the newest position and ETA, not one per pass. The
        forecasts of two passes run side by side: one answered after a later pass's is dropped,
        or its older positions would be written last. (What it alone would have written, the
        later pass decided again: newcomers and lost reservations are its news too.)
        """
        waits = await asyncio.to_thread(_waits, decided, starting)
        ref = ClusterRef(waiting[0].namespace, waiting[0].spec.cluster)
        if self._refreshed_by.get(ref, 0) > number:
            return
        self._refreshed_by[ref] = number
        for position, deployment in enumerate(waiting, start=1):
            if (wait := waits.get(deployment.name)) is None:
                continue
            urgent = due or deployment.uid in news
            self._updates[deployment.uid] = _QueueUpdate(
                deployment, position, wait, urgent, moment, number
            )
            if deployment.uid not in self._updaters:
                self._updaters[deployment.uid] = self._trail(self._send_updates(deployment.uid))

    async def _send_updates(self, uid: str) -> None:
        """Write a deployment's newest queue update, taken when a slot is free, until none is
        left; after a write, the next waits `refresh_interval` (the newest one then)."""
        try:
            while uid in self._updates:
                async with self._refreshes:
                    update = self._updates.pop(uid, None)
                    written = update is not None and await self._requeue(update)
                if written:
                    await asyncio.sleep(self._config.refresh_interval)
        finally:
            self._updates.pop(uid, None)  # left only by a failed or cancelled write
            del self._updaters[uid]

    async def _requeue(self, update: _QueueUpdate) -> bool:
        """One Queued status, unless a later pass started, held or ended the deployment, or is
        writing to it, meanwhile; whether it was written.

        A hold need not write (the deployment may be Pending for that reason already), so the
        pass that held it is compared too: an update from before it would queue a deployment
        on a cluster deleted or shrunk since.
        """
        decided = update.deployment
        latest = self._store.get(decided.uid)
        held_in, held = self._held.get(ClusterRef(decided.namespace, decided.spec.cluster), (0, ()))
        if (
            latest is None
            or decided.uid in self._writing
            or latest.generation != decided.generation
            or (decided.uid in held and held_in > update.number)
        ):
            return False  # gone or finished, being started or held, or its spec changed
        if latest.phase != decided.phase and latest.phase != Phase.QUEUED:
            return False
        status = latest.status
        if not planning.joins_queue(latest) and not (
            update.due
            and (
                (status.queue_position, status.reason, status.message, status.observed_generation)
                != (update.position, update.wait.reason, update.wait.message, latest.generation)
                or _moved(status.estimated_start_at, update.wait.estimated_start)
            )
        ):
            return False
        place = _place(latest, update.moment)
        patch = statuses.queued(
            status, update.moment, place, update.position, latest.generation, update.wait
        )
        return await self._write(latest, patch, refresh=True)

    def _report(
        self,
        cluster: ClusterObject,
        current: planning.Plan,
        admitted: list[DeploymentObject],
        waiting: list[DeploymentObject],
        selection: Selection | None,
        decided: PassPlan,
        moment: datetime,
    ) -> None:
        ref = cluster.ref
        capacity = cluster.spec.resources
        allocated = Resources.total([current.allocated, *(d.spec.resources for d in admitted)])
        status: dict[str, Any] = {
            "observedGeneration": cluster.generation,
            "capacity": capacity.as_dict(),
            "allocated": allocated.as_dict(),
            "available": capacity.minus(allocated).as_dict(),
            "queued": len(waiting),
            "running": len(current.running) + len(admitted),
            "pending": len(current.holds),
            "history": self._history.setdefault(ref, RunHistory()).figures(moment),
        }
        if selection is not None:
            status["lastDecision"] = {
                "at": format_time(moment),
                "requestedStrategy": cluster.spec.scheduling.strategy.value,
                "strategy": selection.strategy.value,
                "ran": [strategy.value for strategy in selection.ran],
                "reason": selection.reason,
                # The head of the queue starts in order; the search chose among the rest.
                "inOrder": list(decided.first),
                "candidates": len(decided.problem.candidates),
                "selected": list(selection.selected),
                "durationMs": round(selection.duration_ms, 3),
                "provenOptimal": selection.proven_optimal,
                "gap": selection.gap,
                "objective": selection.objective.to_dict(),
            }
        if ref in self._last_preemption:
            status["lastPreemption"] = self._last_preemption[ref]
        metrics.report_cluster(
            ref.namespace, ref.name, len(waiting), status["running"], capacity, allocated
        )
        self._warn_over_capacity(cluster, allocated)
        if self._reported.get(ref) == status:
            return
        self._reported[ref] = status
        if ref not in self._reporting:
            self._reporting[ref] = self._trail(self._send_reports(ref))

    def _warn_over_capacity(self, cluster: ClusterObject, allocated: Resources) -> None:
        """A Warning when the runs hold more than the cluster has: its capacity shrank under
        them. Nothing is evicted for it and nothing starts until enough of them end; the
        status's `available` cannot go below zero, so this is what says so. Once each time it
        comes to (or comes to exceed another resource)."""
        over = frozenset(allocated.exceeding(cluster.spec.resources))
        if over and self._over.get(cluster.ref) != over:
            self._events.announce(
                cluster.reference(),
                OVER_CAPACITY,
                f"its runs hold more than it has ({allocated.excess(cluster.spec.resources)}): "
                "nothing starts until enough of them end",
                warning=True,
            )
        if over:
            self._over[cluster.ref] = over
        else:
            self._over.pop(cluster.ref, None)

    async def _send_reports(self, ref: ClusterRef) -> None:
        """Write the Cluster's newest report, until the newest has been written.

        Reports made while one is in flight, or in the `refresh_interval` after it, replace
        each other: only the last is written.
        """
        try:
            written = None
            while (status := self._reported.get(ref)) is not None and status is not written:
                try:
                    await self._kube.patch_cluster_status(ref, status)
                except Exception:
                    self._reported.pop(ref, None)  # the next pass writes it again
                    raise
                written = status
                await asyncio.sleep(self._config.refresh_interval)
        finally:
            del self._reporting[ref]


def _shortfall_message(shortfall: Shortfall) -> str:
    """Why evicting every preemptible LOW run would not make room, in numbers."""
    needs = " and ".join(f"{name} {amount}" for name, amount in shortfall.needs.items())
    most = " and ".join(f"{name} {amount}" for name, amount in shortfall.most.items())
    return (
        f"cannot start even by evicting every preemptible LOW run: needs {needs}, at most "
        f"{most} could be free; it waits for runs that cannot be evicted (HIGH ones, LOW ones "
        "preempted maxPreemptions times) to end"
    )


def _preemption_report(preemption: Preemption, moment: datetime) -> dict[str, Any]:
    """The Cluster status's account of an eviction."""
    return {
        "at": format_time(moment),
        "preemptors": list(preemption.admitted),
        "victims": list(preemption.victims),
        "lostSeconds": round(preemption.lost_seconds, 3),
        "provenOptimal": preemption.proven_optimal,
        "durationMs": round(preemption.duration_ms, 3),
    }
