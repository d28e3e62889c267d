"""The scheduling pass with an injected clock: ends, starts, refusals and cancellation, no sleeps.

The Kubernetes API and Redis are replaced by small in-memory fakes that keep the one property the
pass relies on (writes conditional on resourceVersion; leases taken with NX). The real services
are exercised by the lifecycle and fault tests.
"""

import asyncio
import itertools
import time
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import pytest
from prometheus_client import REGISTRY

from simplismart.crds import Phase
from simplismart.operator import reconciler as reconciler_module
from simplismart.operator.config import OperatorConfig
from simplismart.operator.coordinator import PassCoordinator
from simplismart.operator.events import EventRecorder
from simplismart.operator.kube import KubeApi
from simplismart.operator.leases import RunId, RunLeases
from simplismart.operator.objects import ClusterObject, ClusterRef, DeploymentObject
from simplismart.operator.reconciler import REFRESH_CONCURRENCY, Reconciler
from simplismart.operator.store import DeploymentStore

pytestmark = pytest.mark.unit

POOL = ClusterRef("ns", "pool")
T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


class FakeKube:
    """Objects by name, each write bumping a global resourceVersion, refused when stale."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.versions = itertools.count(1)
        self.deployments: dict[str, dict[str, Any]] = {}
        self.cluster: dict[str, Any] = {
            "metadata": {"namespace": "ns", "name": "pool", "uid": "c", "generation": 1},
            "spec": {"resources": {"cpu": 4, "ram": 4, "gpu": 0}},
        }
        self.refuse_running: set[str] = set()
        self.write_seconds = 0.0
        self.writes: list[tuple[str, str]] = []
        self.cluster_writes = 0
        self.gate: asyncio.Event | None = None
        #: The next start is left unanswered (a read timeout) and kept in `unanswered`, for the
        #: test to commit when it likes (`commit_unanswered`), as a slow API server would.
        self.time_out_next_start = False
        self.unanswered: list[tuple[DeploymentObject, dict[str, Any]]] = []

    def add(self, name: str, cpu: int, duration: int, priority: int = 0) -> None:
        self.deployments[name] = {
            "metadata": {
                "namespace": "ns",
                "name": name,
                "uid": f"{name}-uid",
                "resourceVersion": str(next(self.versions)),
            },
            "spec": {
                "cluster": "pool",
                "resources": {"cpu": cpu, "ram": 1, "gpu": 0},
                "image": "i",
                "durationSeconds": duration,
                "priority": priority,
            },
            "status": {},
        }

    async def get_cluster(self, ref: ClusterRef) -> ClusterObject:
        return ClusterObject.from_body(self.cluster)

    async def list_deployments(self, ref: ClusterRef) -> tuple[list[DeploymentObject], str]:
        items = [DeploymentObject.from_body(b) for b in self.deployments.values()]
        return items, str(next(self.versions))

    async def get_deployment(self, namespace: str, name: str) -> DeploymentObject | None:
        body = self.deployments.get(name)
        return None if body is None else DeploymentObject.from_body(body)

    async def patch_deployment_status(
        self, deployment: DeploymentObject, status: dict[str, Any]
    ) -> DeploymentObject | None:
        if self.gate is not None:
            await self.gate.wait()
        if self.time_out_next_start and status.get("phase") == "Running":
            self.time_out_next_start = False
            self.unanswered.append((deployment, status))
            raise TimeoutError("read timed out")
        self.clock.advance(self.write_seconds)
        body = self.deployments.get(deployment.name)
        if body is None or body["metadata"]["resourceVersion"] != deployment.resource_version:
            return None
        if status.get("phase") == "Running" and deployment.name in self.refuse_running:
            self.refuse_running.discard(deployment.name)
            body["metadata"]["resourceVersion"] = str(next(self.versions))  # changed meanwhile
            return None
        merged = {k: v for k, v in {**body["status"], **status}.items() if v is not None}
        body["status"] = merged
        body["metadata"]["resourceVersion"] = str(next(self.versions))
        self.writes.append((deployment.name, status.get("phase", "")))
        return DeploymentObject.from_body(body)

    async def commit_unanswered(self) -> None:
        while self.unanswered:
            await FakeKube.patch_deployment_status(self, *self.unanswered.pop())

    async def patch_cluster_status(self, ref: ClusterRef, status: dict[str, Any]) -> None:
        self.cluster["status"] = status
        self.cluster_writes += 1


class FakeLeases:
    def __init__(self) -> None:
        self.held: set[RunId] = set()
        self.taken = 0

    async def take(self, run: RunId, ttl_ms: int) -> bool:
        if run in self.held:
            return False
        self.held.add(run)
        self.taken += 1
        return True

    async def release(self, run: RunId) -> None:
        self.held.discard(run)

    async def restore(self, runs: list[tuple[RunId, int]]) -> None:
        self.held.update(run for run, _ in runs)


class FakeEvents:
    def __init__(self) -> None:
        self.reasons: list[str] = []
        self.warnings: list[tuple[str, str, str]] = []
        """(object name, reason, message) of each Warning."""

    def announce(
        self, reference: dict[str, Any], reason: str, message: str, *, warning: bool = False
    ) -> None:
        self.reasons.append(reason)
        if warning:
            self.warnings.append((reference["metadata"]["name"], reason, message))


def build(
    clock: Clock, store: DeploymentStore | None = None, refresh_interval: float = 0.0
) -> tuple[Reconciler, FakeKube, FakeLeases]:
    kube, leases = FakeKube(clock), FakeLeases()
    reconciler = Reconciler(
        cast(KubeApi, kube),
        cast(RunLeases, leases),
        DeploymentStore() if store is None else store,
        cast(EventRecorder, FakeEvents()),
        OperatorConfig(seed=1, refresh_interval=refresh_interval),
        clock,
    )
    return reconciler, kube, leases


async def settled(reconciler: Reconciler) -> float | None:
    """One pass, and the writes that trail it (queue refreshes, the Cluster's report)."""
    wake = await reconciler(POOL)
    await reconciler.settle()
    return wake


def phase(kube: FakeKube, name: str) -> str | None:
    phase: str | None = kube.deployments[name]["status"].get("phase")
    return phase


def test_a_run_ends_at_its_deadline_and_the_pass_asks_for_that_moment() -> None:
    clock = Clock()
    reconciler, kube, leases = build(clock)
    kube.add("a", cpu=4, duration=5)
    kube.add("b", cpu=4, duration=5)

    async def scenario() -> list[float | None]:
        first = await settled(reconciler)
        clock.advance(5)
        second = await settled(reconciler)
        return [first, second]

    first, second = asyncio.run(scenario())
    assert first == pytest.approx(5.001)
    assert phase(kube, "a") == "Succeeded"
    assert phase(kube, "b") == "Running", "the freed capacity went to the next in line"
    assert second == pytest.approx(5.001)
    status = kube.deployments["a"]["status"]
    assert status["retainedUntil"] == "2026-01-01T13:00:05.000Z", "the cluster's one-hour default"
    assert [w for w in kube.writes if w[0] == "a"] == [("a", "Running"), ("a", "Succeeded")]
    assert RunId("ns", "pool", "a", "a-uid") not in leases.held


def test_a_refused_running_write_gives_the_lease_back_and_starts_once_later() -> None:
    clock = Clock()
    reconciler, kube, leases = build(clock)
    kube.add("a", cpu=1, duration=5)
    kube.refuse_running.add("a")

    async def scenario() -> list[float | None]:
        return [await settled(reconciler), await settled(reconciler)]

    first, second = asyncio.run(scenario())
    assert first == 0.0, "a lost start is decided again at once, from a fresh read"
    assert phase(kube, "a") == "Running"
    assert kube.writes.count(("a", "Running")) == 1
    assert leases.taken == 2
    assert len(leases.held) == 1
    assert second == pytest.approx(5.001)


def test_a_run_that_ended_while_its_admission_was_written_ends_once() -> None:
    clock = Clock()
    reconciler, kube, _ = build(clock)
    kube.add("a", cpu=1, duration=1)
    kube.write_seconds = 2.0  # the Running write returns after the run is already over

    async def scenario() -> float | None:
        again = await settled(reconciler)
        kube.write_seconds = 0.0
        await settled(reconciler)
        await settled(reconciler)
        return again

    again = asyncio.run(scenario())
    assert again == pytest.approx(0.001), "overdue: the next pass runs at once"
    assert kube.writes == [("a", "Running"), ("a", "Succeeded")]


def test_losing_leadership_mid_pass_stops_every_write() -> None:
    clock = Clock()
    reconciler, kube, _ = build(clock)
    for name in "abc":
        kube.add(name, cpu=2, duration=5)  # two start, one is queued
    kube.gate = asyncio.Event()

    async def scenario() -> None:
        coordinator = PassCoordinator(reconciler)
        coordinator.open()
        coordinator.request(POOL)
        await asyncio.sleep(0.01)  # the starts and the queue's refresh are blocked in writes
        await coordinator.close()  # the Lease is lost
        await reconciler.close()
        assert kube.gate is not None
        kube.gate.set()
        await asyncio.sleep(0.01)

    asyncio.run(scenario())
    assert kube.writes == []
    assert all(phase(kube, name) is None for name in "abc")


def test_a_finished_deployment_keeps_its_own_ttl_over_the_clusters() -> None:
    clock = Clock()
    reconciler, kube, _ = build(clock)
    kube.add("a", cpu=1, duration=1)
    kube.deployments["a"]["spec"]["ttlSecondsAfterFinished"] = 0
    kube.cluster["spec"]["history"] = {}  # the cluster keeps for ever

    async def scenario() -> None:
        await settled(reconciler)
        clock.advance(1)
        await settled(reconciler)

    asyncio.run(scenario())
    status = kube.deployments["a"]["status"]
    assert status["phase"] == Phase.SUCCEEDED
    assert status["retainedUntil"] == status["finishedAt"]
    history = kube.cluster["status"]["history"]
    assert history["runsFinished"] == 1
    assert history["meanRunSeconds"] == pytest.approx(1.0)


def _drive(
    clock: Clock,
    reconciler: Reconciler,
    kube: FakeKube,
    store: DeploymentStore,
    arrivals: list[tuple[float, str, int, int, int]],
    until: float,
) -> dict[str, list[tuple[float, str | None, str | None]]]:
    """Run passes as the operator would: at each arrival and whenever a pass asks to.

    `arrivals` are (seconds after T0, name, cpu, duration, priority). Returns, per deployment,
    the (seconds, ETA written, message) it showed after each pass while Queued.
    """
    shown: dict[str, list[tuple[float, str | None, str | None]]] = {}
    pending = sorted(arrivals)

    async def scenario() -> None:
        wake: float | None = 0.0
        while True:
            elapsed = (clock.now - T0).total_seconds()
            while pending and pending[0][0] <= elapsed + 1e-9:
                _, name, cpu, duration, priority = pending.pop(0)
                kube.add(name, cpu, duration, priority)
            store.invalidate(POOL)  # new objects: the pass lists them, as after a watch gap
            wake = await settled(reconciler)
            for name, body in kube.deployments.items():
                status = body["status"]
                if status.get("phase") == "Queued":
                    shown.setdefault(name, []).append(
                        (elapsed, status.get("estimatedStartAt"), status.get("message"))
                    )
            moments = [a[0] for a in pending[:1]]
            if wake is not None:
                moments.append(elapsed + wake)
            if not moments or min(moments) > until:
                return
            clock.advance(max(min(moments) - elapsed, 0.0))

    asyncio.run(scenario())
    return shown


def _started(kube: FakeKube, name: str) -> float:
    started = kube.deployments[name]["status"]["startedAt"]
    return (datetime.fromisoformat(started.replace("Z", "+00:00")) - T0).total_seconds()


def test_a_large_request_is_reserved_the_end_of_the_runs_ahead_and_told_when() -> None:
    """The issue's scenario: 8 CPU, four 2-CPU HIGH runs of 3 s, an 8-CPU HIGH, then a 2-CPU
    HIGH every 0.6 s. The large one starts when the four end, as its ETA said all along."""
    clock, store = Clock(), DeploymentStore()
    reconciler, kube, _ = build(clock, store)
    kube.cluster["spec"]["resources"] = {"cpu": 8, "ram": 64, "gpu": 0}
    arrivals = [(0.0, f"first-{n}", 2, 3, 1) for n in range(4)]
    arrivals.append((0.1, "large", 8, 3, 1))
    arrivals += [(0.2 + 0.6 * n, f"stream-{n:02d}", 2, 3, 1) for n in range(20)]
    shown = _drive(clock, reconciler, kube, store, arrivals, until=20.0)
    assert _started(kube, "large") == pytest.approx(3.0, abs=0.01)
    etas = {eta for _, eta, _ in shown["large"]}
    assert etas == {"2026-01-01T12:00:03.000Z"}
    assert shown["large"][-1][2] == (
        "reserved: starts when first-0, first-1, first-2 and 1 more finish (~12:00:03)"
    )
    # The stream queued behind it waits; nothing that arrived after it started before it.
    assert all(_started(kube, f"stream-{n:02d}") >= 3.0 for n in range(20))


def test_a_short_low_backfills_and_a_long_high_cannot_jump_the_reservation() -> None:
    clock, store = Clock(), DeploymentStore()
    reconciler, kube, _ = build(clock, store)
    kube.cluster["spec"]["resources"] = {"cpu": 8, "ram": 64, "gpu": 0}
    arrivals = [
        (0.0, "running", 6, 10, 1),
        (0.1, "large", 8, 5, 1),
        (0.2, "long-high", 2, 30, 1),
        (0.3, "short-low", 2, 5, 0),
    ]
    shown = _drive(clock, reconciler, kube, store, arrivals, until=60.0)
    assert _started(kube, "short-low") == pytest.approx(0.3, abs=0.01)
    assert _started(kube, "large") == pytest.approx(10.0, abs=0.01)
    assert _started(kube, "long-high") == pytest.approx(15.0, abs=0.01)
    assert shown["long-high"][0][2] == (
        "waiting: starting now would delay the reserved start of large (~12:00:10)"
    )
    assert shown["large"][0][1] == "2026-01-01T12:00:10.000Z"


def test_the_last_decision_tells_starts_in_queue_order_from_the_searchs_choice() -> None:
    """The Cluster's report keeps the search's figures (objective, gap, strategy) with what the
    search chose among and chose: it had shown the whole queue and every start beside an
    objective of the search's leftovers (a HIGH start beside "high": 0)."""
    clock = Clock()
    reconciler, kube, _ = build(clock)
    kube.cluster["spec"]["resources"] = {"cpu": 8, "ram": 64, "gpu": 0}
    kube.add("head", cpu=4, duration=5, priority=1)
    kube.add("large", cpu=8, duration=5, priority=1)  # reserved at 5 s: not a candidate
    kube.add("short", cpu=2, duration=3)  # ends before the reservation
    kube.add("long", cpu=2, duration=30)  # would delay it
    asyncio.run(settled(reconciler))
    last = kube.cluster["status"]["lastDecision"]
    assert (last["inOrder"], last["candidates"], last["selected"]) == (["head"], 2, ["short"])
    assert phase(kube, "head") == phase(kube, "short") == "Running"
    assert last["objective"]["high"] == 0
    assert last["objective"]["low"] == pytest.approx(2 / 8 + 1 / 64)  # its CPU and RAM shares


def test_deleting_a_reserved_deployment_releases_its_reservation_at_once() -> None:
    clock, store = Clock(), DeploymentStore()
    reconciler, kube, _ = build(clock, store)
    kube.cluster["spec"]["resources"] = {"cpu": 8, "ram": 64, "gpu": 0}
    arrivals = [(0.0, "ahead", 6, 10, 1), (0.1, "large", 8, 5, 1), (0.2, "long-high", 2, 30, 1)]
    _drive(clock, reconciler, kube, store, arrivals, until=0.2)
    assert kube.deployments["large"]["status"]["reason"] == "Reserved"
    assert phase(kube, "long-high") == "Queued"
    store.observe(
        DeploymentObject.from_body(kube.deployments.pop("large")), deleted=True
    )  # the watch's DELETED event
    asyncio.run(settled(reconciler))
    assert phase(kube, "long-high") == "Running"


def hold_queued_writes(kube: FakeKube) -> asyncio.Event:
    """Keep every Queued status write unanswered until the returned event is set."""
    answered = asyncio.Event()
    patch = kube.patch_deployment_status

    async def slow_queued_write(
        deployment: DeploymentObject, status: dict[str, Any]
    ) -> DeploymentObject | None:
        if status["phase"] == "Queued":
            await answered.wait()
        return await patch(deployment, status)

    kube.patch_deployment_status = slow_queued_write  # type: ignore[method-assign]
    return answered


async def write_in_flight(reconciler: Reconciler, uid: str) -> None:
    """Until the deployment's queue refresh is being written (its forecast runs in a thread
    first: on a loaded machine, a pass that follows at once could start it before)."""
    for _ in range(2000):
        if uid in reconciler._writing:
            return
        await asyncio.sleep(0.005)
    raise AssertionError(f"the queue refresh of {uid} never began")


def test_a_start_waits_for_the_queue_refresh_in_flight_and_builds_on_it() -> None:
    clock = Clock()
    reconciler, kube, leases = build(clock)
    kube.add("a", cpu=4, duration=5)
    answered = hold_queued_writes(kube)

    async def scenario() -> float | None:
        await settled(reconciler)
        kube.add("b", cpu=4, duration=5)
        reconciler._store.invalidate(POOL)  # what the watch would do
        await reconciler(POOL)  # b is marked Queued by a trailing write, still unanswered
        await write_in_flight(reconciler, "b-uid")
        clock.advance(5)
        ends_a = asyncio.create_task(reconciler(POOL))  # a is due; b fits and is started
        await asyncio.sleep(0.01)
        assert phase(kube, "b") is None, "the start waits for the refresh in flight"
        answered.set()
        again = await ends_a
        await reconciler.settle()
        return again

    again = asyncio.run(scenario())
    assert [w for w in kube.writes if w[0] == "b"] == [("b", "Queued"), ("b", "Running")]
    assert again == pytest.approx(5.001), "settled: the start was not refused"
    assert leases.taken == 2


def test_queue_updates_waiting_for_a_write_give_way_to_the_newest() -> None:
    clock = Clock()
    reconciler, kube, _ = build(clock)
    kube.add("a", cpu=4, duration=10)
    answered = hold_queued_writes(kube)

    async def scenario() -> None:
        await settled(reconciler)  # a runs
        for name, priority in (("x", 0), ("h1", 1), ("h2", 1)):
            kube.add(name, cpu=4, duration=5, priority=priority)
            reconciler._store.invalidate(POOL)  # what the watch would do
            await reconciler(POOL)  # x's first Queued write is still unanswered
            await asyncio.sleep(0.01)
        answered.set()
        await reconciler.settle()

    asyncio.run(scenario())
    # x was decided at positions 1, 2 and 3: the write in flight, then only the newest.
    assert [w for w in kube.writes if w[0] == "x"] == [("x", "Queued"), ("x", "Queued")]
    positions = {n: kube.deployments[n]["status"]["queuePosition"] for n in ("h1", "h2", "x")}
    assert positions == {"h1": 1, "h2": 2, "x": 3}


def test_refreshes_and_reports_within_the_refresh_interval_give_way_to_the_newest() -> None:
    """Each admission shifts the queue: one deployment's refreshes and the Cluster's reports
    are written at most once per interval, the last decision winning."""
    clock = Clock()
    reconciler, kube, _ = build(clock, refresh_interval=0.3)
    kube.add("a", cpu=4, duration=10)

    async def scenario() -> None:
        await reconciler(POOL)  # a runs; the report is written at once
        for name, priority in (("x", 0), ("h1", 1), ("h2", 1)):
            kube.add(name, cpu=4, duration=5, priority=priority)
            reconciler._store.invalidate(POOL)  # what the watch would do
            await reconciler(POOL)  # x: Queued at once (a newcomer), then positions 2 and 3
            await asyncio.sleep(0.01)
        await reconciler.settle()

    asyncio.run(scenario())
    # Without the interval: x written three times, the Cluster four (each pass changed both).
    assert [w for w in kube.writes if w[0] == "x"] == [("x", "Queued"), ("x", "Queued")]
    assert kube.deployments["x"]["status"]["queuePosition"] == 3
    assert kube.cluster_writes == 2
    assert kube.cluster["status"]["queued"] == 3


def _allocated_cpu(kube: FakeKube) -> int:
    """CPU the Running deployments hold, as the API server has them."""
    return sum(
        body["status"]["allocated"]["cpu"]
        for body in kube.deployments.values()
        if body["status"].get("phase") == "Running"
    )


def test_a_spec_edited_while_its_start_waits_is_decided_again() -> None:
    """The start of a deployment waits for its queue refresh in flight; meanwhile its owner
    asks for the whole cluster. Started as edited, it would hold capacity the pass never
    checked (7 CPU of 4)."""
    clock = Clock()
    reconciler, kube, _ = build(clock)
    kube.add("short", cpu=1, duration=5)
    kube.add("long", cpu=3, duration=100)
    answered = hold_queued_writes(kube)

    async def scenario() -> float | None:
        await settled(reconciler)  # short and long run: the cluster is full
        kube.add("b", cpu=1, duration=5)
        reconciler._store.invalidate(POOL)  # what the watch would do
        await reconciler(POOL)  # b is marked Queued by a trailing write, still unanswered
        await write_in_flight(reconciler, "b-uid")
        clock.advance(5)
        ends_short = asyncio.create_task(reconciler(POOL))  # b fits in what short frees
        await asyncio.sleep(0.01)
        edited = kube.deployments["b"]
        edited["spec"]["resources"]["cpu"] = 4
        edited["metadata"]["generation"] = 2
        edited["metadata"]["resourceVersion"] = str(next(kube.versions))
        reconciler._store.observe(DeploymentObject.from_body(edited))  # the watch's event
        answered.set()
        again = await ends_short
        await settled(reconciler)
        return again

    again = asyncio.run(scenario())
    assert _allocated_cpu(kube) <= 4
    assert phase(kube, "b") != "Running", "4 CPU do not fit beside long's 3"
    assert again == 0.0, "decided again at once"


def test_a_failed_start_is_raised_only_once_the_pass_s_other_starts_are_answered() -> None:
    """One start's write fails while another's is still in flight. Raised at once, the pass
    would end with that write going on unseen, and the next pass would give its capacity to
    someone else."""
    clock = Clock()
    reconciler, kube, _ = build(clock)
    kube.add("failing", cpu=2, duration=5)
    kube.add("slow", cpu=2, duration=5)
    patch = kube.patch_deployment_status

    async def flaky_write(
        deployment: DeploymentObject, status: dict[str, Any]
    ) -> DeploymentObject | None:
        if deployment.name == "failing":
            raise RuntimeError("the API server answered 500")
        await asyncio.sleep(0.05)
        return await patch(deployment, status)

    kube.patch_deployment_status = flaky_write  # type: ignore[method-assign]

    async def scenario() -> None:
        with pytest.raises(RuntimeError):
            await reconciler(POOL)
        assert phase(kube, "slow") == "Running", "answered before the pass ended"
        assert reconciler._store.get("slow-uid") is not None
        assert reconciler._store.get("slow-uid").phase == Phase.RUNNING  # type: ignore[union-attr]

    asyncio.run(scenario())


def test_a_start_written_but_answered_with_an_error_is_read_back_before_the_next_pass() -> None:
    """The API server commits a start but the answer is a 504 (or the connection resets):
    the store still shows it Queued, and without a fresh read the next pass gave its
    capacity to a newcomer the watch had shown meanwhile."""
    clock = Clock()
    reconciler, kube, _ = build(clock)
    kube.add("x", cpu=4, duration=100)
    patch = kube.patch_deployment_status

    async def committed_then_failed(
        deployment: DeploymentObject, status: dict[str, Any]
    ) -> DeploymentObject | None:
        written = await patch(deployment, status)
        if deployment.name == "x":
            raise RuntimeError("the API server answered 504 after committing")
        return written

    kube.patch_deployment_status = committed_then_failed  # type: ignore[method-assign]

    async def scenario() -> None:
        with pytest.raises(RuntimeError):
            await reconciler(POOL)
        await reconciler.settle()
        kube.patch_deployment_status = patch  # type: ignore[method-assign]
        kube.add("a", cpu=4, duration=100, priority=1)
        reconciler._store.observe(DeploymentObject.from_body(kube.deployments["a"]))
        clock.advance(1)  # the coordinator's retry
        await settled(reconciler)

    asyncio.run(scenario())
    assert (phase(kube, "x"), phase(kube, "a")) == ("Running", "Queued")


def test_a_start_the_api_server_commits_after_the_client_gave_up_never_over_commits() -> None:
    """A start's answer never comes (a read timeout, a pass cancelled mid-write) and the API
    server commits it later, after a read that still showed the deployment queued: the pass
    deciding from that read gave its capacity to a HIGH newcomer, and both ran on 4 CPUs."""
    clock = Clock()
    reconciler, kube, _ = build(clock)
    kube.add("a", cpu=4, duration=100)
    kube.time_out_next_start = True
    patch = kube.patch_deployment_status

    async def landing_before_the_next_start(
        deployment: DeploymentObject, status: dict[str, Any]
    ) -> DeploymentObject | None:
        if status.get("phase") == "Running":
            await kube.commit_unanswered()  # the API server gets to the first start at last
        return await patch(deployment, status)

    kube.patch_deployment_status = landing_before_the_next_start  # type: ignore[method-assign]

    async def scenario() -> None:
        with pytest.raises(TimeoutError):
            await reconciler(POOL)
        kube.add("h", cpu=4, duration=100, priority=1)
        clock.advance(1)  # the coordinator's retry
        await settled(reconciler)

    asyncio.run(scenario())
    assert (phase(kube, "h"), phase(kube, "a")) == ("Running", "Queued"), "the late start refused"


def test_a_start_that_lands_just_after_the_read_is_read_back_and_keeps_its_capacity() -> None:
    """The same start committed just after the next pass's read: the write that settles it is
    refused, and the pass after it reads the run (and restores its lease) instead of giving
    its capacity away."""
    clock = Clock()
    reconciler, kube, leases = build(clock)
    kube.add("a", cpu=4, duration=100)
    kube.time_out_next_start = True
    listing = kube.list_deployments

    async def committing_after_the_read(
        ref: ClusterRef,
    ) -> tuple[list[DeploymentObject], str]:
        listed = await listing(ref)
        await kube.commit_unanswered()
        return listed

    async def scenario() -> list[float | None]:
        with pytest.raises(TimeoutError):
            await reconciler(POOL)
        kube.list_deployments = committing_after_the_read  # type: ignore[method-assign]
        kube.add("h", cpu=4, duration=100, priority=1)
        clock.advance(1)
        return [await settled(reconciler), await settled(reconciler)]

    fenced, after = asyncio.run(scenario())
    assert fenced == 0.0, "refused: decided again at once, from a fresh read"
    assert (phase(kube, "a"), phase(kube, "h")) == ("Running", "Queued")
    assert after == pytest.approx(99.001)
    assert RunId("ns", "pool", "a", "a-uid") in leases.held


def test_a_cluster_created_again_under_its_name_is_reported_as_a_new_one() -> None:
    """Deleted and created again between two passes, with the same spec: its report equalled
    the old one's last, so the new Cluster never got a status."""
    clock = Clock()
    reconciler, kube, _ = build(clock)

    async def scenario() -> None:
        await settled(reconciler)
        kube.cluster = {**kube.cluster, "metadata": {**kube.cluster["metadata"], "uid": "c2"}}
        del kube.cluster["status"]
        reconciler._store.invalidate(POOL)  # what the Cluster's events would do
        await settled(reconciler)

    asyncio.run(scenario())
    assert kube.cluster_writes == 2
    assert kube.cluster["status"]["capacity"]["cpu"] == 4


def test_runs_on_a_cluster_deleted_and_created_again_are_cancelled_and_queued_on_the_new() -> None:
    """Deleted and created again between two passes with less capacity: its runs held the old
    one's, and stayed Running on the new one, over its capacity."""
    clock = Clock()
    reconciler, kube, leases = build(clock)
    kube.add("a", cpu=4, duration=100)

    async def scenario() -> None:
        await settled(reconciler)
        assert kube.deployments["a"]["status"]["clusterUid"] == "c"
        metadata = {**kube.cluster["metadata"], "uid": "c2"}
        kube.cluster = {"metadata": metadata, "spec": {"resources": {"cpu": 2, "ram": 4, "gpu": 0}}}
        reconciler._store.invalidate(POOL)  # what the Cluster's events would do
        clock.advance(1)
        await settled(reconciler)

    asyncio.run(scenario())
    status = kube.deployments["a"]["status"]
    assert (status["phase"], status["reason"]) == ("Pending", "ClusterReplaced")
    assert RunId("ns", "pool", "a", "a-uid") not in leases.held
    assert kube.cluster["status"]["allocated"]["cpu"] == 0


def test_a_replica_that_stops_leading_stops_reporting_its_clusters_metrics() -> None:
    clock = Clock()
    reconciler, kube, _ = build(clock)
    kube.add("a", cpu=1, duration=5)

    def queue_depth() -> float | None:
        return REGISTRY.get_sample_value(
            "simplismart_queue_depth", {"namespace": "ns", "cluster": "pool"}
        )

    async def scenario() -> None:
        await settled(reconciler)
        assert queue_depth() == 0.0
        await reconciler.close()

    asyncio.run(scenario())
    assert queue_depth() is None, "the leader reports it; two series would be counted twice"


def test_a_queue_update_decided_before_a_hold_does_not_undo_it() -> None:
    """The cluster grows and a Pending deployment joins its queue, its Queued status waiting
    for a refresh slot; the cluster is deleted meanwhile and the deployment held again. The
    update, written after, showed it Queued and reserved on a cluster that no longer exists."""
    clock = Clock()
    reconciler, kube, _ = build(clock)
    kube.cluster["spec"]["resources"] = {"cpu": 1, "ram": 64, "gpu": 0}
    kube.add("run", cpu=1, duration=100)
    kube.add("d", cpu=2, duration=10)

    async def cluster_gone(ref: ClusterRef) -> None:
        return None

    async def scenario() -> None:
        await settled(reconciler)  # d asks more than the cluster has: Pending
        slots = reconciler._refreshes
        for _ in range(REFRESH_CONCURRENCY):
            await slots.acquire()  # other deployments' refreshes hold every slot
        kube.cluster["spec"]["resources"]["cpu"] = 2
        reconciler._store.invalidate(POOL)
        await reconciler(POOL)  # d joins the queue: its Queued status waits for a slot
        kube.get_cluster = cluster_gone  # type: ignore[assignment]
        reconciler._store.invalidate(POOL)
        await reconciler(POOL)  # held again: ClusterNotFound
        for _ in range(REFRESH_CONCURRENCY):
            slots.release()
        await reconciler.settle()

    asyncio.run(scenario())
    status = kube.deployments["d"]["status"]
    assert (status["phase"], status["reason"]) == ("Pending", "ClusterNotFound")


def test_a_run_whose_time_is_up_finishes_even_if_its_cluster_is_gone() -> None:
    """Cancelled with the cluster instead, a run that had finished went back to Pending, and
    would have run a second time when the cluster came back."""
    clock = Clock()
    reconciler, kube, leases = build(clock)
    kube.add("done", cpu=1, duration=5)
    kube.add("cut", cpu=1, duration=50)

    async def cluster_gone(ref: ClusterRef) -> None:
        return None

    async def scenario() -> None:
        await settled(reconciler)
        clock.advance(5)  # done's time is up, and its cluster is deleted before its pass
        kube.get_cluster = cluster_gone  # type: ignore[assignment]
        reconciler._store.invalidate(POOL)
        await settled(reconciler)

    asyncio.run(scenario())
    assert phase(kube, "done") == "Succeeded"
    assert kube.deployments["done"]["status"]["retainedUntil"] == "2026-01-01T13:00:05.000Z"
    assert (phase(kube, "cut"), kube.deployments["cut"]["status"]["reason"]) == (
        "Pending",
        "ClusterNotFound",
    )
    assert leases.held == set()


@pytest.mark.parametrize(("cpu", "held"), [(2, "Queued"), (8, "Pending")])
def test_an_edit_that_changes_no_status_is_still_observed(cpu: int, held: str) -> None:
    """A new image on a queued (or held) deployment moves nothing: no status write was due,
    and `observedGeneration` stayed behind for ever (`kubectl wait` and GitOps tools hang)."""
    clock = Clock()
    reconciler, kube, _ = build(clock)
    kube.add("running", cpu=4, duration=100)

    async def scenario() -> None:
        await settled(reconciler)
        kube.add("edited", cpu=cpu, duration=5)
        reconciler._store.invalidate(POOL)  # what the watch would do
        await settled(reconciler)
        assert phase(kube, "edited") == held
        body = kube.deployments["edited"]
        body["spec"]["image"] = "i:2"
        body["metadata"]["generation"] = 2
        body["metadata"]["resourceVersion"] = str(next(kube.versions))
        reconciler._store.observe(DeploymentObject.from_body(body))  # the watch's event
        clock.advance(1)
        await settled(reconciler)

    asyncio.run(scenario())
    status = kube.deployments["edited"]["status"]
    assert (status["phase"], status["observedGeneration"]) == (held, 2)


def test_a_report_cancelled_before_it_began_does_not_silence_the_next_term() -> None:
    """Leadership lost right after a pass: its report, not yet begun, is cancelled and never
    ran its clean-up. Leading again, the cluster's status was never written again."""
    clock = Clock()
    reconciler, kube, _ = build(clock)
    kube.add("a", cpu=1, duration=100)

    async def scenario() -> None:
        await reconciler(POOL)  # its report is created, not begun
        await reconciler.close()
        kube.cluster_writes = 0
        await settled(reconciler)  # leading again

    asyncio.run(scenario())
    assert kube.cluster_writes == 1


def test_a_slow_forecast_never_overwrites_a_later_pass_s_queue(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Two passes' forecasts run in threads side by side: the older one, answered last,
    wrote its older position over the newer one."""
    clock = Clock()
    reconciler, kube, _ = build(clock)
    kube.add("running", cpu=4, duration=100)
    forecast = reconciler_module._waits
    calls = itertools.count()

    def first_slow(decided: Any, started: list[str]) -> Any:
        if next(calls) == 0:
            time.sleep(0.3)
        return forecast(decided, started)

    async def scenario() -> None:
        await settled(reconciler)
        kube.add("a", cpu=2, duration=5)
        kube.add("b", cpu=2, duration=5)
        reconciler._store.invalidate(POOL)
        monkeypatch.setattr(reconciler_module, "_waits", first_slow)
        await reconciler(POOL)  # a first, b second: its forecast takes a while
        gone = DeploymentObject.from_body(kube.deployments.pop("a"))
        reconciler._store.observe(gone, deleted=True)
        clock.advance(1)
        await settled(reconciler)  # b alone, first: answered before the slow one

    asyncio.run(scenario())
    assert kube.deployments["b"]["status"]["queuePosition"] == 1
