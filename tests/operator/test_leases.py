"""Run leases against a real Redis: one start, one claim, rebuilt after loss, exclusive passes."""

import asyncio
import uuid

import pytest
from redis.asyncio import Redis

from simplismart.operator.leases import DEADLINES, Leases, RunId
from simplismart.operator.objects import ClusterRef

pytestmark = pytest.mark.integration


def run_id() -> RunId:
    return RunId("ns", f"d-{uuid.uuid4().hex[:6]}", uuid.uuid4().hex)


def test_a_run_starts_once_and_is_claimed_once(redis_url: str) -> None:
    async def scenario() -> tuple[list[bool], list[bool], int]:
        redis = Redis.from_url(redis_url)
        leases, run = Leases(redis), run_id()
        starts = await asyncio.gather(*(leases.start(run, 60_000, 1) for _ in range(10)))
        claims = await asyncio.gather(*(leases.claim(run) for _ in range(10)))
        ttl = await redis.pttl(run.lease_key)
        await leases.forget(run)
        await redis.aclose()
        return starts, claims, ttl

    starts, claims, ttl = asyncio.run(scenario())
    assert starts.count(True) == 1
    assert claims.count(True) == 1
    assert 0 < ttl <= 60_000


def test_repair_restores_a_lost_deadline_with_the_remaining_time(redis_url: str) -> None:
    async def scenario() -> tuple[bool, bool, float | None, int]:
        redis = Redis.from_url(redis_url)
        leases, run = Leases(redis), run_id()
        lost = await leases.repair(run, deadline_ms=10_000, now_ms=4_000)
        again = await leases.repair(run, deadline_ms=10_000, now_ms=4_000)
        score = await redis.zscore(DEADLINES, run.member)
        ttl = await redis.pttl(run.lease_key)
        await leases.forget(run)
        await redis.aclose()
        return lost, again, score, ttl

    lost, again, score, ttl = asyncio.run(scenario())
    assert (lost, again) == (True, False)
    assert score == 10_000
    assert 5_000 < ttl <= 6_000


def test_pass_lock_excludes_a_second_holder(redis_url: str) -> None:
    async def scenario() -> list[str]:
        redis = Redis.from_url(redis_url)
        first, second = Leases(redis), Leases(redis)
        ref = ClusterRef("ns", f"c-{uuid.uuid4().hex[:6]}")
        order: list[str] = []

        async def hold(leases: Leases, name: str) -> None:
            async with leases.pass_lock(ref):
                order.append(f"{name} in")
                await asyncio.sleep(0.1)
                order.append(f"{name} out")

        await asyncio.gather(hold(first, "a"), hold(second, "b"))
        await redis.aclose()
        return order

    order = asyncio.run(scenario())
    assert order in (["a in", "a out", "b in", "b out"], ["b in", "b out", "a in", "a out"])
