"""Operator benchmark: 1,000 deployments over 10 clusters with 1-3 s runs.

Run by `make bench` (hack/bench.sh), which provides KUBECONFIG and SIMPLISMART_REDIS_URL. Reports
admissions per second, the latency from a lease's expiry to the next Running status on the same
cluster (observed through a watch, as a client would see it), and the operator's peak memory.
Writes docs/benchmarks/operator.md.
"""

import argparse
import os
import platform
import random
import statistics
import sys
import tempfile
import threading
import time
from bisect import bisect_left
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from harness.kube import Namespace, api_client, wait_for
from harness.processes import OperatorProcess
from kubernetes import client, watch

from simplismart.crds import DEPLOYMENT, parse_time

#: Large enough that the operator, not capacity, bounds the admission rate: about 19 average
#: runs fit per cluster, so 10 clusters could start ~95 per second with 2 s runs.
CAPACITY = {"cpu": 48, "ram": 96, "gpu": 12}
OUTPUT = Path(__file__).resolve().parents[1] / "docs/benchmarks/operator.md"


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(int(share * len(ordered)), len(ordered) - 1)]


class RunningWatch:
    """Records when each deployment's Running and Succeeded statuses became visible."""

    def __init__(self, api: client.ApiClient, namespace: str) -> None:
        self._custom = client.CustomObjectsApi(api)
        self.namespace = namespace
        self.running_seen: dict[str, float] = {}
        self.bodies: dict[str, dict[str, Any]] = {}
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        version = None
        while not self.done.is_set():
            options: dict[str, Any] = {"timeout_seconds": 5}
            if version:
                options["resource_version"] = version
            for event in watch.Watch().stream(  # type: ignore[no-untyped-call]
                self._custom.list_namespaced_custom_object,
                DEPLOYMENT.group, DEPLOYMENT.version, self.namespace, DEPLOYMENT.plural,
                **options,
            ):  # fmt: skip
                body = event["object"]
                version = body["metadata"]["resourceVersion"]
                name = body["metadata"]["name"]
                self.bodies[name] = body
                phase = (body.get("status") or {}).get("phase")
                if phase == "Running" and name not in self.running_seen:
                    self.running_seen[name] = time.time()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--deployments", type=int, default=1000)
    parser.add_argument("--clusters", type=int, default=10)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    kubeconfig, redis_url = os.environ["KUBECONFIG"], os.environ["SIMPLISMART_REDIS_URL"]
    api = api_client(kubeconfig)
    namespace = Namespace(api, prefix="bench")
    generator = random.Random(args.seed)
    log = Path(tempfile.mkdtemp()) / "operator.log"
    operator = OperatorProcess(kubeconfig, redis_url, log).start()
    watcher = RunningWatch(api, namespace.name)
    watcher.thread.start()
    try:
        clusters = [f"pool-{i}" for i in range(args.clusters)]
        for name in clusters:
            namespace.cluster(name, cpu=CAPACITY["cpu"], ram=CAPACITY["ram"], gpu=CAPACITY["gpu"])
        specs = [
            (
                f"d-{i:04d}",
                clusters[i % args.clusters],
                generator.randint(1, 4),
                generator.randint(1, 8),
                generator.randint(0, 1),
                generator.randint(0, 1),
                generator.randint(1, 3),
            )
            for i in range(args.deployments)
        ]
        print(f"creating {len(specs)} deployments over {len(clusters)} clusters...", flush=True)
        started = time.time()
        with ThreadPoolExecutor(8) as pool:
            list(
                pool.map(
                    lambda s: namespace.deployment(
                        s[0], s[1], cpu=s[2], ram=s[3], gpu=s[4], priority=s[5], duration=s[6]
                    ),
                    specs,
                )
            )
        created = time.time()
        print(f"created in {created - started:.1f}s; waiting for every run to finish...")
        wait_for(
            lambda: (
                sum(
                    (b.get("status") or {}).get("phase") == "Succeeded"
                    for b in list(watcher.bodies.values())
                )
                == len(specs)
            ),
            timeout=900,
            interval=1,
            what="all deployments to succeed",
        )
        finished = time.time()
        peak_kib = _peak_rss_kib(operator)
    finally:
        watcher.done.set()
        operator.stop()
        namespace.delete()

    report = _report(watcher, specs, started, created, finished, peak_kib, args)
    print(report)
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    OUTPUT.write_text(report)
    return 0


def _peak_rss_kib(operator: OperatorProcess) -> int:
    assert operator.process is not None
    status = Path(f"/proc/{operator.process.pid}/status").read_text()
    line = next(line for line in status.splitlines() if line.startswith("VmHWM:"))
    return int(line.split()[1])


def _report(
    watcher: RunningWatch,
    specs: list[tuple[str, str, int, int, int, int, int]],
    started: float,
    created: float,
    finished: float,
    peak_kib: int,
    args: argparse.Namespace,
) -> str:
    bodies = watcher.bodies
    expiries: list[tuple[str, float]] = [
        (body["spec"]["cluster"], parse_time(body["status"]["expiresAt"]).timestamp())
        for body in bodies.values()
    ]
    # For each start that had to wait for capacity: the time from the latest expiry on its
    # cluster before it (the expiry that made room) to its Running status being visible.
    expiry_times: dict[str, list[float]] = {}
    for cluster, expiry in expiries:
        expiry_times.setdefault(cluster, []).append(expiry)
    for times in expiry_times.values():
        times.sort()
    latencies = []
    for name, seen in watcher.running_seen.items():
        body = bodies[name]
        times = expiry_times[body["spec"]["cluster"]]
        index = bisect_left(times, seen) - 1
        queued_at = parse_time(body["status"]["queuedAt"]).timestamp()
        if index >= 0 and times[index] > queued_at:
            latencies.append((seen - times[index]) * 1000)
    first = min(watcher.running_seen.values())
    last = max(watcher.running_seen.values())
    rate = len(watcher.running_seen) / (last - first)
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return "\n".join(
        [
            "# Operator benchmark",
            "",
            f"{len(specs)} deployments over {args.clusters} clusters ({CAPACITY} each),",
            "requests CPU 1-4, RAM 1-8, GPU 0-1, priority 0/1 at random (seed "
            f"{args.seed}), runs of 1-3 s. Measured {stamp} on {os.cpu_count()} cores, "
            f"Python {platform.python_version()}, with kube-apiserver, etcd, Redis and the "
            "operator on the same machine.",
            "",
            "| measure | value | target |",
            "|---|---:|---:|",
            f"| admissions per second (first to last Running) | {rate:.1f} | ≥ 50 |",
            f"| expiry → Running it made room for, p50 (ms) | {statistics.median(latencies):.0f} "
            "| ≤ 100 |",
            f"| expiry → Running it made room for, p99 (ms) | {percentile(latencies, 0.99):.0f} "
            "| ≤ 500 |",
            f"| starts that waited for an expiry (samples) | {len(latencies)} | |",
            f"| operator peak RSS (MiB) | {peak_kib / 1024:.0f} | ≤ 200 |",
            f"| creating all deployments (s) | {created - started:.1f} | |",
            f"| first create → last Succeeded (s) | {finished - started:.1f} | |",
            "",
        ]
    )


if __name__ == "__main__":
    sys.exit(main())
