"""Nothing is lost, started twice or ended twice, whatever is killed or restarted in between."""

import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from harness.control_plane import HACK, ControlPlane, hack
from harness.kube import Namespace, api_client, wait_for
from harness.monitor import InvariantMonitor
from harness.ports import free_port
from harness.processes import OperatorProcess
from kubernetes import client

pytestmark = pytest.mark.integration


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A Redis of the test's own, which it may restart, empty, or configure."""
    url = hack("redis-up.sh", tmp_path / "redis")
    yield url, tmp_path / "redis"
    subprocess.run([HACK / "redis-down.sh", tmp_path / "redis"], check=True)


def operator_process(kubeconfig: str, url: str, tmp_path: Path, name: str) -> OperatorProcess:
    # The safety-net resync is what notices a Redis that came back empty.
    return OperatorProcess(
        kubeconfig, url, tmp_path / f"{name}.log", SIMPLISMART_RESYNC_SECONDS="2"
    )


def test_sigkill_mid_run_then_restart_finishes_everything_once(
    kubeconfig: str,
    private_redis: tuple[str, Path],
    namespace: Namespace,
    monitor: InvariantMonitor,
    tmp_path: Path,
) -> None:
    url, _ = private_redis
    # Runs expire during the 3 s without an operator, and a cold start takes a few seconds more.
    monitor.overdue_grace = 12.0
    namespace.cluster("pool", cpu=2, ram=2, gpu=0)
    for index in range(6):
        namespace.deployment(f"job-{index}", "pool", cpu=1, ram=1, duration=2)
    first = operator_process(kubeconfig, url, tmp_path, "first").start()
    try:
        # Started (a 2 s run may already be over when the monitor is asked).
        monitor.wait_all({"Running", "Succeeded"}, count=2, timeout=20)
        first.kill()
        time.sleep(3)  # runs expire while no operator is there to see it
    finally:
        first.kill()
    with operator_process(kubeconfig, url, tmp_path, "second"):
        monitor.wait_all({"Succeeded"}, count=6, timeout=45)
    assert set(monitor.ends.values()) == {1}


def test_redis_restarted_empty_rebuilds_leases_from_status(
    kubeconfig: str,
    private_redis: tuple[str, Path],
    namespace: Namespace,
    monitor: InvariantMonitor,
    tmp_path: Path,
) -> None:
    url, state = private_redis
    port = url.rsplit(":", 1)[1].split("/")[0]
    namespace.cluster("pool", cpu=4, ram=4, gpu=0)
    # Runs of 15 s: the two running when Redis goes are still running when it is back.
    for index in range(4):
        namespace.deployment(f"job-{index}", "pool", cpu=2, ram=2, duration=15)
    with operator_process(kubeconfig, url, tmp_path, "operator"):
        monitor.wait_all({"Running"}, count=2, timeout=20)
        leases = sorted(
            f"simplismart:lease:{namespace.name}/pool/{meta['name']}/{meta['uid']}"
            for meta in (body["metadata"] for body in monitor.in_phases({"Running"}))
        )
        subprocess.run([HACK / "redis-down.sh", state], check=True)
        hack("redis-up.sh", state, port)
        # The cluster's next pass rebuilds them: a new arrival brings it before their deadline.
        namespace.deployment("arrival", "pool", cpu=2, ram=2, duration=1)
        connection = redis.Redis.from_url(url)
        # The leases of those very runs, not of runs started since.
        wait_for(
            lambda: connection.exists(*leases) == len(leases),
            timeout=10,
            what=f"the leases {leases} rebuilt in the new Redis",
        )
        monitor.wait_all({"Succeeded"}, count=5, timeout=60)


