"""Operator benchmark: the API server's status-write limit, then the operator against it.

Run by `make bench` (hack/bench.sh), which provides KUBECONFIG and SIMPLISMART_REDIS_URL. Three
measurements, in order:

1. The physical limit (bench/status_load.py): Deployment status PATCHes per second that
   kube-apiserver and etcd sustain, written as the operator writes them, before the operator
   starts.
2. The burst: 1,000 deployments over 10 clusters created at once, runs of 1-3 s. Admissions per
   second, the operator's status writes per second (MODIFIED events on a watch: nobody else
   writes), both as a share of the limit, and writes per deployment.
3. Two paced runs onto clusters that can run a little less than arrives, so that queues form
   and starts wait for expiries: one at the arrival rate whose writes come to about half the
   limit, one at half the burst's admission rate (half the operator's saturating load),
   repeated and reported by its median run, as its latency moves between runs. The latency
   from an expiry to the Running status it made room for, as a client watching sees it, and
   the API server's own time per status write (its request-duration histogram).

Writes docs/benchmarks/operator.md.
"""

import argparse
import math
import os
import platform
import random
import statistics
import sys
import tempfile
import threading
import time
from bisect import bisect_right
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from harness.kube import Namespace, api_client, as_json, wait_for
from harness.observe import KindWatch, percentile, process_figures, scrape
from harness.ports import free_port
from harness.processes import OperatorProcess
from kubernetes import client, config
from kubernetes.client.exceptions import ApiException

from simplismart.crds import CLUSTER, DEPLOYMENT, DeploymentStatus, parse_time
from simplismart.operator import statuses

#: Large enough that the operator, not capacity, bounds the admission rate: about 19 average
#: runs fit per cluster, so 10 clusters could start ~95 per second with 2 s runs.
CAPACITY = {"cpu": 48, "ram": 96, "gpu": 12}
#: Mean of the 1-3 s runs every deployment here asks for.
MEAN_RUN_SECONDS = 2.0
#: The paced run's clusters can run this share of what arrives: enough below 1 that starts
#: wait for expiries, close enough that the queue stays short.
SERVICE_SHARE = 0.85
#: Slots the paced run aims to give each cluster, using fewer clusters when arrivals are few.
SLOTS_PER_CLUSTER = 4
#: Seconds a run's namespace may take to be deleted: the next run starts only then, so that
#: no run shares the API server (and the operator's watch) with the previous one's teardown.
TEARDOWN_SECONDS = 300.0
OUTPUT = Path(__file__).resolve().parents[1] / "docs/benchmarks/operator.md"

#: name, cluster, cpu, ram, gpu, priority, duration
Spec = tuple[str, str, int, int, int, int, int]


@dataclass(frozen=True)
class RunFigures:
    deployments: int
    clusters: int
    slots: int
    """Runs of one unit each of its clusters fits at once (the paced run's sizing)."""
    arrivals_per_second: float | None
    """Achieved creation rate of a paced run; None when everything was created at once."""
    creating_seconds: float
    total_seconds: float
    admissions_per_second: float
    writes: int
    cluster_writes: int
    status_writes_per_second: float
    """Deployment and Cluster status writes per second: over the whole run for a burst, over
    the arrivals (the steady state, before the queue drains) for a paced run."""
    latencies_ms: list[float]
    """Expiry → Running visible, for each start that waited for an expiry."""
    wake_ms: list[float]
    """The first part of each latency: expiry → the pass that started it began (its
    startedAt); the rest is that pass's writes and the watch's delivery."""
    mean_pass_ms: float
    server_patch_ms: tuple[float, float]
    """The API server's own time per Deployment status PATCH over the run, p50 and p99 (its
    histogram's buckets, interpolated as Prometheus's histogram_quantile does)."""
    operator_cpu_share: float
    started_by_metrics: float
    ended_by_metrics: float

    @property
    def writes_per_deployment(self) -> float:
        return self.writes / self.deployments

    @property
    def all_writes_per_deployment(self) -> float:
        return (self.writes + self.cluster_writes) / self.deployments


