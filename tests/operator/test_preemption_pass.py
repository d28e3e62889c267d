"""Preemption inside the scheduling pass, with the in-memory fakes: order of writes and crashes.

Every status write is checked against the cluster's capacity, so a single instant of
over-commit fails the test, whether the pass runs through, loses a race or dies half-way.
"""

import asyncio
from typing import Any, cast

import pytest

from simplismart.operator.kube import KubeApi
from simplismart.operator.leases import RunId
from simplismart.operator.objects import DeploymentObject
from simplismart.operator.reconciler import EXACT_POSITIONS
from simplismart.operator.store import DeploymentStore
from tests.operator.test_reconciler import (
    POOL,
    Clock,
    FakeKube,
    _drive,
    _started,
    build,
    phase,
    settled,
)

pytestmark = pytest.mark.unit


class WatchedKube(FakeKube):
    """Checks capacity after every write; can die before, or refuse, a chosen write."""

    def __init__(self, clock: Clock) -> None:
        super().__init__(clock)
        self.die_before: tuple[str, str] | None = None
        self.refuse: tuple[str, str] | None = None

    async def patch_deployment_status(
        self, deployment: DeploymentObject, status: dict[str, Any]
    ) -> DeploymentObject | None:
        write = (deployment.name, status["phase"])
        if write == self.die_before:
            raise RuntimeError("the operator died")
        if write == self.refuse:
            self.refuse = None
            self.deployments[deployment.name]["metadata"]["resourceVersion"] += "-changed"
            return None
        written = await super().patch_deployment_status(deployment, status)
        held = sum(
            b["status"]["allocated"]["cpu"]
            for b in self.deployments.values()
            if b["status"].get("phase") == "Running"
        )
        assert held <= self.cluster["spec"]["resources"]["cpu"], f"over-committed after {write}"
        return written


def _full_cluster(policy: str) -> tuple[Any, WatchedKube, Any]:
    """A 4-CPU cluster running two 2-CPU LOW runs of 60 s, started 10 s apart."""
    clock = Clock()
    reconciler, _, leases = build(clock)
    kube = WatchedKube(clock)
    reconciler._kube = cast(KubeApi, kube)  # the wiring of `build`, with the watching fake
    kube.cluster["spec"]["scheduling"] = {"preemption": policy}
    kube.add("old", cpu=2, duration=60)
    asyncio.run(settled(reconciler))
    clock.advance(10)
    kube.add("new", cpu=2, duration=60)
    reconciler._store.invalidate(POOL)  # what the watch would do
    asyncio.run(settled(reconciler))
    kube.add("urgent", cpu=2, duration=5)
    kube.deployments["urgent"]["spec"]["priority"] = 1
    reconciler._store.invalidate(POOL)
    return reconciler, kube, leases


def test_the_run_that_used_least_is_evicted_and_requeued_before_the_high_one_starts() -> None:
    reconciler, kube, leases = _full_cluster("LowerPriority")
    asyncio.run(settled(reconciler))
    assert (phase(kube, "old"), phase(kube, "new"), phase(kube, "urgent")) == (
        "Running",
        "Queued",
        "Running",
    )
    assert kube.writes.index(("new", "Queued")) < kube.writes.index(("urgent", "Running"))
    assert kube.deployments["new"]["status"]["preemptions"] == 1
    assert RunId("ns", "pool", "new", "new-uid") not in leases.held
    assert kube.cluster["status"]["lastPreemption"]["victims"] == ["new"]


def test_a_never_cluster_lets_the_high_one_wait() -> None:
    reconciler, kube, _ = _full_cluster("Never")
    asyncio.run(settled(reconciler))
    assert (phase(kube, "old"), phase(kube, "new"), phase(kube, "urgent")) == (
        "Running",
        "Running",
        "Queued",
    )


def test_an_operator_dying_between_eviction_and_admission_over_commits_nothing() -> None:
    reconciler, kube, leases = _full_cluster("LowerPriority")
    kube.die_before = ("urgent", "Running")
    with pytest.raises(RuntimeError, match="died"):
        asyncio.run(settled(reconciler))
    assert (phase(kube, "new"), phase(kube, "urgent")) == ("Queued", None)
    kube.die_before = None

    successor, _, _ = build(reconciler._clock)  # a new process: nothing in memory
    successor._kube, successor._leases = cast(KubeApi, kube), leases
    asyncio.run(successor(POOL))
    assert (phase(kube, "old"), phase(kube, "new"), phase(kube, "urgent")) == (
        "Running",
        "Queued",
        "Running",
    )
    assert kube.deployments["new"]["status"]["preemptions"] == 1, "evicted once, not twice"


def test_a_victim_that_changed_meanwhile_holds_the_high_one_back_until_decided_again() -> None:
    reconciler, kube, _ = _full_cluster("LowerPriority")
    kube.refuse = ("new", "Queued")
    assert asyncio.run(settled(reconciler)) == 0.0, "decided again at once"
    assert (phase(kube, "new"), phase(kube, "urgent")) == ("Running", "Queued")
    asyncio.run(settled(reconciler))
    assert (phase(kube, "new"), phase(kube, "urgent")) == ("Queued", "Running")


def _watched(policy: str) -> tuple[Clock, Any, WatchedKube, DeploymentStore]:
    """An 8-CPU cluster with reservations (the default one), watched for over-commit."""
    clock, store = Clock(), DeploymentStore()
    reconciler, _, _ = build(clock, store)
    kube = WatchedKube(clock)
    reconciler._kube = cast(KubeApi, kube)
    kube.cluster["spec"]["resources"] = {"cpu": 8, "ram": 64, "gpu": 0}
    kube.cluster["spec"]["scheduling"] = {"preemption": policy}
    return clock, reconciler, kube, store


