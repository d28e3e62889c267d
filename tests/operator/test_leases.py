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


def test_an_expired_lease_wakes_its_cluster_and_nothing_else_does(redis_url: str) -> None:
    """Only this database's leases wake passes (another installation may share the server in
    another database), and a key that is not UTF-8 ends nothing."""

    async def scenario() -> tuple[ClusterRef, ClusterRef, list[ClusterRef], bool]:
        redis = Redis.from_url(redis_url)
        where = redis.connection_pool.connection_kwargs
        database = int(where.get("db", 0))
        neighbour = Redis(host=where["host"], port=where["port"], db=database + 1)
        leases, run, elsewhere = RunLeases(redis), run_id(), run_id()
        woken: list[ClusterRef] = []
        channel = f"__keyevent@{database}__:expired"
        listener = asyncio.create_task(leases.listen(woken.append))
        # Subscribed before the lease exists, or its expiry could pass unheard.
        for _ in range(200):
            if dict(await redis.pubsub_numsub(channel)).get(channel.encode(), 0) > 0:
                break
            await asyncio.sleep(0.05)
        await redis.set(b"\xff\xfenot-utf-8", "1", px=50)
        await RunLeases(neighbour).take(elsewhere, 50)
        await asyncio.sleep(0.3)
        await leases.take(run, 100)
        for _ in range(200):
            if run.cluster_ref in woken:
                break
            await asyncio.sleep(0.05)
        alive = not listener.done()
        listener.cancel()
        await asyncio.gather(listener, return_exceptions=True)
        await redis.aclose()
        await neighbour.aclose()
        return run.cluster_ref, elsewhere.cluster_ref, woken, alive

    cluster, elsewhere, woken, alive = asyncio.run(scenario())
    assert alive, "the listener outlived a key that is not UTF-8"
    assert cluster in woken
    assert elsewhere not in woken, "another database's lease is another installation's"


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
