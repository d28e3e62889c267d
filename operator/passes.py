"""One scheduling pass over one cluster: read, decide, write, report.

free = capacity - what Running deployments hold, computed from a fresh quorum read of the
cluster's deployments every pass (never a counter that can drift). Admissions are written with a
resourceVersion precondition and a Redis lease taken with NX, so a deployment starts at most once
even if two operator processes pass over the same cluster.
"""

import asyncio
import logging
import math
import random
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
        config: OperatorConfig,
        announce: Announce,
    ) -> None:
        self._kube = kube
        self._leases = leases
        self._ender = ender
        self._config = config
        self._announce = announce
        # Run durations and solver seeds: simulation, not security; seedable for demos.
        self._random = random.Random(config.seed)  # noqa: S311
        self._writes = asyncio.Semaphore(WRITE_CONCURRENCY)
        self._positions_refreshed: dict[ClusterRef, float] = {}
        self._reported: dict[ClusterRef, dict[str, Any]] = {}

    async def __call__(self, ref: ClusterRef) -> float | None:
        """Run one pass; returns when to run again (0 = at once), or None when settled."""
        async with self._leases.pass_lock(ref):
            with metrics.pass_seconds.time():
                return await self._run(ref)

    async def _run(self, ref: ClusterRef) -> float | None:
        cluster, deployments = await asyncio.gather(
            self._kube.get_cluster(ref), self._kube.list_deployments(ref)
        )
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
        async with self._writes:
            return await self._kube.patch_deployment_status(deployment, status)

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
        if not await self._leases.start(run, seconds * 1000, _ms(expires)):
            # A lease without a Running status: left by a start whose write failed. Drop it
            # and decide again from a fresh read.
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
            return False
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
