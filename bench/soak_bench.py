"""Soak benchmark of bounded history: a steady stream of deployments that expire after 10 s.

Run by `make bench` with BENCH_SOAK_MINUTES set (hack/bench.sh), which provides KUBECONFIG and
SIMPLISMART_REDIS_URL; or ``python bench/soak_bench.py --minutes N`` with both set. It starts the
operator and the HTTP API (``python -m simplismart.api``, dev mode, SQLite) against them,
registers a user, creates an organization and its clusters through the API, sets each Cluster's
``spec.history.ttlSecondsAfterFinished`` directly on the custom resource (the API has no field
for it), then creates deployments through the API at a steady rate for ``--minutes``.

Every ``--sample-seconds`` it records both processes' resident memory, the number of Deployment
objects, and the latency of ``GET /deployments``. At the end it waits for every run to end and
every deployment to be deleted, and checks that each ran exactly once before its deletion: the
operator's counters (admissions == run ends == created == deleted) and a watch that saw every
deletion's last state. Writes docs/benchmarks/soak.md.
"""

import argparse
import os
import platform
import random
import secrets
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
from harness.api_process import serving
from harness.kube import api_client, as_json, wait_for
from harness.observe import KindWatch, percentile, process_figures, scrape
from harness.ports import free_port
from harness.processes import OperatorProcess
from kubernetes import client

from simplismart.crds import CLUSTER, DEPLOYMENT, parse_time

OUTPUT = Path(__file__).resolve().parents[1] / "docs/benchmarks/soak.md"
#: Each cluster fits about 80 of the deployments below at once, against the ~50 that 2 arrivals
#: per second with 20-30 s runs keep running: queues stay short, as in a healthy steady state.
CLUSTER_SIZE = {"total_cpu": 120, "total_ram": 120, "total_gpu": 8}
#: The run window every Cluster the API creates gets (the CRD's default runDuration).
LONGEST_RUN_SECONDS = 30
#: RSS figures leave out this warm-up: imports, caches and the first queues settle in it.
WARM_UP_SECONDS = 300
#: GET /deployments calls per sample.
LIST_CALLS = 5
#: How long the end waits for the last deletions once the last run ended: the TTL and more.
DRAIN_SECONDS = 120
#: How long the start waits for the operator to report the Clusters' TTL: past one resync.
OBSERVE_SECONDS = 120


@dataclass(frozen=True)
class Sample:
    elapsed: float
    created: int
    deleted: int
    operator_kib: int
    api_kib: int
    objects: int
    queued: int
    running: int
    list_p50_ms: float
    list_p99_ms: float


class Arrivals:
    """Creates deployments through the API at a steady rate from a background thread."""

    def __init__(self, http: httpx.Client, rate: float, clusters: list[str], seed: int) -> None:
        self._http = http
        self._rate = rate
        self._clusters = clusters
        self._random = random.Random(seed)
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self.created = 0
        self.refused: Counter[int] = Counter()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> "Arrivals":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        start = time.monotonic()
        with ThreadPoolExecutor(4) as pool:
            index = 0
            while not self._stop.is_set():
                time.sleep(max(start + index / self._rate - time.monotonic(), 0))
                body = {
                    "name": f"d-{index:06d}",
                    "cluster_name": self._clusters[index % len(self._clusters)],
                    "cpu": self._random.randint(1, 2),
                    "ram": self._random.randint(1, 2),
                    "gpu": 0,
                    "priority": self._random.randint(0, 1),
                    "docker_path": f"registry.example/model:{index}",
                }
                pool.submit(self._create, body)
                index += 1

    def _create(self, body: dict[str, object]) -> None:
        answer = self._http.post("/create_deployment", json=body)
        with self._lock:
            if answer.status_code == 201:
                self.created += 1
            else:
                self.refused[answer.status_code] += 1


def organization(http: httpx.Client, api: client.ApiClient, clusters: list[str], ttl: int) -> str:
    """Register, log in, create an organization and its clusters; returns its namespace."""
    password = secrets.token_urlsafe(12)
    http.post("/register", json={"username": "soak", "password": password}).raise_for_status()
    login = http.post("/login", json={"username": "soak", "password": password})
    http.headers["Authorization"] = f"Bearer {login.raise_for_status().json()['access_token']}"
    created = http.post("/create_organization", json={"name": "soak"}).raise_for_status()
    namespace: str = created.json()["organization"]["namespace"]
    custom = client.CustomObjectsApi(api)
    for name in clusters:
        http.post("/create_cluster", json={"name": name, **CLUSTER_SIZE}).raise_for_status()
        custom.patch_namespaced_custom_object(
            CLUSTER.group, CLUSTER.version, namespace, CLUSTER.plural, name,
            {"spec": {"history": {"ttlSecondsAfterFinished": ttl}}},
        )  # fmt: skip
    return namespace