# The physical limit: status writes the API server sustains, written as the operator writes them.

WRITERS = 16
OBJECTS = 200
SECONDS = 10.0


@dataclass(frozen=True)
class PatchLimit:
    writes_per_second: float
    writes: int
    conflicts: int
    p50_ms: float
    p99_ms: float
    client_cpu_share: float
    """CPU seconds the writers' process used per second of wall time: near 1 means the Python
    client, not the API server, may be what bounds the rate."""


def measure_patch_limit(
    kubeconfig: str, objects: int = OBJECTS, writers: int = WRITERS, seconds: float = SECONDS
) -> PatchLimit:
    """Create ``objects`` deployments in a namespace of their own, patch their status from
    ``writers`` threads for ``seconds``, then delete the namespace.

    Each write is a JSON merge patch to the status subresource carrying a resourceVersion
    precondition, with a body the operator's own status builder makes (a queue-position
    rewrite). ``writers`` is the operator's WRITE_CONCURRENCY; each owns a slice of the objects
    and reuses the resourceVersion every write returns, so none conflicts. The client is the
    official Python one, as in the operator, so its cost is part of the limit: the ceiling a
    Python operator could reach, not kube-apiserver's alone.
    """
    api = _pooled_client(kubeconfig, writers)
    namespace = Namespace(api, prefix="limit")
    try:
        with ThreadPoolExecutor(8) as pool:
            created = list(
                pool.map(lambda i: _create_target(namespace, f"w-{i:04d}"), range(objects))
            )
        custom = client.CustomObjectsApi(api)
        slices = [created[i::writers] for i in range(writers)]
        deadline = time.monotonic() + seconds
        results: list[tuple[list[float], int]] = []
        lock = threading.Lock()

        def write(owned: list[dict[str, Any]]) -> None:
            latencies, conflicts = _write_until(custom, namespace.name, owned, deadline)
            with lock:
                results.append((latencies, conflicts))

        cpu_before, wall_before = time.process_time(), time.monotonic()
        threads = [threading.Thread(target=write, args=(owned,)) for owned in slices]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        cpu, wall = time.process_time() - cpu_before, time.monotonic() - wall_before
    finally:
        namespace.delete(wait=TEARDOWN_SECONDS)
    latencies = [latency for measured, _ in results for latency in measured]
    return PatchLimit(
        writes_per_second=len(latencies) / wall,
        writes=len(latencies),
        conflicts=sum(conflicts for _, conflicts in results),
        p50_ms=percentile(latencies, 0.5) * 1000,
        p99_ms=percentile(latencies, 0.99) * 1000,
        client_cpu_share=cpu / wall,
    )


def _pooled_client(kubeconfig: str, connections: int) -> client.ApiClient:
    """A client keeping one connection per writer, as the operator's does (kube.POOL_SIZE):
    a smaller pool would open and discard a TLS connection on many writes."""
    configuration = client.Configuration()
    config.load_kube_config(  # type: ignore[no-untyped-call]
        config_file=kubeconfig, client_configuration=configuration
    )
    configuration.connection_pool_maxsize = connections
    return client.ApiClient(configuration)


#: The cluster the load generator's deployments name: none of that name exists.
TARGET_CLUSTER = "none"


def _create_target(namespace: Namespace, name: str) -> dict[str, Any]:
    resources = {"cpu": 1, "ram": 1, "gpu": 0}
    spec = {"cluster": TARGET_CLUSTER, "resources": resources, "image": "x/y:1"}
    return namespace.create(DEPLOYMENT, name, spec)


