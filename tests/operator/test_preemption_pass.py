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
from tests.operator.test_reconciler import POOL, Clock, FakeKube, build, phase

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
    asyncio.run(reconciler(POOL))
    clock.advance(10)
    kube.add("new", cpu=2, duration=60)
    reconciler._store.invalidate(POOL)  # what the watch would do
    asyncio.run(reconciler(POOL))
    kube.add("urgent", cpu=2, duration=5)
    kube.deployments["urgent"]["spec"]["priority"] = 1
    reconciler._store.invalidate(POOL)
    return reconciler, kube, leases


def test_the_run_that_used_least_is_evicted_and_requeued_before_the_high_one_starts() -> None:
    reconciler, kube, leases = _full_cluster("LowerPriority")
    asyncio.run(reconciler(POOL))
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
    asyncio.run(reconciler(POOL))
    assert (phase(kube, "old"), phase(kube, "new"), phase(kube, "urgent")) == (
        "Running",
        "Running",
        "Queued",
    )


def test_an_operator_dying_between_eviction_and_admission_over_commits_nothing() -> None:
    reconciler, kube, leases = _full_cluster("LowerPriority")
    kube.die_before = ("urgent", "Running")
    with pytest.raises(RuntimeError, match="died"):
        asyncio.run(reconciler(POOL))
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
    assert asyncio.run(reconciler(POOL)) == 0.0, "decided again at once"
    assert (phase(kube, "new"), phase(kube, "urgent")) == ("Running", "Queued")
    asyncio.run(reconciler(POOL))
    assert (phase(kube, "new"), phase(kube, "urgent")) == ("Queued", "Running")
