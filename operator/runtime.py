"""Everything the operator runs besides kopf's handlers, built once at start-up."""

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from redis.asyncio import Redis

from simplismart.operator.config import OperatorConfig
from simplismart.operator.coordinator import PassCoordinator
from simplismart.operator.events import EventRecorder
from simplismart.operator.kube import KubeApi, load_api_client
from simplismart.operator.leases import Leases, RunId
from simplismart.operator.objects import ClusterRef
from simplismart.operator.passes import SchedulingPass
from simplismart.operator.runs import ExpiryWatcher, RunEnder
from simplismart.operator.store import DeploymentStore

logger = logging.getLogger(__name__)

THREADS = 32


@dataclass
class Runtime:
    config: OperatorConfig
    redis: Redis
    kube: KubeApi
    leases: Leases
    store: DeploymentStore
    passes: PassCoordinator
    watcher: ExpiryWatcher
    events: EventRecorder
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    @classmethod
    def build(cls, config: OperatorConfig) -> "Runtime":
        redis = Redis.from_url(config.redis_url, health_check_interval=10)
        api_client = load_api_client()
        kube = KubeApi(api_client)
        events = EventRecorder(api_client)
        announce = events.announce
        leases = Leases(redis)
        store = DeploymentStore()
        passes: PassCoordinator
        ender = RunEnder(kube, leases, store, lambda ref: passes.request(ref), announce)
        passes = PassCoordinator(SchedulingPass(kube, leases, ender, store, config, announce))
        watcher = ExpiryWatcher(redis, leases, ender, config.poll_interval)
        return cls(config, redis, kube, leases, store, passes, watcher, events)

    def start(self) -> None:
        # Kubernetes calls and the solver run in threads; the default pool (cores + 4) would
        # queue one pass's parallel writes behind another's.
        asyncio.get_running_loop().set_default_executor(ThreadPoolExecutor(THREADS))
        self.tasks = [
            asyncio.create_task(self.watcher.listen(), name="expiry events"),
            asyncio.create_task(self.watcher.poll(), name="deadline poller"),
            asyncio.create_task(self._resync(), name="resync"),
            asyncio.create_task(self.events.run(), name="events"),
        ]

    async def _resync(self) -> None:
        """The slow safety net: a pass over every known cluster, however quiet it has been."""
        while True:
            await asyncio.sleep(self.config.resync_interval)
            for ref in self.passes.known():
                self.store.invalidate(ref)
                self.passes.request(ref)

    async def cancel(self, run: RunId, cluster: ClusterRef) -> None:
        """A deleted deployment: free its lease at once and let its cluster start more."""
        self.store.forget(run.uid)
        try:
            await self.leases.forget(run)
        finally:
            self.passes.request(cluster)

    async def close(self) -> None:
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        await self.passes.close()
        await self.watcher.drain()
        await self.redis.aclose()