def _write_until(
    custom: client.CustomObjectsApi,
    namespace: str,
    owned: list[dict[str, Any]],
    deadline: float,
) -> tuple[list[float], int]:
    """Patch ``owned`` round-robin until ``deadline``: seconds per write, and conflicts."""
    versions = {body["metadata"]["name"]: body["metadata"]["resourceVersion"] for body in owned}
    latencies: list[float] = []
    conflicts = position = 0
    moment = datetime.now(UTC)
    # Why it waits and its estimated start, as the operator writes for a queued deployment.
    wait = statuses.Wait(statuses.WAITING, "waiting for capacity behind others", moment)
    place = statuses.Place(TARGET_CLUSTER, moment)
    while time.monotonic() < deadline:
        for name in versions:
            position += 1
            status = statuses.queued(DeploymentStatus(), moment, place, position, 1, wait)
            body = {"metadata": {"resourceVersion": versions[name]}, "status": status}
            started = time.perf_counter()
            try:
                written = _patch_status(custom, namespace, name, body)
            except ApiException as error:
                if error.status != 409:
                    raise
                conflicts += 1
                continue
            latencies.append(time.perf_counter() - started)
            versions[name] = written["metadata"]["resourceVersion"]
            if time.monotonic() >= deadline:
                break
    return latencies, conflicts


def _patch_status(
    custom: client.CustomObjectsApi, namespace: str, name: str, body: dict[str, Any]
) -> dict[str, Any]:
    """The operator's write (kube.KubeApi.patch_deployment_status): a dict body is sent as a
    JSON merge patch."""
    return as_json(
        custom.patch_namespaced_custom_object_status(
            DEPLOYMENT.group, DEPLOYMENT.version, namespace, DEPLOYMENT.plural, name, body
        )
    )


# The operator against it.


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deployments", type=int, default=1000)
    parser.add_argument("--clusters", type=int, default=10)
    parser.add_argument("--paced-seconds", type=float, default=20.0, help="arrivals of run 3")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--repeats", type=int, default=3, help="runs of paced B; the median one is reported"
    )
    args = parser.parse_args()
    args.load = os.getloadavg()[0]
    kubeconfig, redis_url = os.environ["KUBECONFIG"], os.environ["SIMPLISMART_REDIS_URL"]
    api = api_client(kubeconfig)
    print("measuring the status-write limit (10 s)...", flush=True)
    limit = measure_patch_limit(kubeconfig)
    print(f"limit: {limit.writes_per_second:.0f} writes/s", flush=True)
    port = free_port()
    log = Path(tempfile.mkdtemp()) / "operator.log"
    operator = OperatorProcess(
        kubeconfig, redis_url, log, SIMPLISMART_METRICS_PORT=str(port)
    ).start()
    assert operator.process is not None
    try:
        wait_for(lambda: _metrics_up(port), timeout=60, what="the operator's metrics port")
        burst = burst_run(api, operator.process.pid, port, args)
        half_limit = limit.writes_per_second / 2 / burst.all_writes_per_deployment
        paced = paced_run(api, operator.process.pid, port, half_limit, args)
        half_saturating = burst.admissions_per_second / 2
        repeats = [
            paced_run(api, operator.process.pid, port, half_saturating, args)
            for _ in range(args.repeats)
        ]
        calmer = sorted(repeats, key=lambda run: percentile(run.latencies_ms, 0.5))[
            len(repeats) // 2
        ]
        peak_kib = process_figures(operator.process.pid).peak_kib
    finally:
        operator.stop()
    print("measuring the status-write limit again, the operator stopped...", flush=True)
    limit_after = measure_patch_limit(kubeconfig)
    medians = [percentile(run.latencies_ms, 0.5) for run in repeats]
    report = _report(limit, limit_after, burst, paced, calmer, medians, peak_kib, args)
    print(report)
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    OUTPUT.write_text(report)
    return 0


def _metrics_up(port: int) -> bool:
    try:
        scrape(port, "simplismart_leader")
    except OSError:
        return False
    return True


def burst_run(api: client.ApiClient, pid: int, port: int, args: argparse.Namespace) -> RunFigures:
    generator = random.Random(args.seed)
    clusters = {f"pool-{i}": CAPACITY for i in range(args.clusters)}
    names = list(clusters)
    specs = [
        (
            f"d-{i:04d}",
            names[i % len(names)],
            generator.randint(1, 4),
            generator.randint(1, 8),
            generator.randint(0, 1),
            generator.randint(0, 1),
            generator.randint(1, 3),
        )
        for i in range(args.deployments)
    ]
    print(f"burst: {len(specs)} deployments over {len(clusters)} clusters at once...", flush=True)
    return measure_run(api, pid, port, clusters, specs, arrivals_per_second=None)