def _preempted(kube: FakeKube) -> list[str]:
    return sorted(n for n, b in kube.deployments.items() if b["status"].get("preemptions"))


def test_a_high_deployment_larger_than_any_free_slot_starts_at_once_by_evicting() -> None:
    clock, reconciler, kube, store = _watched("LowerPriority")
    arrivals = [(0.0, f"low-{n}", 2, 60, 0) for n in range(3)]  # 2 CPU stay free
    arrivals.append((1.0, "urgent", 6, 5, 1))
    _drive(clock, reconciler, kube, store, arrivals, until=1.0)
    assert _started(kube, "urgent") == pytest.approx(1.0)
    assert len(_preempted(kube)) == 2, "two LOW runs make room, not three"


def _behind_a_high_run(policy: str) -> tuple[Any, WatchedKube, dict[str, Any]]:
    """A HIGH run of 4 CPU for 3 s and two LOW runs of 2 CPU for 60 s; at 0.5 s a 6-CPU HIGH
    arrives, which evicting both LOW runs would not place before the HIGH run ends."""
    clock, reconciler, kube, store = _watched(policy)
    arrivals = [(0.0, "high-run", 4, 3, 1), (0.0, "low-0", 2, 60, 0), (0.0, "low-1", 2, 60, 0)]
    arrivals.append((0.5, "urgent", 6, 5, 1))
    shown = _drive(clock, reconciler, kube, store, arrivals, until=70.0)
    return reconciler, kube, shown


def test_the_eta_of_a_high_deployment_counts_on_evicting_and_is_kept() -> None:
    reconciler, kube, shown = _behind_a_high_run("LowerPriority")
    assert {eta for _, eta, _ in shown["urgent"]} == {"2026-01-01T12:00:03.000Z"}
    assert shown["urgent"][0][2] == (
        "reserved: starts when high-run finishes, evicting LOW runs (~12:00:03)"
    )
    assert _started(kube, "urgent") == pytest.approx(3.0, abs=0.01)
    assert len(_preempted(kube)) == 1, "the HIGH run's 4 CPU and one LOW run's 2 make room"
    assert all(phase(kube, name) == "Succeeded" for name in kube.deployments)
    (warning,) = reconciler._events.warnings  # once, though several passes saw it short
    assert warning == (
        "urgent",
        "PreemptionImpossible",
        "cannot start even by evicting every preemptible LOW run: needs cpu 6, at most cpu 4 "
        "could be free; it waits for runs that cannot be evicted (HIGH ones, LOW ones "
        "preempted maxPreemptions times) to end",
    )


def test_on_a_never_cluster_the_same_deployment_waits_for_every_run() -> None:
    reconciler, kube, shown = _behind_a_high_run("Never")
    assert {eta for _, eta, _ in shown["urgent"]} == {"2026-01-01T12:01:00.000Z"}
    assert _started(kube, "urgent") == pytest.approx(60.0, abs=0.01)
    assert _preempted(kube) == []
    assert reconciler._events.warnings == []


def test_a_high_deployment_whose_eviction_lost_a_race_is_due_now() -> None:
    reconciler, kube, _ = _full_cluster("LowerPriority")
    kube.refuse = ("new", "Queued")
    asyncio.run(settled(reconciler))
    status = kube.deployments["urgent"]["status"]
    assert status["phase"] == "Queued"
    assert status["estimatedStartAt"] == "2026-01-01T12:00:10.000Z"  # the pass's moment
    assert status["message"] == "reserved: starts by evicting LOW runs (~12:00:10)"


def test_in_a_long_queue_an_evicted_run_is_placed_at_once_and_takes_the_reservation() -> None:
    """Past EXACT_POSITIONS a queue is rewritten every `position_refresh` seconds, but an
    evicted run joins it like a newcomer, and losing the reservation one shows is news: both
    are written after the evicting pass (they were 30 s later: the victim with no position or
    ETA, and the deployment behind it still reading "reserved")."""
    clock = Clock()
    reconciler, kube, _ = build(clock)
    kube.cluster["spec"]["resources"] = {"cpu": 4, "ram": 64, "gpu": 0}
    kube.cluster["spec"]["scheduling"] = {"preemption": "LowerPriority"}
    kube.add("old", cpu=2, duration=60)
    kube.add("new", cpu=2, duration=60)
    asyncio.run(settled(reconciler))
    clock.advance(1)
    waiters = [f"w{n:02d}" for n in range(EXACT_POSITIONS + 5)]
    for name in waiters:
        kube.add(name, cpu=2, duration=5)
    reconciler._store.invalidate(POOL)
    asyncio.run(settled(reconciler))
    assert kube.deployments["w00"]["status"]["reason"] == "Reserved"
    clock.advance(1)
    kube.add("urgent", cpu=2, duration=5)
    kube.deployments["urgent"]["spec"]["priority"] = 1
    reconciler._store.invalidate(POOL)
    asyncio.run(settled(reconciler))
    assert phase(kube, "urgent") == "Running"
    (victim,) = [n for n in ("old", "new") if phase(kube, n) == "Queued"]
    evicted = kube.deployments[victim]["status"]
    # It waited longest (queuedAt kept): first in the queue, and the reservation is its own.
    assert (evicted["queuePosition"], evicted["reason"]) == (1, "Reserved")
    assert evicted["estimatedStartAt"]
    assert evicted["message"].startswith("reserved: starts when")
    behind = kube.deployments["w00"]["status"]
    assert (behind["queuePosition"], behind["reason"]) == (2, "WaitingForCapacity")
    # The rest of the long queue waits for its refresh: one position off for now.
    assert kube.deployments["w01"]["status"]["queuePosition"] == 2
