"""Deployments go Queued → Running → Succeeded under a real operator, API server and Redis."""

import subprocess
from pathlib import Path
from typing import Any

import pytest
import redis
from harness.kube import Namespace, wait_for
from harness.monitor import InvariantMonitor
from harness.processes import OperatorProcess

from simplismart.crds import CLUSTER, DEPLOYMENT, parse_time

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("operator")]

EXAMPLES = Path(__file__).parents[2] / "examples"


def status(namespace: Namespace, name: str) -> dict[str, object]:
    return dict(namespace.get(DEPLOYMENT, name).get("status") or {})


def test_examples_run_high_priority_first(
    kubeconfig: str, namespace: Namespace, monitor: InvariantMonitor
) -> None:
    subprocess.run(
        ["kubectl", f"--kubeconfig={kubeconfig}", "-n", namespace.name, "apply", "-f", EXAMPLES],
        check=True,
        capture_output=True,
    )
    # The examples' runs are short (4 s): read their states from the watch, which sees each.
    llama = monitor.seen("llama-serve", "Running", timeout=15)
    monitor.seen("whisper-small", "Running", timeout=15)
    queued = monitor.seen("batch-embed", "Queued", timeout=15)
    assert queued["status"]["queuePosition"] == 1
    giant = namespace.wait_phase("giant", "Pending", timeout=15)
    assert giant["status"]["reason"] == "ExceedsClusterCapacity"
    assert "gpu 8 > 2" in giant["status"]["message"]

    batch = monitor.seen("batch-embed", "Running", timeout=20)
    finished = namespace.wait_phase("llama-serve", "Succeeded", timeout=5)
    # The LOW deployment started only once the HIGH one had freed its CPU.
    assert parse_time(batch["status"]["startedAt"]) >= parse_time(finished["status"]["finishedAt"])
    assert llama["status"]["allocated"] == {"cpu": 6, "ram": 8, "gpu": 1}
    monitor.wait_all({"Succeeded"}, count=3, timeout=40)
    cluster = wait_for(
        lambda: (s := namespace.get(CLUSTER, "demo")["status"])["running"] == 0 and s,
        what="the cluster status to show no run",
    )
    assert cluster["available"] == {"cpu": 10, "ram": 16, "gpu": 2}
    assert cluster["pending"] == 1


@pytest.mark.parametrize(("queued", "first"), [(5, "combinations"), (15, "optimal")])
def test_auto_strategy_follows_the_queue_length(
    namespace: Namespace, monitor: InvariantMonitor, queued: int, first: str
) -> None:
    """Below 10 candidates `auto` enumerates; from 10 it runs HiGHS first (and the genetic
    search only when HiGHS cannot prove the optimum in time), and the decision says so."""
    # Without reservations the whole queue goes to the solver (with one, the head of the
    # queue that fits starts in order first and the solver sees only the rest).
    namespace.cluster("pool", cpu=8, ram=8, gpu=0, reservations=0)
    # Long enough that the whole queue is there when it ends, even on a busy machine.
    namespace.deployment("blocker", "pool", cpu=8, ram=8, duration=20)
    monitor.seen("blocker", "Running")
    # Runs of 5 s: the decision over the whole queue stays on the Cluster until the next pass
    # that starts something, which comes when the first of them ends.
    for index in range(queued):
        namespace.deployment(f"job-{index}", "pool", cpu=1 + index % 3, ram=1, duration=5)
    wait_for(
        lambda: sum(p == "Queued" for p in namespace.phases().values()) == queued,
        what=f"{queued} queued",
    )
    namespace.wait_phase("blocker", "Succeeded", timeout=40)

    def decision() -> dict[str, Any] | None:
        last = (namespace.get(CLUSTER, "pool").get("status") or {}).get("lastDecision")
        return last if last and last.get("candidates") == queued else None

    last = wait_for(decision, timeout=10, what="the decision over the whole queue")
    assert last["ran"][0] == first, last
    assert last["strategy"] in last["ran"]
    assert last["reason"]
    assert last["requestedStrategy"] == "auto"
    monitor.wait_all({"Succeeded"}, count=queued + 1, timeout=120)


def test_delete_cancels_and_frees_capacity_at_once(
    namespace: Namespace, monitor: InvariantMonitor, redis_url: str
) -> None:
    namespace.cluster("small", cpu=4, ram=4, gpu=0)
    namespace.deployment("first", "small", cpu=4, ram=4, duration=120)
    running = namespace.wait_phase("first", "Running")
    lease = f"simplismart:lease:{namespace.name}/small/first/{running['metadata']['uid']}"
    leases = redis.Redis.from_url(redis_url)
    assert leases.exists(lease) == 1
    namespace.deployment("second", "small", cpu=4, ram=4, duration=1)
    namespace.wait_phase("second", "Queued")
    namespace.delete_object(DEPLOYMENT, "first")
    monitor.seen("second", "Running", timeout=5)
    assert leases.exists(lease) == 0
    monitor.wait_all({"Succeeded"}, count=1, timeout=15)