def paced_run(
    api: client.ApiClient, pid: int, port: int, arrivals: float, args: argparse.Namespace
) -> RunFigures:
    """``arrivals`` per second of uniform requests of one unit, so that each expiry frees
    exactly the room of one queued start."""
    # Runs that fit at once across all clusters; spread so that each cluster has a few slots
    # (with one or two, rounding would move the service share far from SERVICE_SHARE).
    runs_at_once = SERVICE_SHARE * arrivals * MEAN_RUN_SECONDS
    count = min(args.clusters, max(1, round(runs_at_once / SLOTS_PER_CLUSTER)))
    slots = max(1, round(runs_at_once / count))
    clusters = {f"pool-{i}": {"cpu": slots, "ram": slots, "gpu": 0} for i in range(count)}
    names = list(clusters)
    generator = random.Random(args.seed)
    specs = [
        (f"p-{i:05d}", names[i % len(names)], 1, 1, 0, 0, generator.randint(1, 3))
        for i in range(round(arrivals * args.paced_seconds))
    ]
    print(
        f"paced: {len(specs)} deployments at {arrivals:.1f}/s over {len(clusters)} clusters of "
        f"{slots} one-unit slots...",
        flush=True,
    )
    return measure_run(api, pid, port, clusters, specs, arrivals_per_second=arrivals)


def measure_run(
    api: client.ApiClient,
    pid: int,
    port: int,
    clusters: dict[str, dict[str, int]],
    specs: list[Spec],
    arrivals_per_second: float | None,
) -> RunFigures:
    """Create the clusters, then the deployments (at once, or paced), wait until every one has
    Succeeded, and measure what the watches, the metrics and /proc saw."""
    namespace = Namespace(api, prefix="bench")
    deployments = KindWatch(api, DEPLOYMENT, namespace.name).start()
    cluster_watch = KindWatch(api, CLUSTER, namespace.name).start()
    try:
        for name, capacity in clusters.items():
            namespace.cluster(name, **capacity)
        cpu_before = process_figures(pid).cpu_seconds
        passes_before = _passes(port)
        server_before = _server_patch_buckets(api)
        started = time.time()
        created_times = _create(namespace, specs, arrivals_per_second)
        created = time.time()
        wait_for(
            lambda: (
                sum(
                    (body.get("status") or {}).get("phase") == "Succeeded"
                    for body in list(deployments.bodies.values())
                )
                == len(specs)
            ),
            timeout=900,
            interval=0.5,
            what="all deployments to succeed",
        )
        finished = time.time()
        cpu = process_figures(pid).cpu_seconds - cpu_before
        passes = _passes(port)
        server = _server_patch_buckets(api)
        started_total = scrape(port, "simplismart_admissions_total", namespace=namespace.name)
        ended_total = scrape(port, "simplismart_run_ends_total", namespace=namespace.name)
    finally:
        deployments.stop()
        cluster_watch.stop()
        print(f"deleting {namespace.name} before the next run...", flush=True)
        namespace.delete(wait=TEARDOWN_SECONDS)
    running = list(deployments.running_seen.values())
    latencies = _expiry_to_running(deployments)
    writes = deployments.modified_times + cluster_watch.modified_times
    window = (min(writes), max(writes))
    arrivals = None
    if arrivals_per_second is not None:
        window = (min(created_times), max(created_times))
        arrivals = (len(created_times) - 1) / (window[1] - window[0])
    in_window = sum(window[0] <= moment <= window[1] for moment in writes)
    return RunFigures(
        deployments=len(specs),
        clusters=len(clusters),
        slots=min(capacity["cpu"] for capacity in clusters.values()),
        arrivals_per_second=arrivals,
        creating_seconds=created - started,
        total_seconds=finished - started,
        admissions_per_second=len(running) / (max(running) - min(running)),
        writes=deployments.modified,
        cluster_writes=cluster_watch.modified,
        status_writes_per_second=in_window / (window[1] - window[0]),
        latencies_ms=[total for total, _ in latencies],
        wake_ms=[wake for _, wake in latencies],
        mean_pass_ms=(passes[0] - passes_before[0]) / max(passes[1] - passes_before[1], 1) * 1000,
        server_patch_ms=_server_patch_ms(server_before, server),
        operator_cpu_share=cpu / (finished - started),
        started_by_metrics=started_total,
        ended_by_metrics=ended_total,
    )