def wait_until_observed(api: client.ApiClient, namespace: str, clusters: list[str]) -> float:
    """Seconds until the operator reports every Cluster's latest generation (the TTL set on
    it), so that no run ends under the API's default TTL."""
    custom = client.CustomObjectsApi(api)
    began = time.monotonic()

    def observed(name: str) -> bool:
        body = custom.get_namespaced_custom_object(
            CLUSTER.group, CLUSTER.version, namespace, CLUSTER.plural, name
        )
        assert isinstance(body, dict)
        generation = body["metadata"]["generation"]
        return bool((body.get("status") or {}).get("observedGeneration", 0) >= generation)

    _wait(lambda: all(observed(name) for name in clusters), OBSERVE_SECONDS)
    return time.monotonic() - began


def sample(
    started: float,
    arrivals: Arrivals,
    http: httpx.Client,
    api: client.ApiClient,
    namespace: str,
    pids: tuple[int, int],
    metrics_port: int,
) -> Sample:
    seconds = []
    for _ in range(LIST_CALLS):
        began = time.perf_counter()
        http.get("/deployments").raise_for_status()
        seconds.append((time.perf_counter() - began) * 1000)
    listed = client.CustomObjectsApi(api).list_namespaced_custom_object(
        DEPLOYMENT.group, DEPLOYMENT.version, namespace, DEPLOYMENT.plural
    )
    assert isinstance(listed, dict)
    operator_pid, api_pid = pids
    return Sample(
        elapsed=time.monotonic() - started,
        created=arrivals.created,
        deleted=round(scrape(metrics_port, "simplismart_finished_deleted_total")),
        operator_kib=process_figures(operator_pid).rss_kib,
        api_kib=process_figures(api_pid).rss_kib,
        objects=len(listed["items"]),
        queued=round(scrape(metrics_port, "simplismart_queue_depth", namespace=namespace)),
        running=round(scrape(metrics_port, "simplismart_running", namespace=namespace)),
        list_p50_ms=statistics.median(seconds),
        list_p99_ms=max(seconds),
    )


@dataclass(frozen=True)
class Outcome:
    created: int
    refused: Counter[int]
    started: float
    ended: float
    deleted: float
    deleted_when_arrivals_stopped: float
    watch: KindWatch
    arrival_seconds: float
    observed_after: float
    """Seconds from setting the Clusters' TTL to the operator reporting that generation."""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--rate", type=float, default=10.0, help="deployments per second")
    parser.add_argument("--clusters", type=int, default=5)
    parser.add_argument("--ttl", type=int, default=10, help="ttlSecondsAfterFinished")
    parser.add_argument("--sample-seconds", type=float, default=15.0)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    args.load = os.getloadavg()[0]
    kubeconfig, redis_url = os.environ["KUBECONFIG"], os.environ["SIMPLISMART_REDIS_URL"]
    api = api_client(kubeconfig)
    _wait_for_no_deployments(api)
    state = Path(tempfile.mkdtemp(prefix="simplismart-soak-"))
    port = free_port()
    operator = OperatorProcess(
        kubeconfig, redis_url, state / "operator.log", SIMPLISMART_METRICS_PORT=str(port)
    ).start()
    assert operator.process is not None
    try:
        with serving(state, kubeconfig, dev_mode="1") as (base, server):
            samples, outcome = soak(api, base, (operator.process.pid, server.pid), port, args)
    finally:
        operator.stop()
    report = _report(samples, outcome, args)
    print(report)
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    OUTPUT.write_text(report)
    return 0


def _wait_for_no_deployments(api: client.ApiClient, timeout: float = 600.0) -> None:
    """Start on a control plane with no Deployment left: the operator here watches every
    namespace, and anything an earlier benchmark left (each deletes its namespaces, waiting
    until they are gone) would otherwise be run, and measured, as part of the soak."""
    custom = client.CustomObjectsApi(api)

    def none_left() -> bool:
        listed = as_json(
            custom.list_cluster_custom_object(
                DEPLOYMENT.group, DEPLOYMENT.version, DEPLOYMENT.plural, limit=1
            )
        )
        left = int(listed["metadata"].get("remainingItemCount") or 0) + len(listed["items"])
        if left:
            print(
                f"waiting for earlier benchmarks' {left} Deployments to be deleted...", flush=True
            )
        return not left

    wait_for(none_left, timeout, interval=10, what="earlier benchmarks' Deployments to be deleted")