def test_capacity_increase_starts_more(namespace: Namespace, monitor: InvariantMonitor) -> None:
    namespace.cluster("grow", cpu=2, ram=2, gpu=0)
    namespace.deployment("a", "grow", cpu=2, ram=2, duration=30)
    namespace.deployment("b", "grow", cpu=2, ram=2, duration=30)
    wait_for(
        lambda: sorted(map(str, namespace.phases().values())) == ["Queued", "Running"],
        what="1 of 2",
    )
    namespace.patch_spec(CLUSTER, "grow", {"resources": {"cpu": 4, "ram": 4, "gpu": 0}})
    wait_for(lambda: set(namespace.phases().values()) == {"Running"}, timeout=10, what="both")
    for name in ("a", "b"):
        namespace.delete_object(DEPLOYMENT, name)


def test_waits_for_a_missing_cluster_and_a_too_large_request_waits_for_growth(
    namespace: Namespace, monitor: InvariantMonitor
) -> None:
    namespace.deployment("early", "later", cpu=1, duration=1)
    namespace.deployment("big", "later", cpu=5, duration=1)
    early = namespace.wait_phase("early", "Pending")
    assert early["status"]["reason"] == "ClusterNotFound"
    namespace.cluster("later", cpu=2, ram=2, gpu=0)
    namespace.wait_phase("early", "Succeeded", timeout=15)
    big = namespace.wait_phase("big", "Pending")
    assert big["status"]["reason"] == "ExceedsClusterCapacity"
    assert "cpu 5 > 2" in big["status"]["message"]
    namespace.patch_spec(CLUSTER, "later", {"resources": {"cpu": 5, "ram": 2, "gpu": 0}})
    namespace.wait_phase("big", "Succeeded", timeout=15)


def event_reasons(kubeconfig: str, namespace: Namespace, name: str) -> set[str]:
    """The reasons of the Events about deployment ``name``."""
    return set(
        subprocess.run(
            ["kubectl", f"--kubeconfig={kubeconfig}", "-n", namespace.name, "get", "events",
             f"--field-selector=involvedObject.name={name}", "-o",
             "jsonpath={.items[*].reason}"],
            check=True, capture_output=True, text=True,
        ).stdout.split()
    )  # fmt: skip


def test_deleting_a_cluster_cancels_its_runs_and_returns_them_to_pending(
    kubeconfig: str, namespace: Namespace, redis_url: str
) -> None:
    namespace.cluster("doomed", cpu=2, ram=2, gpu=0)
    namespace.deployment("resident", "doomed", cpu=2, ram=2, duration=120)
    running = namespace.wait_phase("resident", "Running")
    lease = f"simplismart:lease:{namespace.name}/doomed/resident/{running['metadata']['uid']}"
    leases = redis.Redis.from_url(redis_url)
    assert leases.exists(lease) == 1
    namespace.delete_object(CLUSTER, "doomed")
    pending = namespace.wait_phase("resident", "Pending", timeout=10)
    assert pending["status"]["reason"] == "ClusterNotFound"
    assert "expiresAt" not in pending["status"]
    # In no queue: if the cluster comes back it queues afresh, its run not counted as a wait.
    assert "queuedAt" not in pending["status"]
    assert leases.exists(lease) == 0
    # The status no longer shows that it ran: an Event says the run was cancelled.
    assert wait_for(
        lambda: "RunCancelled" in event_reasons(kubeconfig, namespace, "resident"),
        timeout=10,
        what="a RunCancelled event",
    )


def test_a_cluster_shrunk_under_its_runs_says_so(kubeconfig: str, namespace: Namespace) -> None:
    # No invariant monitor: holding more than the new capacity is what this test makes happen.
    namespace.cluster("shrinking", cpu=4, ram=4, gpu=0)
    namespace.deployment("big", "shrinking", cpu=4, ram=4, duration=120)
    namespace.wait_phase("big", "Running")
    namespace.patch_spec(CLUSTER, "shrinking", {"resources": {"cpu": 2, "ram": 4, "gpu": 0}})
    assert wait_for(
        lambda: "OverCapacity" in event_reasons(kubeconfig, namespace, "shrinking"),
        timeout=10,
        what="an OverCapacity warning",
    )
    namespace.delete_object(DEPLOYMENT, "big")


def test_operator_events_explain_what_happened(
    kubeconfig: str, namespace: Namespace, operator: OperatorProcess
) -> None:
    namespace.cluster("talk", cpu=1, ram=1, gpu=0)
    namespace.deployment("chatty", "talk", cpu=1, ram=1, duration=1)
    namespace.wait_phase("chatty", "Succeeded", timeout=15)
    assert wait_for(
        lambda: {"Started", "Succeeded"} <= event_reasons(kubeconfig, namespace, "chatty"),
        timeout=10,
        what="Started and Succeeded events",
    )