def _create(
    namespace: Namespace, specs: list[Spec], arrivals_per_second: float | None
) -> list[float]:
    """Create every deployment, 8 requests at a time, each at its arrival time if paced;
    returns when each creation was answered."""
    answered: list[float] = []
    lock = threading.Lock()

    def create(spec: Spec) -> None:
        name, cluster, cpu, ram, gpu, priority, duration = spec
        namespace.deployment(
            name, cluster, cpu=cpu, ram=ram, gpu=gpu, priority=priority, duration=duration
        )
        with lock:
            answered.append(time.time())

    with ThreadPoolExecutor(8) as pool:
        if arrivals_per_second is None:
            list(pool.map(create, specs))
        else:
            start = time.monotonic()
            futures = []
            for index, spec in enumerate(specs):
                time.sleep(max(start + index / arrivals_per_second - time.monotonic(), 0))
                futures.append(pool.submit(create, spec))
            for future in futures:
                future.result()
    return answered


def _passes(port: int) -> tuple[float, float]:
    """Seconds spent in scheduling passes so far, and how many ran."""
    return (
        scrape(port, "simplismart_pass_seconds_sum"),
        scrape(port, "simplismart_pass_seconds_count"),
    )


#: The API server's request-duration histogram, for our Deployments' status PATCHes.
SERVER_HISTOGRAM = "apiserver_request_duration_seconds_bucket{"
SERVER_LABELS = (
    f'group="{DEPLOYMENT.group}"',
    f'resource="{DEPLOYMENT.plural}"',
    'subresource="status"',
    'verb="PATCH"',
)


def _server_patch_buckets(api: client.ApiClient) -> dict[float, float]:
    """Cumulative counts by upper bound (seconds) of the API server's histogram so far."""
    method, url, headers, _, _ = api.param_serialize(
        "GET", "/metrics", auth_settings=["BearerToken"]
    )
    text: bytes = api.call_api(method, url, headers).response.data
    buckets: dict[float, float] = {}
    for line in text.decode().splitlines():
        if line.startswith(SERVER_HISTOGRAM) and all(label in line for label in SERVER_LABELS):
            bound = line.split('le="', 1)[1].split('"', 1)[0]
            upper = math.inf if bound == "+Inf" else float(bound)
            buckets[upper] = buckets.get(upper, 0.0) + float(line.rsplit(" ", 1)[1])
    return buckets


def _server_patch_ms(before: dict[float, float], after: dict[float, float]) -> tuple[float, float]:
    """p50 and p99 (ms) of the PATCHes between two scrapes of the histogram."""
    counts = sorted((upper, after[upper] - before.get(upper, 0.0)) for upper in after)

    def quantile(share: float) -> float:
        total = counts[-1][1] if counts else 0.0
        lower, below = 0.0, 0.0
        for upper, cumulative in counts:
            if cumulative >= share * total and total > 0:
                if math.isinf(upper):
                    return lower * 1000  # beyond the last bound: the bound is all we know
                inside = cumulative - below
                fraction = (share * total - below) / inside if inside else 1.0
                return (lower + (upper - lower) * fraction) * 1000
            lower, below = upper, cumulative
        return math.nan

    return quantile(0.5), quantile(0.99)


