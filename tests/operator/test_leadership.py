"""Leader election against the real API server: the Lease is held only while the work runs."""

import asyncio
import time
from collections.abc import Callable, Coroutine
from typing import Any

import pytest
from harness.kube import Namespace
from kubernetes import client

from simplismart.operator.leadership import Leadership

pytestmark = pytest.mark.integration


async def _broken_work() -> None:
    await asyncio.sleep(0.2)
    raise RuntimeError("the work broke")


async def _finished_work() -> None:
    await asyncio.sleep(0.2)


@pytest.mark.parametrize(
    ("lead", "error"),
    [(_broken_work, "the work broke"), (_finished_work, "the scheduling loop ended while leading")],
)
def test_a_leader_whose_work_ends_stops_instead_of_renewing_for_ever(
    kube: client.ApiClient,
    namespace: Namespace,
    lead: Callable[[], Coroutine[Any, Any, None]],
    error: str,
) -> None:
    """It went on renewing: a replica that held the Lease and did nothing, which no other
    replica could replace."""
    leadership = Leadership(kube, namespace.name, "leader", "replica-1", lease_seconds=3)

    async def leading() -> None:
        await asyncio.wait_for(leadership.run(lead), timeout=15)

    with pytest.raises(RuntimeError, match=error):
        asyncio.run(leading())


@pytest.mark.unit
def test_a_leader_stops_within_its_lease_of_the_last_renewal_it_sent() -> None:
    """The API server may record a renewal at any moment between its sending and its answer,
    and the others time the Lease out from when they see it change, by the whole seconds it
    records. With 3.5 s asked, the Lease said 3 while the leader timed itself by 3.5, and went
    on 3.2 s after a renewal answered in 0.4 s: another could lead meanwhile."""
    leadership = Leadership(client.ApiClient(), "ns", "leader", "replica-1", lease_seconds=3.5)
    moments: dict[str, float] = {}
    renewals = 0

    async def try_lease(acquiring: bool) -> bool:
        nonlocal renewals
        if acquiring and "taken" not in moments:
            moments["taken"] = time.monotonic()
            return True
        if not acquiring and renewals == 0:
            renewals += 1
            moments["renewal sent"] = time.monotonic()
            await asyncio.sleep(0.4)  # answered late: recorded any time in between
            return True
        await asyncio.sleep(3600)  # the API server answers no more
        return False

    stopped = asyncio.Event()

    async def work() -> None:
        try:
            await asyncio.sleep(3600)
        finally:
            moments["stopped"] = time.monotonic()
            stopped.set()

    async def scenario() -> None:
        leadership._try = try_lease  # type: ignore[method-assign]
        leading = asyncio.create_task(leadership.run(work))
        await stopped.wait()
        leading.cancel()
        await asyncio.gather(leading, return_exceptions=True)

    asyncio.run(scenario())
    # It stops at its renew deadline (2 s); another may lead 3 s after the renewal.
    assert moments["stopped"] - moments["renewal sent"] < 3
