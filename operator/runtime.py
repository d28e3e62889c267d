"""Everything the operator runs besides kopf's handlers, built once at start-up."""

import asyncio
import logging
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

logger = logging.getLogger(__name__)


@dataclass
class Runtime:
    config: OperatorConfig
    redis: Redis
    kube: KubeApi
    leases: Leases
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
        passes: PassCoordinator
        ender = RunEnder(kube, leases, lambda ref: passes.request(ref), announce)
        passes = PassCoordinator(SchedulingPass(kube, leases, ender, config, announce))
        watcher = ExpiryWatcher(redis, leases, ender, config.poll_interval)
        return cls(config, redis, kube, leases, passes, watcher, events)

    def start(self) -> None:
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
                self.passes.request(ref)

    async def cancel(self, run: RunId, cluster: ClusterRef) -> None:
        """A deleted deployment: free its lease at once and let its cluster start more."""
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