def _expiry_to_running(watch: KindWatch) -> list[tuple[float, float]]:
    """For each start that had to wait for capacity: the time from the expiry that made room
    to its Running status being visible, and to the start of the pass that started it
    (milliseconds, both).

    A pass ends every run whose deadline is at or before its start (the startedAt it writes)
    and then starts what fits, so the expiry that made room is the latest on the cluster at or
    before startedAt, and a start waited for it if it was queued before it.
    """
    bodies = watch.bodies
    expiry_times: dict[str, list[float]] = {}
    for body in bodies.values():
        expiry = parse_time(body["status"]["expiresAt"]).timestamp()
        expiry_times.setdefault(body["spec"]["cluster"], []).append(expiry)
    for times in expiry_times.values():
        times.sort()
    latencies = []
    for name, seen in watch.running_seen.items():
        status = bodies[name]["status"]
        times = expiry_times[bodies[name]["spec"]["cluster"]]
        began = parse_time(status["startedAt"]).timestamp()
        index = bisect_right(times, began) - 1
        if index >= 0 and times[index] > parse_time(status["queuedAt"]).timestamp():
            latencies.append(((seen - times[index]) * 1000, (began - times[index]) * 1000))
    return latencies


LIMIT_MEASURES = (
    "status writes per second",
    "writes (conflicts)",
    "latency p50 / p99 (ms)",
    "writers' CPU per wall second",
)


def _limit_cells(limit: PatchLimit) -> tuple[str, ...]:
    """The values of LIMIT_MEASURES, in that order."""
    return (
        f"{limit.writes_per_second:.0f}",
        f"{limit.writes} ({limit.conflicts})",
        f"{limit.p50_ms:.1f} / {limit.p99_ms:.1f}",
        f"{limit.client_cpu_share:.2f}",
    )


