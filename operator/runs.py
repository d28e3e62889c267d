"""The end of a run, by whichever path notices first: the expiry event, the poller, a reconcile.

Keyspace events are fire-and-forget (lost while disconnected, late under load, sent to every
subscriber), so they are only the fast path. All paths funnel into ``RunEnder.end``, where the
atomic claim (ZREM of the deadline) picks exactly one winner, and the status write is conditional
on the resourceVersion the winner read: a run ends once, whatever races.
"""

import asyncio
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError, ResponseError

from simplismart.crds import Phase, now
from simplismart.operator import metrics, statuses
from simplismart.operator.kube import KubeApi
from simplismart.operator.leases import Leases, RunId
from simplismart.operator.objects import ClusterRef
from simplismart.operator.store import DeploymentStore

logger = logging.getLogger(__name__)

#: Posts a Kubernetes Event: (object reference, reason, message).
Announce = Callable[[dict[str, Any], str, str], None]

EXPIRED_CHANNEL = "__keyevent@*__:expired"
#: A claimed run whose end could not be written goes back to the poller this much later.
RETRY_MS = 1000
#: A run claimed while its admission is still being written is looked at again this much later.
ADMISSION_RECHECK_MS = 100


def now_ms() -> int:
    return int(time.time() * 1000)


class RunEnder:
    def __init__(
        self,
        kube: KubeApi,
        leases: Leases,
        store: DeploymentStore,
        request_pass: Callable[[ClusterRef], None],
        announce: Announce,
    ) -> None:
        self._kube = kube
        self._leases = leases
        self._store = store
        self._ending: set[str] = set()
        self._starting: set[str] = set()
        self._request_pass = request_pass
        self._announce = announce

    @contextmanager
    def starting(self, run: RunId) -> Iterator[None]:
        """Mark ``run`` as being admitted by this process, from its lease to its Running status.

        If the status write is slow, the deadline may pass before the deployment reads Running:
        an end claimed then must wait for the write instead of taking the run for cancelled.
        """
        self._starting.add(run.member)
        try:
            yield
        finally:
            self._starting.discard(run.member)

    def is_ending(self, run: RunId) -> bool:
        """True while this process is ending ``run``: its deadline is claimed, not lost."""
        return run.member in self._ending

    async def end(self, run: RunId, path: str) -> None:
        """End ``run`` if this caller wins the claim; otherwise someone else is doing it."""
        if not await self._leases.claim(run):
            return
        self._ending.add(run.member)
        try:
            await self._finish(run, path)
        except Exception:
            logger.exception("could not end run %s; the poller retries it", run.member)
            await self._leases.reschedule(run, now_ms() + RETRY_MS)
        finally:
            self._ending.discard(run.member)

    async def _finish(self, run: RunId, path: str) -> None:
        # A Running copy in the store saves a read: if it is stale, the precondition fails and
        # we read. Any other copy is read again, as only the API server may say "not running".
        known = self._store.get(run.uid)
        if known is not None and known.phase != Phase.RUNNING:
            known = None
        while True:
            if run.member in self._starting:
                await self._leases.reschedule(run, now_ms() + ADMISSION_RECHECK_MS)
                return
            deployment = known or await self._kube.get_deployment(run.namespace, run.name)
            known = None
            if deployment is None or deployment.uid != run.uid or deployment.phase != Phase.RUNNING:
                await self._leases.forget(run)  # cancelled, replaced or already ended
                return
            patch = statuses.succeeded(now(), deployment.generation)
            written = await self._kube.patch_deployment_status(deployment, patch)
            if written is not None:
                self._store.put(written)
                break
            # The object changed since the version we had (e.g. a label): read it again.
        await self._leases.forget(run)
        metrics.run_ends.labels(path=path).inc()
        self._announce(deployment.reference(), "Succeeded", f"run ended ({path})")
        self._request_pass(ClusterRef(deployment.namespace, deployment.spec.cluster))


class ExpiryWatcher:
    """The fast path and the safety net: keyspace events, and a poller over the deadline set."""

    def __init__(self, redis: Redis, leases: Leases, ender: RunEnder, poll_interval: float) -> None:
        self._redis = redis
        self._leases = leases
        self._ender = ender
        self._poll_interval = poll_interval
        self._tasks: set[asyncio.Task[None]] = set()

    def _spawn(self, run: RunId, path: str) -> None:
        task = asyncio.create_task(self._ender.end(run, path))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def listen(self) -> None:
        """Subscribe to expired-key events, reconnecting (and re-enabling them) forever."""
        while True:
            try:
                await enable_expiry_events(self._redis)
                async with self._redis.pubsub(ignore_subscribe_messages=True) as pubsub:
                    await pubsub.psubscribe(EXPIRED_CHANNEL)
                    async for message in pubsub.listen():
                        key = message["data"]
                        run = RunId.from_lease_key(key.decode() if isinstance(key, bytes) else key)
                        if run is not None:
                            self._spawn(run, "event")
            except (RedisError, OSError) as error:
                logger.warning("expiry events unavailable (%s); reconnecting in 1s", error)
                await asyncio.sleep(1)

    async def poll(self) -> None:
        """Claim overdue deadlines: ends runs whose event was lost, late or never sent."""
        while True:
            try:
                # Not awaited: one slow end must not hold back the next scan.
                for run in await self._leases.overdue(now_ms()):
                    self._spawn(run, "poller")
            except (RedisError, OSError) as error:
                logger.warning("deadline poll failed: %s", error)
            await asyncio.sleep(self._poll_interval)

    async def drain(self) -> None:
        await asyncio.gather(*self._tasks, return_exceptions=True)


async def enable_expiry_events(redis: Redis) -> None:
    """Turn on expired-key events (flags E and x), keeping whatever else is configured.

    A managed Redis may refuse CONFIG SET: then runs still end, within the poll interval.
    """
    try:
        current = (await redis.config_get("notify-keyspace-events")).get(
            "notify-keyspace-events", ""
        )
        flags = set(current.decode() if isinstance(current, bytes) else str(current))
        if "E" in flags and flags & {"x", "A"}:
            return
        await redis.config_set("notify-keyspace-events", "".join(sorted(flags | {"E", "x"})))
    except ResponseError as error:
        logger.warning(
            "cannot enable keyspace notifications (%s): runs end by the poller only", error
        )
