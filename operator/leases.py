"""Run leases in Redis: the clock of every simulated run, and its wake-up when it is over.

A running deployment is a key that expires when its run does (``SET key PX ttl NX``): the NX
makes a second start of the same run impossible, whatever process tries. When the key expires,
Redis announces it (a keyspace event), which wakes that cluster's scheduling pass, the one place
where runs end. Events are fire-and-forget, so they are only the fast path: every pass also asks
to run again at its next deadline. Redis may lose everything: a pass re-creates the leases of
the runs that status says are still going (``restore``).
"""

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass

from redis.asyncio import BlockingConnectionPool, Redis
from redis.exceptions import RedisError, ResponseError

from simplismart.operator.objects import ClusterRef

logger = logging.getLogger(__name__)

LEASE_PREFIX = "simplismart:lease:"
#: Redis connections at most (the expiry listener holds one of them).
CONNECTIONS = 64
#: Seconds to connect to Redis, and to wait for a command's answer.
COMMAND_SECONDS = 10.0


def connect(url: str) -> Redis:
    """A client whose callers wait for a free connection instead of failing: the default pool
    raises "Too many connections" past 100 at once, which a start-up pass over dozens of
    clusters, each starting runs in parallel, reaches.

    A command waits at most `COMMAND_SECONDS` for its answer: on a connection that died
    without a reset it would hold its pass for ever. The expiry listener's blocking read is
    exempt (redis-py waits for published messages without a timeout).
    """
    pool = BlockingConnectionPool.from_url(
        url,
        max_connections=CONNECTIONS,
        timeout=30,
        health_check_interval=10,
        socket_timeout=COMMAND_SECONDS,
        socket_connect_timeout=COMMAND_SECONDS,
    )
    return Redis(connection_pool=pool)


@dataclass(frozen=True, slots=True)
class RunId:
    """One run of one deployment. The uid tells a deployment from a namesake created later;
    the cluster lets an expiry wake the right pass."""

    namespace: str
    cluster: str
    name: str
    uid: str

    @property
    def key(self) -> str:
        return f"{LEASE_PREFIX}{self.namespace}/{self.cluster}/{self.name}/{self.uid}"

    @property
    def cluster_ref(self) -> ClusterRef:
        return ClusterRef(self.namespace, self.cluster)

    @classmethod
    def from_key(cls, key: str) -> "RunId | None":
        if not key.startswith(LEASE_PREFIX):
            return None
        parts = key.removeprefix(LEASE_PREFIX).split("/")
        return cls(*parts) if len(parts) == 4 and all(parts) else None


class RunLeases:
    def __init__(self, redis: Redis) -> None:
        self._redis = redis

    async def take(self, run: RunId, ttl_ms: int) -> bool:
        """Start ``run``'s clock; False if it already has a lease (it runs, or a start failed
        half-way and left one)."""
        return bool(await self._redis.set(run.key, "1", px=max(ttl_ms, 1), nx=True))

    async def release(self, run: RunId) -> None:
        await self._redis.delete(run.key)

    async def restore(self, runs: list[tuple[RunId, int]]) -> None:
        """Re-create the leases Redis lost, each with the run's remaining milliseconds.

        Every pass asks: when none was lost, as almost always, that costs one command.
        """
        if not runs or await self._redis.exists(*(run.key for run, _ in runs)) == len(runs):
            return
        async with self._redis.pipeline(transaction=False) as pipe:
            for run, remaining_ms in runs:
                pipe.set(run.key, "1", px=max(remaining_ms, 1), nx=True)
            await pipe.execute()

    async def listen(self, wake: Callable[[ClusterRef], None]) -> None:
        """Wake the pass of every cluster whose lease expires; reconnect for ever.

        Only this database's expiries: another installation may share the server in another
        one, with clusters of the same names. Its keys are anyone's bytes: one that is not
        UTF-8 must not end the loop.
        """
        database = self._redis.connection_pool.connection_kwargs.get("db", 0)
        while True:
            try:
                await _enable_expiry_events(self._redis)
                async with self._redis.pubsub(ignore_subscribe_messages=True) as pubsub:
                    await pubsub.subscribe(f"__keyevent@{database}__:expired")
                    async for message in pubsub.listen():
                        key = message["data"]
                        text = key.decode(errors="replace") if isinstance(key, bytes) else key
                        run = RunId.from_key(text)
                        if run is not None:
                            wake(run.cluster_ref)
            except (RedisError, OSError) as error:
                logger.warning("expiry events unavailable (%s); reconnecting in 1s", error)
                await asyncio.sleep(1)


async def _enable_expiry_events(redis: Redis) -> None:
    """Turn on expired-key events (flags E and x), keeping whatever else is configured.

    A managed Redis may refuse CONFIG SET: runs then end on each pass's own deadline timer.
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
        logger.warning("cannot enable keyspace notifications (%s): runs end on timers", error)