def _report(
    limit: PatchLimit,
    limit_after: PatchLimit,
    burst: RunFigures,
    paced: RunFigures,
    calmer: RunFigures,
    calmer_medians: list[float],
    peak_kib: int,
    args: argparse.Namespace,
) -> str:
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    ceiling = limit.writes_per_second
    runs = (burst, paced, calmer)

    def share(value: float) -> str:
        return f"{value:.1f} ({value / ceiling:.0%} of the limit)"

    def quantiles(values: list[float]) -> str:
        if not values:
            return "no samples"
        return f"{statistics.median(values):.0f} / {percentile(values, 0.99):.0f}"

    def row(label: str, cells: list[str], target: str = "") -> str:
        return f"| {label} | {' | '.join(cells)} | {target} |"

    assert paced.arrivals_per_second is not None
    assert calmer.arrivals_per_second is not None
    return "\n".join(
        [
            "# Operator benchmark",
            "",
            f"Measured {stamp} on a {os.cpu_count()}-core machine, Python "
            f"{platform.python_version()}, with kube-apiserver, etcd, Redis, the operator and "
            f"the load generator sharing its cores; load average {args.load:.1f} when it "
            "started (anything else running shows there, and makes every figure noisier). etcd "
            "runs without fsync (hack/cluster-up.sh), so the limit is CPU, not disk.",
            "",
            "## The physical limit",
            "",
            f"Deployment status PATCHes (JSON merge patch to the status subresource with a "
            f"resourceVersion precondition, the operator's queued-status body) from {WRITERS} "
            f"concurrent writers, each reusing the resourceVersion its write returned, over "
            f"200 deployments for 10 s, before the operator starts. The writers use the same "
            f"Python client as the operator, so its cost is part of the limit.",
            "",
            "The ratios below use the measurement before the runs; the one after them shows "
            "how much the shared machine moved meanwhile.",
            "",
            "| measure | before the runs | after them |",
            "|---|---:|---:|",
            *(
                f"| {label} | {before} | {after} |"
                for label, before, after in zip(
                    LIMIT_MEASURES, _limit_cells(limit), _limit_cells(limit_after), strict=True
                )
            ),
            "",
            "## Burst and paced runs",
            "",
            f"Burst: {burst.deployments} deployments over {burst.clusters} clusters "
            f"({CAPACITY} each) created at once; requests CPU 1-4, RAM 1-8, GPU 0-1, "
            f"priority 0/1 at random (seed {args.seed}); runs of 1-3 s.",
            "",
            "Paced: deployments of one unit each, created at a steady rate over clusters that "
            f"can run about {SERVICE_SHARE:.0%} of what arrives, so queues form and starts wait "
            "for expiries; runs of 1-3 s. Two rates: "
            f"**A**, {paced.deployments} at {paced.arrivals_per_second:.1f}/s over "
            f"{paced.clusters} clusters of {paced.slots} one-unit slots, the rate at which the "
            "burst's writes per deployment (Deployment and Cluster status) would make half the "
            f"limit; **B**, {calmer.deployments} at {calmer.arrivals_per_second:.1f}/s over "
            f"{calmer.clusters} clusters of {calmer.slots} slots, half the burst's admission "
            f"rate (the operator's saturating load). B runs {len(calmer_medians)} times "
            "(the latency moves between runs of the same code on this shared machine); its "
            "column is the run with the median expiry → Running p50, and the p50 of every run "
            f"was {', '.join(f'{m:.0f}' for m in sorted(calmer_medians))} ms.",
            "",
            "Status writes are the MODIFIED events of watches on both kinds (nobody else "
            "writes after creation), per second over the whole burst and over a paced run's "
            "arrivals (its steady state); runs started and ended are the operator's own "
            "counters. Admissions per second count from the first Running to the last. The API "
            "server's own time per write comes from its request-duration histogram, scraped "
            "before and after each run. Each run begins once the previous run's namespace "
            "and its deployments are deleted, so no run shares the machine with another's "
            "teardown.",
            "",
            "| measure | burst | paced A | paced B | target |",
            "|---|---:|---:|---:|---:|",
            row(
                "admissions per second",
                [share(run.admissions_per_second) for run in runs],
                "≥ 60 (burst)",
            ),
            row(
                "status writes per second (Deployment + Cluster)",
                [share(run.status_writes_per_second) for run in runs],
                "≈ 50% (paced A)",
            ),
            row(
                "Deployment status writes per deployment",
                [f"{run.writes_per_deployment:.2f}" for run in runs],
            ),
            row(
                "Cluster status writes per deployment",
                [f"{run.cluster_writes / run.deployments:.2f}" for run in runs],
            ),
            row(
                "expiry → Running it made room for, p50 / p99 (ms)",
                [quantiles(run.latencies_ms) for run in runs],
                "≤ 100 p50 (paced B)",
            ),
            row(
                "of which expiry → its pass began (startedAt), p50 / p99 (ms)",
                [quantiles(run.wake_ms) for run in runs],
            ),
            row(
                "the API server's own time per Deployment status PATCH, p50 / p99 (ms)",
                [f"{run.server_patch_ms[0]:.0f} / {run.server_patch_ms[1]:.0f}" for run in runs],
            ),
            row("mean scheduling pass (ms)", [f"{run.mean_pass_ms:.0f}" for run in runs]),
            row(
                "starts that waited for an expiry (samples)",
                [f"{len(run.latencies_ms)}" for run in runs],
            ),
            row(
                "runs started / ended (operator metrics)",
                [f"{run.started_by_metrics:.0f} / {run.ended_by_metrics:.0f}" for run in runs],
                "= deployments",
            ),
            row("operator CPU per wall second", [f"{run.operator_cpu_share:.2f}" for run in runs]),
            row("creating all deployments (s)", [f"{run.creating_seconds:.1f}" for run in runs]),
            row("first create → last Succeeded (s)", [f"{run.total_seconds:.1f}" for run in runs]),
            row(
                "operator peak RSS over all runs (MiB)",
                [f"{peak_kib / 1024:.0f}", "", ""],
                "≤ 200",
            ),
            "",
        ]
    )


if __name__ == "__main__":
    sys.exit(main())
