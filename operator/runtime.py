"""Everything the operator runs besides kopf's handlers, built once at start-up.

Every replica keeps its store and deletion schedule warm from the watch; only the leader (or a
standalone replica) runs passes, the lease-expiry listener, the resync and the reaper.
"""

import asyncio
import logging
import os
import secrets
import socket
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import kopf
from redis.asyncio import Redis

from simplismart.crds import now
from simplismart.operator.config import OperatorConfig
from simplismart.operator.coordinator import PassCoordinator
from simplismart.operator.events import EventRecorder
from simplismart.operator.kube import KubeApi, load_api_client
from simplismart.operator.leadership import Leadership
from simplismart.operator.leases import RunId, RunLeases, connect
from simplismart.operator.objects import ClusterRef
from simplismart.operator.outages import REQUEST_TIMEOUT, log_failure
from simplismart.operator.reaper import Reaper
from simplismart.operator.reconciler import Reconciler
from simplismart.operator.store import DeploymentStore

logger = logging.getLogger(__name__)

#: Worker threads: status writes (reconciler.WRITE_CONCURRENCY and REFRESH_CONCURRENCY), reads, the
#: solver and forecasts.
THREADS = 128


@dataclass
class Runtime:
    config: OperatorConfig
    redis: Redis
    kube: KubeApi
    leases: RunLeases
    store: DeploymentStore
    reconciler: Reconciler
    passes: PassCoordinator
    reaper: Reaper
    events: EventRecorder
    leadership: Leadership | None
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    @classmethod
    def build(cls, config: OperatorConfig) -> "Runtime":
        redis = connect(config.redis_url)
        api_client = load_api_client()
        kube = KubeApi(api_client)
        events = EventRecorder(api_client)
        leases = RunLeases(redis)
        store = DeploymentStore()
        reconciler = Reconciler(kube, leases, store, events, config, now)
        passes = PassCoordinator(reconciler)
        identity = f"{os.environ.get('HOSTNAME') or socket.gethostname()}-{secrets.token_hex(4)}"
        leadership = None
        if not config.standalone:
            leadership = Leadership(
                api_client, config.lease_namespace, config.lease_name, identity,
                lease_seconds=config.lease_seconds,
            )  # fmt: skip
        return cls(
            config, redis, kube, leases, store, reconciler, passes, Reaper(kube, now), events,
            leadership,
        )  # fmt: skip

    def start(self, stop: asyncio.Event) -> None:
        """Start the scheduling and event loops; ``stop`` is set if either ever ends."""
        # Kubernetes calls and the solver run in threads; the default pool (cores + 4) would
        # queue one pass's parallel writes behind another's.
        asyncio.get_running_loop().set_default_executor(ThreadPoolExecutor(THREADS))
        main = self._lead() if self.leadership is None else self.leadership.run(self._lead)
        self.tasks = [
            asyncio.create_task(main, name="scheduling"),
            asyncio.create_task(self.events.run(), name="events"),
        ]
        for task in self.tasks:
            task.add_done_callback(lambda ended: stop_on_end(ended, stop))

    async def _lead(self) -> None:
        """What the leader does, until it stops leading (cancelled)."""
        self.store.invalidate_all()  # the previous leader wrote what our watch may not show yet
        self.passes.open()
        try:
            await asyncio.gather(
                self.leases.listen(self.passes.request),
                self.reaper.run(),
                self._resync(),
            )
        finally:
            await self.passes.close()
            await self.reconciler.close()

    async def _resync(self) -> None:
        """A pass over every cluster now, then on a slow timer: the safety net.

        Every cluster, and every one a deployment names: one that does not exist is where its
        deployments are held Pending, and a wake-up for it lost while this replica did not lead
        (requests are dropped then) has no other way back.
        """
        while True:
            try:
                clusters = await self.kube.list_clusters(self.config.namespaces)
            except Exception as error:
                log_failure(logger, error, "could not list clusters (retrying at the next resync)")
                clusters = []
            for ref in {*clusters, *self.passes.active(), *self.store.clusters()}:
                self.store.invalidate(ref)
                self.passes.request(ref)
            await asyncio.sleep(self.config.resync_interval)

    async def cancel(self, run: RunId) -> None:
        """A deleted deployment: free its lease at once and let its cluster start more."""
        try:
            await self.leases.release(run)
        finally:
            self.passes.request(run.cluster_ref)

    def wake(self, ref: ClusterRef) -> None:
        self.passes.request(ref)

    async def close(self) -> None:
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        if not await self.kube.writes_answered(REQUEST_TIMEOUT[1]):
            logger.warning("stopping with status writes still unanswered")
        if self.leadership is not None:
            try:
                await self.leadership.release()
            except Exception:  # shutting down: the Lease then expires on its own
                logger.warning("could not release the leadership Lease", exc_info=True)
        await self.redis.aclose()


def stop_on_end(task: asyncio.Task[None], stop: asyncio.Event) -> None:
    """A loop meant to run for the process's life has ended: stop the operator.

    Alive without its scheduling loop, the process would keep its watches and its liveness
    endpoint and never start a deployment again; stopped, it is restarted by whatever runs it
    (a Deployment, compose), which rebuilds everything from the API server.
    """
    if task.cancelled():
        return  # shutting down
    error = task.exception()
    logger.critical(
        "the %s loop ended%s; stopping the operator", task.get_name(),
        "" if error is None else f" on {type(error).__name__}: {error}", exc_info=error,
    )  # fmt: skip
    stop.set()


class OperatorMemo(kopf.Memo):
    """What kopf hands every handler: the runtime, and what each live object last asked for."""

    runtime: Runtime
    seen: dict[str, tuple[int, ClusterRef]]
    #: kopf's stop flag: set when the operator must stop after a failure.
    stop: asyncio.Event