def soak(
    api: client.ApiClient,
    base: str,
    pids: tuple[int, int],
    port: int,
    args: argparse.Namespace,
) -> tuple[list[Sample], Outcome]:
    http = httpx.Client(base_url=base, timeout=60)
    clusters = [f"pool-{i}" for i in range(args.clusters)]
    namespace = organization(http, api, clusters, args.ttl)
    observed_after = wait_until_observed(api, namespace, clusters)
    print(f"the operator reported the Clusters' TTL after {observed_after:.1f} s", flush=True)
    watch = KindWatch(api, DEPLOYMENT, namespace).start()
    samples: list[Sample] = []
    started = time.monotonic()
    arrivals = Arrivals(http, args.rate, clusters, args.seed).start()
    try:
        while time.monotonic() - started < args.minutes * 60:
            time.sleep(
                max(started + (len(samples) + 1) * args.sample_seconds - time.monotonic(), 0)
            )
            samples.append(sample(started, arrivals, http, api, namespace, pids, port))
            last = samples[-1]
            print(
                f"{last.elapsed / 60:5.1f} min: {last.created} created, {last.deleted} deleted, "
                f"{last.objects} objects, "
                f"operator {last.operator_kib / 1024:.0f} MiB, API {last.api_kib / 1024:.0f} MiB, "
                f"GET /deployments p50 {last.list_p50_ms:.0f} ms",
                flush=True,
            )
    finally:
        arrivals.stop()
    arrival_seconds = time.monotonic() - started
    deleted_then = scrape(port, "simplismart_finished_deleted_total")
    created = arrivals.created

    def counter(name: str) -> float:
        return scrape(port, name, namespace=namespace)

    # The waits below report what they find rather than fail: a soak that ran for half an
    # hour is worth its table even when the end is not what it should be.
    print("arrivals stopped; waiting for every run to end and every deployment to go...")
    _wait(lambda: counter("simplismart_run_ends_total") >= created, LONGEST_RUN_SECONDS * 4 + 60)
    _wait(lambda: scrape(port, "simplismart_finished_deleted_total") >= created, DRAIN_SECONDS)
    _wait(lambda: len(watch.deleted) >= scrape(port, "simplismart_finished_deleted_total"), 60)
    watch.stop()
    return samples, Outcome(
        created=created,
        refused=arrivals.refused,
        started=counter("simplismart_admissions_total"),
        ended=counter("simplismart_run_ends_total"),
        deleted=scrape(port, "simplismart_finished_deleted_total"),
        deleted_when_arrivals_stopped=deleted_then,
        watch=watch,
        arrival_seconds=arrival_seconds,
        observed_after=observed_after,
    )