def test_runs_end_on_time_when_keyspace_events_are_off(
    kubeconfig: str, namespace: Namespace, monitor: InvariantMonitor, tmp_path: Path
) -> None:
    # A Redis that refuses CONFIG, as managed services do: the operator cannot turn events on.
    port = str(free_port())
    server = subprocess.Popen(
        ["redis-server", "--port", port, "--bind", "127.0.0.1", "--save", "",
         "--notify-keyspace-events", "", "--rename-command", "CONFIG", ""],
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        url = f"redis://127.0.0.1:{port}/0"
        wait_for(lambda: _pings(url), timeout=10, what="redis")
        namespace.cluster("pool", cpu=1, ram=1, gpu=0)
        for index in range(3):
            namespace.deployment(f"job-{index}", "pool", cpu=1, ram=1, duration=1)
        # No resync within the test either: only each pass's own deadline timer can end runs.
        process = OperatorProcess(
            kubeconfig, url, tmp_path / "operator.log", SIMPLISMART_RESYNC_SECONDS="600"
        )
        with process:
            monitor.wait_all({"Succeeded"}, count=3, timeout=45)
        assert "cannot enable keyspace notifications" in process.output()
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=10)


def test_two_replicas_elect_one_leader_and_the_other_takes_over(
    kubeconfig: str,
    private_redis: tuple[str, Path],
    namespace: Namespace,
    monitor: InvariantMonitor,
    tmp_path: Path,
) -> None:
    """Two replicas with leader election: one schedules; SIGKILL it mid-stream (no clean-up, so
    its Lease must time out) and the other finishes everything, nothing started twice."""
    url, _ = private_redis
    namespace.cluster("pool", cpu=3, ram=3, gpu=0)
    election = {
        "SIMPLISMART_STANDALONE": "false",
        "SIMPLISMART_LEASE_NAME": "operator-leader",
        "SIMPLISMART_LEASE_NAMESPACE": namespace.name,
        "SIMPLISMART_LEASE_SECONDS": "4",
    }
    # The runs of a killed leader end when its successor leads: within one lease duration.
    monitor.overdue_grace = 12.0
    one = OperatorProcess(kubeconfig, url, tmp_path / "one.log", **election)
    two = OperatorProcess(kubeconfig, url, tmp_path / "two.log", **election)
    with one, two:
        for index in range(20):
            namespace.deployment(f"job-{index}", "pool", cpu=1 + index % 2, ram=1, duration=1)
        wait_for(lambda: "leading as" in one.output() + two.output(), timeout=30, what="a leader")
        monitor.wait_all({"Succeeded"}, count=3, timeout=60)
        leader, follower = (one, two) if "leading as" in one.output() else (two, one)
        assert "leading as" not in follower.output(), "two leaders at once"
        leader.kill()
        monitor.wait_all({"Succeeded"}, count=20, timeout=120)
        assert "leading as" in follower.output()
    assert set(monitor.starts.values()) == {1}
    assert set(monitor.ends.values()) == {1}


def test_a_deployment_on_a_missing_cluster_seen_before_leading_is_held_once_leading(
    kubeconfig: str,
    redis_url: str,
    kube: client.ApiClient,
    namespace: Namespace,
    tmp_path: Path,
) -> None:
    """A replica drops the wake-ups it gets while another leads; the resync must then reach a
    cluster that only a deployment names (it did not: the deployment never got a status)."""
    client.CoordinationV1Api(kube).create_namespaced_lease(
        namespace.name,
        client.V1Lease(
            metadata=client.V1ObjectMeta(name="operator-leader"),
            spec=client.V1LeaseSpec(
                holder_identity="a-replica-that-died", lease_duration_seconds=5
            ),
        ),
    )
    election = {
        "SIMPLISMART_STANDALONE": "false",
        "SIMPLISMART_LEASE_NAME": "operator-leader",
        "SIMPLISMART_LEASE_NAMESPACE": namespace.name,
        "SIMPLISMART_RESYNC_SECONDS": "2",
    }
    with OperatorProcess(kubeconfig, redis_url, tmp_path / "operator.log", **election) as process:
        wait_for(lambda: "operator started" in process.output(), timeout=30, what="the operator")
        namespace.deployment("orphan", "no-such-cluster", cpu=1, ram=1)
        wait_for(lambda: "leading as" in process.output(), timeout=30, what="leadership")
        held = namespace.wait_phase("orphan", "Pending", timeout=15)
    assert held["status"]["reason"] == "ClusterNotFound"


