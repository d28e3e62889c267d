"""Run leases against a real Redis: one start, rebuilt after loss, expiry wakes the cluster."""

import asyncio
import uuid

import pytest
from redis.asyncio import Redis

from simplismart.operator.leases import CONNECTIONS, RunId, RunLeases, connect
from simplismart.operator.objects import ClusterRef

pytestmark = pytest.mark.integration


def run_id() -> RunId:
    return RunId("ns", f"c-{uuid.uuid4().hex[:6]}", f"d-{uuid.uuid4().hex[:6]}", uuid.uuid4().hex)


def test_a_run_is_leased_once(redis_url: str) -> None:
    async def scenario() -> tuple[list[bool], int]:
        redis = Redis.from_url(redis_url)
        leases, run = RunLeases(redis), run_id()
        starts = await asyncio.gather(*(leases.take(run, 60_000) for _ in range(10)))
        ttl = await redis.pttl(run.key)
        await leases.release(run)
        await redis.aclose()
        return starts, ttl

    starts, ttl = asyncio.run(scenario())
    assert starts.count(True) == 1
    assert 0 < ttl <= 60_000


def test_restore_recreates_only_lost_leases_with_the_remaining_time(redis_url: str) -> None:
    async def scenario() -> tuple[int, int]:
        redis = Redis.from_url(redis_url)
        leases, kept, lost = RunLeases(redis), run_id(), run_id()
        await leases.take(kept, 60_000)
        await leases.restore([(kept, 5_000), (lost, 5_000)])
        ttls = await redis.pttl(kept.key), await redis.pttl(lost.key)
        await leases.release(kept)
        await leases.release(lost)
        await redis.aclose()
        return ttls

    kept_ttl, lost_ttl = asyncio.run(scenario())
    assert kept_ttl > 50_000, "a lease that exists keeps its own deadline"
    assert 2_000 < lost_ttl <= 5_000  # its own 5 s, less the time to read it back


def test_an_expired_lease_wakes_its_cluster(redis_url: str) -> None:
    async def scenario() -> tuple[ClusterRef, list[ClusterRef]]:
        redis = Redis.from_url(redis_url)
        leases, run = RunLeases(redis), run_id()
        woken: list[ClusterRef] = []
        before = await redis.pubsub_numpat()
        listener = asyncio.create_task(leases.listen(woken.append))
        # Subscribed before the lease exists, or its expiry could pass unheard.
        for _ in range(200):
            if await redis.pubsub_numpat() > before:
                break
            await asyncio.sleep(0.05)
        await leases.take(run, 100)
        for _ in range(200):
            if run.cluster_ref in woken:
                break
            await asyncio.sleep(0.05)
        listener.cancel()
        await asyncio.gather(listener, return_exceptions=True)
        await redis.aclose()
        return run.cluster_ref, woken

    cluster, woken = asyncio.run(scenario())
    assert cluster in woken


def test_more_concurrent_starts_than_connections_wait_instead_of_failing(redis_url: str) -> None:
    """Found in a full run: a pass over many clusters at start-up failed with "Too many
    connections" from the default pool; the operator's client makes them queue."""

    async def scenario() -> list[bool]:
        redis = connect(redis_url)
        leases, runs = RunLeases(redis), [run_id() for _ in range(CONNECTIONS * 4)]
        taken = await asyncio.gather(*(leases.take(run, 60_000) for run in runs))
        await asyncio.gather(*(leases.release(run) for run in runs))
        await redis.aclose()
        return taken

    assert asyncio.run(scenario()) == [True] * (CONNECTIONS * 4)
