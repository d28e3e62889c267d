"""One scheduling pass over one cluster: read, decide, write, report.

free = capacity - what Running deployments hold, recomputed every pass from the deployments in
the store (never a counter that can drift), which holds what earlier passes wrote even before
the watch shows it, and which is seeded by a quorum LIST whenever it may be behind.
Admissions are written with a resourceVersion precondition and a Redis lease taken with NX, so a
deployment starts at most once even if two operator processes pass over the same cluster.
"""

import asyncio
import logging
import math
import random
import secrets
import time
from datetime import datetime, timedelta
from typing import Any

from simplismart.crds import Phase, Resources, format_time, now
from simplismart.operator import metrics, planning, statuses
from simplismart.operator.config import OperatorConfig
from simplismart.operator.kube import KubeApi
from simplismart.operator.leases import Leases, RunId
from simplismart.operator.objects import ClusterObject, ClusterRef, DeploymentObject
from simplismart.operator.runs import Announce, RunEnder, now_ms
from simplismart.operator.store import DeploymentStore
from simplismart.scheduler import Selection, Strategy, solve

logger = logging.getLogger(__name__)

#: Status writes in flight at once within one pass.
WRITE_CONCURRENCY = 16
#: Queues up to this long have their positions rewritten on every change.
EXACT_POSITIONS = 20


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


