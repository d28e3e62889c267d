"""Leader election against the real API server: the Lease is held only while the work runs."""

import asyncio
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