def test_a_stopped_leader_exits_and_hands_its_lease_over(
    kubeconfig: str, redis_url: str, kube: client.ApiClient, namespace: Namespace, tmp_path: Path
) -> None:
    """SIGTERM (a rollout, a scale-down): the process exits cleanly and frees the Lease, so the
    next replica leads at once instead of a lease duration later. It hung instead, until
    killed, when kopf waited for a stop flag in a thread nothing woke."""
    election = {
        "SIMPLISMART_STANDALONE": "false",
        "SIMPLISMART_LEASE_NAME": "operator-leader",
        "SIMPLISMART_LEASE_NAMESPACE": namespace.name,
    }
    operator = OperatorProcess(kubeconfig, redis_url, tmp_path / "operator.log", **election)
    with operator:
        wait_for(lambda: "leading as" in operator.output(), timeout=30, what="leadership")
        assert operator.process is not None
        operator.process.terminate()
        assert operator.process.wait(timeout=10) == 0, operator.output()[-3000:]
    lease = client.CoordinationV1Api(kube).read_namespaced_lease("operator-leader", namespace.name)
    assert lease.spec is not None
    assert lease.spec.holder_identity is None


@pytest.fixture
def control_plane(tools_bin: Path, tmp_path: Path) -> Iterator[ControlPlane]:
    with ControlPlane(tmp_path / "cluster") as plane:
        yield plane


def test_api_server_killed_mid_run_and_started_again_loses_nothing(
    control_plane: ControlPlane, private_redis: tuple[str, Path], tmp_path: Path
) -> None:
    """The API server SIGKILLed under a leader-elected operator and started again 10 s later.

    Longer than the renew deadline, so the leader gives its Lease up and must take it again
    while the API server is away: that must be a failed attempt, not the end of the loop (it
    was, and the replica never scheduled again). Everything, including what is created after
    the restart, finishes once, and the outage reads as lines, not tracebacks.
    """
    url, _ = private_redis
    kube = api_client(control_plane.kubeconfig)
    namespace = Namespace(kube)
    election = {
        "SIMPLISMART_STANDALONE": "false",
        "SIMPLISMART_LEASE_NAMESPACE": namespace.name,
        "SIMPLISMART_LEASE_SECONDS": "4",
    }
    operator = OperatorProcess(control_plane.kubeconfig, url, tmp_path / "operator.log", **election)
    # Runs that end while the API server is away are ended once it is back and led again.
    with InvariantMonitor(kube, namespace.name, overdue_grace=30.0) as monitor:
        namespace.cluster("pool", cpu=2, ram=2, gpu=0)
        for index in range(8):
            namespace.deployment(f"job-{index}", "pool", cpu=1, ram=1, duration=2)
        with operator:
            monitor.wait_all({"Running", "Succeeded"}, count=2, timeout=30)
            control_plane.kill_api_server()
            time.sleep(10)
            control_plane.start_api_server()
            for index in range(8, 12):
                namespace.deployment(f"job-{index}", "pool", cpu=1, ram=1, duration=1)
            monitor.wait_all({"Succeeded"}, count=12, timeout=90)
        assert set(monitor.starts.values()) == {1}
    monitor.assert_clean()
    log = operator.output()
    assert log.count("leading as") >= 2, "the Lease was never given up and taken again"
    assert "cannot reach the Kubernetes API server" in log
    assert "Traceback" not in log
    assert "Retrying (Retry(" not in log  # urllib3's three lines per refused request


def _pings(url: str) -> bool:
    try:
        return bool(redis.Redis.from_url(url).ping())
    except redis.ConnectionError:
        return False


def _event_messages(kubeconfig: str, namespace: Namespace) -> str:
    return subprocess.run(
        ["kubectl", f"--kubeconfig={kubeconfig}", "-n", namespace.name, "get", "events",
         "-o", "jsonpath={.items[*].message}"],
        check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