class SchedulingPass:
    def __init__(
        self,
        kube: KubeApi,
        leases: Leases,
        ender: RunEnder,
        store: DeploymentStore,
        config: OperatorConfig,
        announce: Announce,
    ) -> None:
        self._kube = kube
        self._leases = leases
        self._store = store
        # Names this process as a cluster's last writer (see Leases.take_turn).
        self._identity = secrets.token_hex(8)
        self._ender = ender
        self._config = config
        self._announce = announce
        # Run durations and solver seeds: simulation, not security; seedable for demos.
        self._random = random.Random(config.seed)  # noqa: S311
        self._writes = asyncio.Semaphore(WRITE_CONCURRENCY)
        self._positions_refreshed: dict[ClusterRef, float] = {}
        self._reported: dict[ClusterRef, dict[str, Any]] = {}
        self._clusters: dict[ClusterRef, ClusterObject] = {}

    async def __call__(self, ref: ClusterRef) -> float | None:
        """Run one pass; returns when to run again (0 = at once), or None when settled."""
        async with self._leases.pass_lock(ref):
            with metrics.pass_seconds.time():
                return await self._run(ref)

    async def _run(self, ref: ClusterRef) -> float | None:
        another_wrote = await self._leases.take_turn(ref, self._identity)
        cluster = self._clusters.get(ref)
        if another_wrote or cluster is None or self._store.needs_list(ref):
            # A Cluster's own events invalidate the store, so its spec is read again with it.
            cluster, listed = await asyncio.gather(
                self._kube.get_cluster(ref), self._kube.list_deployments(ref)
            )
            self._store.replace(ref, listed)
            if cluster is None:
                self._clusters.pop(ref, None)
            else:
                self._clusters[ref] = cluster
        deployments = self._store.members(ref)
        moment = now()
        current = planning.plan(cluster, deployments, moment)
        settled = all(await asyncio.gather(*(self._hold(h, moment) for h in current.holds)))
        if cluster is None:
            await self._leases.set_queue(ref, {})
            self._reported.pop(ref, None)
            return None if settled else 0.0
        await asyncio.gather(*(self._repair(d, moment) for d in current.running))
        selection, admitted = await self._admit(cluster, current, moment)
        if selection is not None and len(admitted) < len(selection.selected):
            settled = False  # a start lost a race: decide again from a fresh read
        chosen = {d.name for d in admitted}
        waiting = [d for d in current.queue if d.name not in chosen]
        position_delay = await self._queue(ref, waiting, moment)
        await self._report(cluster, current, admitted, waiting, selection, moment)
        return 0.0 if not settled else position_delay

    async def _write(self, deployment: DeploymentObject, status: dict[str, Any]) -> bool:
        """A conditional status write; the store learns the result either way."""
        async with self._writes:
            written = await self._kube.patch_deployment_status(deployment, status)
        if written is None:
            # Changed or gone since we read it: read the whole cluster afresh next time.
            self._store.invalidate(ClusterRef(deployment.namespace, deployment.spec.cluster))
            return False
        self._store.put(written)
        return True

    async def _hold(self, hold: planning.Hold, moment: datetime) -> bool:
        deployment = hold.deployment
        current = deployment.status
        if (current.phase, current.reason, current.message) == (
            Phase.PENDING,
            hold.reason,
            hold.message,
        ):
            return True
        if deployment.phase == Phase.RUNNING:  # its cluster is gone: cancel the run
            await self._leases.forget(RunId(deployment.namespace, deployment.name, deployment.uid))
        patch = statuses.pending(moment, hold.reason, hold.message, deployment.generation)
        if not await self._write(deployment, patch):
            return False
        self._announce(deployment.reference(), hold.reason, hold.message)
        return True

    async def _repair(self, deployment: DeploymentObject, moment: datetime) -> None:
        """Rebuild a lease Redis lost; end the run here if it is already over (reconcile)."""
        run = RunId(deployment.namespace, deployment.name, deployment.uid)
        if self._ender.is_ending(run):
            return  # its deadline was claimed, not lost
        deadline = _ms(deployment.status.expires_at or moment)
        if await self._leases.repair(run, deadline, now_ms()) and deadline <= now_ms():
            await self._ender.end(run, "reconcile")

    async def _admit(
        self, cluster: ClusterObject, current: planning.Plan, moment: datetime
    ) -> tuple[Selection | None, list[DeploymentObject]]:
        free = current.free(cluster)
        if not any(d.spec.resources.fits_in(free) for d in current.queue):
            return None, []  # nothing can start: spare the solver
        # The solver is CPU-bound for up to its time limit: off the event loop, so that other
        # clusters' passes, watch events and run ends go on meanwhile.
        selection = await asyncio.to_thread(
            solve,
            planning.problem(cluster, current, moment),
            Strategy(cluster.spec.scheduling.strategy.value),
            seed=self._random.randrange(2**32),
            time_limit=self._config.solver_time_limit,
        )
        metrics.solver_seconds.labels(strategy=selection.strategy.value).observe(
            selection.duration_ms / 1000
        )
        picked = set(selection.selected)
        chosen = [d for d in current.queue if d.name in picked]
        if not Resources.total(d.spec.resources for d in chosen).fits_in(free):
            # The scheduler promises feasibility; capacity is the one invariant never to bet on.
            logger.error("%s: infeasible selection %s ignored", cluster.name, selection.selected)
            return None, []
        started = await asyncio.gather(*(self._start(d, cluster, moment) for d in chosen))
        return selection, [d for d, ok in zip(chosen, started, strict=True) if ok]

    async def _start(
        self, deployment: DeploymentObject, cluster: ClusterObject, moment: datetime
    ) -> bool:
        window = cluster.spec.scheduling.run_duration
        seconds = deployment.spec.duration_seconds or self._random.randint(
            window.min_seconds, window.max_seconds
        )
        expires = moment + timedelta(seconds=seconds)
        run = RunId(deployment.namespace, deployment.name, deployment.uid)
        with self._ender.starting(run):
            return await self._take(deployment, run, moment, expires) and self._started(
                deployment, cluster, expires
            )

    async def _take(
        self, deployment: DeploymentObject, run: RunId, moment: datetime, expires: datetime
    ) -> bool:
        """Lease, then conditional Running status; False (and no lease) if either is refused."""
        # The key expires at the deadline itself, however long the pass took to get here.
        ttl_ms = max(_ms(expires) - now_ms(), 1)
        if not await self._leases.start(run, ttl_ms, _ms(expires)):
            # Already leased: either our view is behind (it runs) or a start's status write
            # failed after its lease was taken. Ask the API server which.
            fresh = await self._kube.get_deployment(deployment.namespace, deployment.name)
            if fresh is not None and fresh.uid == run.uid and fresh.phase == Phase.RUNNING:
                self._store.put(fresh)
            else:
                await self._leases.forget(run)
            return False
        patch = statuses.running(
            moment,
            deployment.status.queued_at or moment,
            expires,
            deployment.spec.resources,
            deployment.generation,
        )
        try:
            written = await self._write(deployment, patch)
        except BaseException:
            await self._leases.forget(run)  # a Running status without lease is repaired later
            raise
        if not written:
            await self._leases.forget(run)
        return written

    def _started(
        self, deployment: DeploymentObject, cluster: ClusterObject, expires: datetime
    ) -> bool:
        metrics.admissions.labels(namespace=cluster.namespace, cluster=cluster.name).inc()
        self._announce(deployment.reference(), "Started", f"running until {format_time(expires)}")
        return True

    async def _queue(
        self, ref: ClusterRef, waiting: list[DeploymentObject], moment: datetime
    ) -> float | None:
        """Mark newcomers Queued and keep positions current, rewriting long queues rarely.

        Every admission shifts everyone behind it: rewriting a long queue on every pass would
        cost more API writes than the admissions themselves (quadratic in the queue's length).
        Short queues stay exact; longer ones are refreshed every `position_refresh` seconds,
        and the Redis queue index always holds the live order.
        """
        clock = time.monotonic()
        last = self._positions_refreshed.get(ref, -math.inf)
        due = len(waiting) <= EXACT_POSITIONS or clock - last >= self._config.position_refresh
        writes, stale = [], False
        for position, deployment in enumerate(waiting, start=1):
            fresh = deployment.phase != Phase.QUEUED
            if fresh or (deployment.status.queue_position != position and due):
                queued_at = deployment.status.queued_at or moment
                writes.append(
                    (
                        deployment,
                        statuses.queued(moment, queued_at, position, deployment.generation),
                    )
                )
            stale |= deployment.status.queue_position != position
        if stale and due:
            self._positions_refreshed[ref] = clock
        await asyncio.gather(*(self._write(d, patch) for d, patch in writes))
        await self._leases.set_queue(ref, {d.name: p for p, d in enumerate(waiting, start=1)})
        if stale and not due:
            return last + self._config.position_refresh - clock
        return None

    async def _report(
        self,
        cluster: ClusterObject,
        current: planning.Plan,
        admitted: list[DeploymentObject],
        waiting: list[DeploymentObject],
        selection: Selection | None,
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
        }
        if selection is not None:
            status["lastDecision"] = {
                "at": format_time(moment),
                "requestedStrategy": cluster.spec.scheduling.strategy.value,
                "strategy": selection.strategy.value,
                "candidates": len(current.queue),
                "selected": list(selection.selected),
                "durationMs": round(selection.duration_ms, 3),
                "provenOptimal": selection.proven_optimal,
                "gap": selection.gap,
                "objective": selection.objective.to_dict(),
            }
        labels = {"namespace": cluster.namespace, "cluster": cluster.name}
        metrics.queue_depth.labels(**labels).set(len(waiting))
        metrics.running.labels(**labels).set(status["running"])
        for resource, amount in capacity.as_dict().items():
            metrics.capacity.labels(**labels, resource=resource).set(amount)
            metrics.allocated.labels(**labels, resource=resource).set(allocated.as_dict()[resource])
        if self._reported.get(ref) != status:
            await self._kube.patch_cluster_status(ref, status)
            self._reported[ref] = status
