"""Pass requests coalesce per cluster, and a failed pass is retried, never dropped."""

import asyncio

import pytest

from simplismart.operator.coordinator import PassCoordinator
from simplismart.operator.objects import ClusterRef

pytestmark = pytest.mark.unit

A, B = ClusterRef("ns", "a"), ClusterRef("ns", "b")


def test_requests_during_a_pass_coalesce_into_one_more_pass() -> None:
    calls: list[ClusterRef] = []
    gate = asyncio.Event()

    async def run_pass(ref: ClusterRef) -> None:
        calls.append(ref)
        await gate.wait()

    async def scenario() -> None:
        coordinator = PassCoordinator(run_pass)
        coordinator.open()
        coordinator.request(A)
        await asyncio.sleep(0)
        for _ in range(50):
            coordinator.request(A)
        coordinator.request(B)
        gate.set()
        await coordinator.idle()
        await coordinator.close()

    asyncio.run(scenario())
    assert calls.count(A) == 2
    assert calls.count(B) == 1


def test_one_cluster_never_has_two_passes_at_once() -> None:
    running = 0
    peak = 0

    async def run_pass(ref: ClusterRef) -> None:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await asyncio.sleep(0.01)
        running -= 1

    async def scenario() -> None:
        coordinator = PassCoordinator(run_pass)
        coordinator.open()
        for _ in range(20):
            coordinator.request(A)
            await asyncio.sleep(0.003)
        await coordinator.idle()
        await coordinator.close()

    asyncio.run(scenario())
    assert peak == 1


def test_a_failed_pass_is_retried() -> None:
    attempts = 0

    async def run_pass(ref: ClusterRef) -> None:
        nonlocal attempts
        attempts += 1
        if attempts == 1:
            raise RuntimeError("API server unreachable")

    async def scenario() -> None:
        coordinator = PassCoordinator(run_pass)
        coordinator.open()
        coordinator.request(A)
        await asyncio.sleep(1.5)  # first back-off is one second
        await coordinator.idle()
        await coordinator.close()

    asyncio.run(scenario())
    assert attempts == 2


def test_a_pass_asking_to_run_again_later_is_run_again() -> None:
    times: list[float] = []

    async def run_pass(ref: ClusterRef) -> float | None:
        times.append(asyncio.get_running_loop().time())
        return 0.2 if len(times) == 1 else None

    async def scenario() -> None:
        coordinator = PassCoordinator(run_pass)
        coordinator.open()
        coordinator.request(A)
        await asyncio.sleep(0.5)
        await coordinator.close()

    asyncio.run(scenario())
    assert len(times) == 2
    assert times[1] - times[0] >= 0.2


def test_a_closed_coordinator_runs_nothing_and_forgets_settled_clusters() -> None:
    calls: list[ClusterRef] = []

    async def run_pass(ref: ClusterRef) -> None:
        calls.append(ref)

    async def scenario() -> list[ClusterRef]:
        coordinator = PassCoordinator(run_pass)
        coordinator.request(A)  # not leading yet: ignored
        await asyncio.sleep(0.01)
        coordinator.open()
        coordinator.request(B)
        await coordinator.idle()
        active = coordinator.active()
        await coordinator.close()
        coordinator.request(B)  # leadership lost: ignored again
        await asyncio.sleep(0.01)
        return active

    active = asyncio.run(scenario())
    assert calls == [B]
    assert active == [], "a settled cluster keeps no slot (a deleted one leaves nothing behind)"
