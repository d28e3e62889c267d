"""Finished deployments are deleted when their TTL says, by a timer that survives a restart."""

import time
from pathlib import Path

import pytest
from harness.kube import Namespace, wait_for
from harness.monitor import InvariantMonitor
from harness.processes import OperatorProcess

from simplismart.crds import CLUSTER, DEPLOYMENT, parse_time

pytestmark = pytest.mark.integration


def test_finished_deployments_are_deleted_after_their_ttl_even_across_a_restart(
    kubeconfig: str,
    redis_url: str,
    namespace: Namespace,
    monitor: InvariantMonitor,
    tmp_path: Path,
) -> None:
    namespace.cluster("pool", cpu=4, ram=4, gpu=0, runDuration={"minSeconds": 1, "maxSeconds": 1})
    namespace.patch_spec(CLUSTER, "pool", {"history": {"ttlSecondsAfterFinished": 15}})
    namespace.deployment("keep-default", "pool", cpu=1, duration=1)
    namespace.deployment("at-once", "pool", cpu=1, duration=1)
    namespace.patch_spec(DEPLOYMENT, "at-once", {"ttlSecondsAfterFinished": 0})
    log = tmp_path / "operator.log"
    with OperatorProcess(kubeconfig, redis_url, log):
        # at-once is deleted as it finishes: count the ends the monitor saw, not what is left.
        wait_for(lambda: len(monitor.ends) == 2, timeout=30, what="both runs ended")
        wait_for(lambda: "at-once" not in namespace.phases(), timeout=10, what="at-once deleted")
        kept = namespace.get(DEPLOYMENT, "keep-default")["status"]
        assert kept["retainedUntil"] > kept["finishedAt"]
    # Stopped before keep-default's 15 s passed: a new process must still delete it on time.
    with OperatorProcess(kubeconfig, redis_url, log):
        wait_for(lambda: not namespace.phases(), timeout=60, what="keep-default deleted")
    deleted_at = time.time()
    # Not before its time, and by the new process (the first one was stopped before it).
    assert deleted_at >= parse_time(kept["retainedUntil"]).timestamp()
    assert len(monitor.starts) == 2
    assert set(monitor.starts.values()) == {1}