def _wait(probe: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not probe() and time.monotonic() < deadline:
        time.sleep(1)


def _slope_kib_per_thousand(samples: list[Sample], memory: str) -> float:
    """Least-squares slope of a process's RSS against deployments created so far."""
    xs = [s.created / 1000 for s in samples]
    ys: list[float] = [getattr(s, memory) for s in samples]
    mean_x, mean_y = statistics.fmean(xs), statistics.fmean(ys)
    spread = sum((x - mean_x) ** 2 for x in xs)
    return sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / spread


def _memory_row(label: str, samples: list[Sample], memory: str) -> str:
    values = [getattr(s, memory) for s in samples]
    middle = (max(values) + min(values)) / 2
    return (
        f"| {label} | {min(values) / 1024:.0f}-{max(values) / 1024:.0f} MiB "
        f"(±{(max(values) - min(values)) / 2 / middle:.1%}), "
        f"{_slope_kib_per_thousand(samples, memory):+.0f} KiB per 1,000 deployments | ±10 % |"
    )


def _quantile(values: list[float], share: float, form: str) -> str:
    return format(percentile(values, share), form) if values else "n/a"


def _report(samples: list[Sample], outcome: Outcome, args: argparse.Namespace) -> str:
    settled = [s for s in samples if s.elapsed >= WARM_UP_SECONDS] or samples[-2:]
    watch = outcome.watch
    deletions = list(watch.deleted.values())
    once = sum(d.phase == "Succeeded" and d.starts == 1 for d in deletions)
    left = watch.bodies
    left_once = sum(
        (body.get("status") or {}).get("phase") == "Succeeded" and watch.starts.get(name) == 1
        for name, body in left.items()
    )
    waits: list[float] = []
    runs: list[float] = []
    late: list[float] = []
    for deletion in deletions:
        status = deletion.status
        queued, begun = parse_time(status["queuedAt"]), parse_time(status["startedAt"])
        finished, kept = parse_time(status["finishedAt"]), parse_time(status["retainedUntil"])
        waits.append((begun - queued).total_seconds())
        runs.append((finished - begun).total_seconds())
        late.append((deletion.seen_at - kept.timestamp()) * 1000)
    rate = outcome.created / outcome.arrival_seconds
    longest_wait, longest_run = max(waits, default=0.0), max(runs, default=0.0)
    bound = rate * (longest_wait + longest_run + args.ttl)
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    refused = (
        ", ".join(f"{n} answered {code}" for code, n in sorted(outcome.refused.items())) or "none"
    )
    every_minute = samples[:: max(1, round(60 / args.sample_seconds))]
    return "\n".join(
        [
            "# Soak benchmark: bounded history",
            "",
            f"{outcome.arrival_seconds / 60:.1f} minutes of deployments created through the HTTP "
            f"API at {args.rate:g} per second over {args.clusters} clusters "
            f"({CLUSTER_SIZE['total_cpu']} CPU, {CLUSTER_SIZE['total_ram']} RAM each; requests "
            f"of 1-2 CPU and RAM; runs of 20-30 s, the API's default) with "
            f"`ttlSecondsAfterFinished: {args.ttl}` on each Cluster (set on the custom resource: "
            "the API has no field for it). The operator and the API (one uvicorn worker, "
            "SQLite) run as processes against a local kube-apiserver, etcd and Redis. Measured "
            f"{stamp} on a {os.cpu_count()}-core machine they share (load average "
            f"{args.load:.1f} at the start: anything else running shows there), Python "
            f"{platform.python_version()}. Memory figures leave out the first "
            f"{WARM_UP_SECONDS // 60} minutes ({len(settled)} samples, one every "
            f"{args.sample_seconds:g} s).",
            "",
            "| measure | value | target |",
            "|---|---:|---:|",
            f"| setting the Clusters' TTL → the operator reports it (s) | "
            f"{outcome.observed_after:.1f} | |",
            f"| duration of arrivals (min) | {outcome.arrival_seconds / 60:.1f} | 30 |",
            f"| deployments created (achieved rate) | {outcome.created} ({rate:.2f}/s) | |",
            f"| creations refused | {refused} | none |",
            _memory_row("operator RSS after warm-up (spread, slope)", settled, "operator_kib"),
            _memory_row("API RSS after warm-up (spread, slope)", settled, "api_kib"),
            f"| Deployment objects, max sampled (mean) | {max(s.objects for s in samples)} "
            f"({statistics.fmean(s.objects for s in samples):.0f}) | ≤ {bound:.0f} |",
            f"| bound = rate x (max queue {longest_wait:.1f} s + max run {longest_run:.1f} s + "
            f"TTL {args.ttl} s) | {bound:.0f} | |",
            f"| GET /deployments p50, first → last sample after warm-up (ms) | "
            f"{settled[0].list_p50_ms:.0f} → {settled[-1].list_p50_ms:.0f} | flat |",
            f"| GET /deployments slowest of {LIST_CALLS} calls, worst sample (ms) | "
            f"{max(s.list_p99_ms for s in settled):.0f} | |",
            f"| runs started / ended / deleted (operator metrics) | {outcome.started:.0f} / "
            f"{outcome.ended:.0f} / {outcome.deleted:.0f} | = created |",
            f"| deleted when arrivals stopped | {outcome.deleted_when_arrivals_stopped:.0f} "
            f"(created - {outcome.created - outcome.deleted_when_arrivals_stopped:.0f}) | |",
            f"| deletions seen by a watch: Succeeded and started exactly once | {once} of "
            f"{len(deletions)} (watch re-lists: {watch.relists}) | all |",
            f"| left undeleted when the drain ended: Succeeded and started exactly once | "
            f"{left_once} of {len(left)} | none left |",
            f"| deletion after retainedUntil, p50 / p99 (ms) | {_quantile(late, 0.5, '.0f')} / "
            f"{_quantile(late, 0.99, '.0f')} | |",
            f"| queue wait p50 / max (s) | {_quantile(waits, 0.5, '.2f')} / {longest_wait:.2f} | |",
            "",
            "Every minute:",
            "",
            "| min | created | deleted | objects | queued | running | operator MiB | API MiB "
            "| GET /deployments p50 / slowest (ms) |",
            "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
            *(
                f"| {s.elapsed / 60:.1f} | {s.created} | {s.deleted} | {s.objects} | {s.queued} "
                f"| {s.running} "
                f"| {s.operator_kib / 1024:.0f} | {s.api_kib / 1024:.0f} "
                f"| {s.list_p50_ms:.0f} / {s.list_p99_ms:.0f} |"
                for s in every_minute
            ),
            "",
        ]
    )


if __name__ == "__main__":
    sys.exit(main())
