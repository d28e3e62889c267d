"""Run leases, run deadlines, queue index and pass locks in Redis.

Redis holds only what can be rebuilt from Deployment status: a lease key per running deployment
(expiring with the run, so Redis itself announces the end), a sorted set of deadlines (so a
poller finds overdue runs even when the announcement was lost), and a sorted set per cluster
mirroring its queue. Every write that matters is one atomic script, and every read-modify-write
on a run is an atomic claim: whoever removes the deadline owns the transition.
"""

import asyncio
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from redis.asyncio import Redis

from simplismart.operator.objects import ClusterRef

PREFIX = "simplismart"
DEADLINES = f"{PREFIX}:deadlines"
LEASE_PREFIX = f"{PREFIX}:lease:"
#: A pass lock outlives its holder by at most this much when the holder dies.
LOCK_TTL_MS = 5000

# SET NX and ZADD together, or neither: a lease without a deadline would end only by the event.
_START = """
if redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2], 'NX') then
  redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
  return 1
end
return 0
"""
# Rebuild what a Redis restart lost; returns 1 when the deadline was missing.
_REPAIR = """
local added = redis.call('ZADD', KEYS[2], 'NX', ARGV[2], ARGV[1])
if tonumber(ARGV[3]) > 0 then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[3], 'NX')
end
return added
"""
_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""
_UNLOCK = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


@dataclass(frozen=True, slots=True)
class RunId:
    """One run of one deployment. The uid tells a deployment from a namesake created later."""

    namespace: str
    name: str
    uid: str

    @property
    def member(self) -> str:
        return f"{self.namespace}/{self.name}/{self.uid}"

    @property
    def lease_key(self) -> str:
        return LEASE_PREFIX + self.member

    @classmethod
    def parse(cls, member: str) -> "RunId | None":
        parts = member.split("/")
        return cls(*parts) if len(parts) == 3 and all(parts) else None

    @classmethod
    def from_lease_key(cls, key: str) -> "RunId | None":
        return cls.parse(key.removeprefix(LEASE_PREFIX)) if key.startswith(LEASE_PREFIX) else None


class PassLockTimeoutError(RuntimeError):
    """Another operator process held the cluster's pass lock for too long."""


class Leases:
    def __init__(self, redis: Redis) -> None:
        self._redis = redis
        self._start = redis.register_script(_START)
        self._repair = redis.register_script(_REPAIR)
        self._renew = redis.register_script(_RENEW)
        self._unlock = redis.register_script(_UNLOCK)

    async def start(self, run: RunId, ttl_ms: int, deadline_ms: int) -> bool:
        """Write the lease and its deadline; False if the run already has a lease."""
        keys = [run.lease_key, DEADLINES]
        return bool(await self._start(keys=keys, args=[run.member, ttl_ms, deadline_ms]))

    async def repair(self, run: RunId, deadline_ms: int, now_ms: int) -> bool:
        """Re-create a lost lease and deadline; True when the deadline had been lost."""
        keys = [run.lease_key, DEADLINES]
        args: list[str | int] = [run.member, deadline_ms, max(deadline_ms - now_ms, 0)]
        return bool(await self._repair(keys=keys, args=args))

    async def claim(self, run: RunId) -> bool:
        """The atomic claim on a run's end: only one caller ever gets True for one deadline."""
        return bool(await self._redis.zrem(DEADLINES, run.member))

    async def reschedule(self, run: RunId, deadline_ms: int) -> None:
        """Give a claimed run back to the poller, when ending it failed half-way."""
        await self._redis.zadd(DEADLINES, {run.member: deadline_ms})

    async def forget(self, run: RunId) -> None:
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.delete(run.lease_key)
            pipe.zrem(DEADLINES, run.member)
            await pipe.execute()

    async def overdue(self, now_ms: int, limit: int = 500) -> list[RunId]:
        members = await self._redis.zrangebyscore(DEADLINES, "-inf", now_ms, start=0, num=limit)
        decoded = (m.decode() if isinstance(m, bytes) else str(m) for m in members)
        return [run for member in decoded if (run := RunId.parse(member)) is not None]

    async def set_queue(self, cluster: ClusterRef, positions: dict[str, int]) -> None:
        """Mirror the cluster's queue (name → position): ZRANK answers the live position."""
        key = f"{PREFIX}:queue:{cluster}"
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.delete(key)
            if positions:
                pipe.zadd(key, dict(positions))
            await pipe.execute()

    async def take_turn(self, cluster: ClusterRef, writer: str) -> bool:
        """Record ``writer`` as the cluster's last writer; True if another process wrote last.

        Called under the pass lock: a process whose own view may lack another's admissions
        reads the cluster afresh before deciding.
        """
        previous = await self._redis.getset(f"{PREFIX}:writer:{cluster}", writer)
        if isinstance(previous, bytes):
            previous = previous.decode()
        return previous is not None and previous != writer

    @asynccontextmanager
    async def pass_lock(
        self, cluster: ClusterRef, ttl_ms: int = LOCK_TTL_MS, wait_s: float = 30.0
    ) -> AsyncIterator[None]:
        """Mutual exclusion of scheduling passes across operator processes.

        kopf peering keeps one operator active, but a paused one may still be finishing a pass
        and two may briefly both believe they lead: this lock makes that harmless. The TTL is
        short, so a killed holder blocks nobody for long, and renewed while the pass runs.
        """
        key, token = f"{PREFIX}:lock:{cluster}", secrets.token_hex(16)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait_s
        while not await self._redis.set(key, token, px=ttl_ms, nx=True):
            if loop.time() > deadline:
                raise PassLockTimeoutError(
                    f"pass lock of cluster {cluster} still held after {wait_s}s"
                )
            await asyncio.sleep(0.02)
        renewal = asyncio.create_task(self._keep(key, token, ttl_ms))
        try:
            yield
        finally:
            renewal.cancel()
            await self._unlock(keys=[key], args=[token])

    async def _keep(self, key: str, token: str, ttl_ms: int) -> None:
        while True:
            await asyncio.sleep(ttl_ms / 3000)
            await self._renew(keys=[key], args=[token, ttl_ms])
