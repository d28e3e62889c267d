"""Benchmark of the HTTP API: ``GET /deployments`` with 1,000 deployments in the organization,
and a flood of concurrent logins.

Run ``python bench/api_bench.py [--deployments N] [--requests N] [--login-flood-only]``. It
serves the API the way ``python -m simplismart.api`` does (one uvicorn worker, SQLite), against
the Kubernetes API in ``KUBECONFIG`` or, without one, a local control plane started (and
stopped) with the project's hack/ scripts. It fills one organization, then measures latency
(sequential requests) and throughput (several clients at once) and prints a Markdown table.

The login flood sends 32 logins at once, round after round, for unknown users and for a real
one, and reports the API process's peak memory (the kernel's high-water mark of its resident
set) and the login latency, with the default bound on concurrent hashes and with none (32).
Then one member sends 300 and 1,500 requests at once: how many admission served and how many
it turned away, and how soon.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import secrets
import statistics
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import httpx
from harness.api_process import BOOTSTRAP_TOKEN, serving
from harness.browser import chromium
from harness.control_plane import HACK, hack
from harness.kube import api_client, delete_namespace
from kubernetes import client as kubernetes


@contextmanager
def kubeconfig(state: Path) -> Iterator[str]:
    """The cluster in KUBECONFIG, or a throwaway local control plane with the CRDs."""
    external = os.environ.get("KUBECONFIG")
    path = external or hack("cluster-up.sh", state / "cluster")
    try:
        hack("apply-crds.sh", path)
        yield path
    finally:
        if not external:
            subprocess.run([HACK / "cluster-down.sh", state / "cluster"], check=True)


def populate(client: httpx.Client, deployments: int) -> None:
    """One ADMIN, one organization, one cluster, ``deployments`` deployments (8 at a time)."""
    password = secrets.token_urlsafe(12)
    client.post(
        "/register",
        json={"username": "bench", "password": password, "bootstrap_token": BOOTSTRAP_TOKEN},
    ).raise_for_status()
    login = client.post("/login", json={"username": "bench", "password": password})
    client.headers["Authorization"] = f"Bearer {login.raise_for_status().json()['access_token']}"
    client.post("/create_organization", json={"name": "bench"}).raise_for_status()
    # Within the default quotas (SIMPLISMART_QUOTA_*): GPU is capped at 100,000 per organization.
    cluster = {"name": "pool", "total_cpu": 10**6, "total_ram": 10**6, "total_gpu": 10**5}
    client.post("/create_cluster", json=cluster).raise_for_status()
    add_deployments(client, 0, deployments)


def latencies(call: Callable[[], httpx.Response], count: int) -> list[float]:
    """Seconds per request, one request at a time."""
    measured = []
    for _ in range(count):
        started = time.perf_counter()
        call().raise_for_status()
        measured.append(time.perf_counter() - started)
    return measured


def throughput(call: Callable[[], httpx.Response], count: int, clients: int) -> float:
    """Requests per second with ``clients`` concurrent clients."""
    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        for response in pool.map(lambda _: call(), range(count)):
            response.raise_for_status()
    return count / (time.perf_counter() - started)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


OUTPUT = Path(__file__).resolve().parents[1] / "docs/benchmarks/api.md"
FLOOD_OUTPUT = OUTPUT.with_name("api-login-flood.md")
#: Concurrent logins in the flood: what took the API from 200 MiB to 1.17 GiB before the bound.
FLOOD_CLIENTS = 32
FLOOD_ROUNDS = 4


def _memory_kib(pid: int, field: str) -> int:
    """``VmRSS`` (now) or ``VmHWM`` (peak so far) of a process, from /proc."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} for process {pid}")


def _flood(base: str, usernames: Callable[[int], str], password: str) -> list[float]:
    """``FLOOD_ROUNDS`` rounds of ``FLOOD_CLIENTS`` simultaneous logins; seconds per login."""
    barrier = threading.Barrier(FLOOD_CLIENTS)

    def login(client_index: int) -> list[float]:
        seconds = []
        with httpx.Client(base_url=base, timeout=120) as client:
            for round_ in range(FLOOD_ROUNDS):
                barrier.wait()
                started = time.perf_counter()
                answer = client.post(
                    "/login",
                    json={
                        "username": usernames(round_ * FLOOD_CLIENTS + client_index),
                        "password": password,
                    },
                )
                seconds.append(time.perf_counter() - started)
                assert answer.status_code in (200, 401), answer.text
        return seconds

    with ThreadPoolExecutor(FLOOD_CLIENTS) as pool:
        return [s for seconds in pool.map(login, range(FLOOD_CLIENTS)) for s in seconds]


def login_flood(state: Path, kube: str) -> str:
    """The flood's Markdown table, for the default bound on hashes in flight and for none."""
    rows = []
    for concurrency in ("4", str(FLOOD_CLIENTS)):
        database = state / f"flood-{concurrency}"
        database.mkdir()
        with serving(
            database,
            kube,
            hash_concurrency=concurrency,
            # The flood measures hashing: no rate limit may answer 429 first.
            login_rate_limit="1000000",
            login_client_limit="1000000",
            login_account_limit="1000000",
        ) as (base, server):
            password = secrets.token_urlsafe(12)
            httpx.post(
                f"{base}/register", json={"username": "owner", "password": password}, timeout=60
            ).raise_for_status()
            idle = _memory_kib(server.pid, "VmRSS")
            unknown = _flood(base, lambda index: f"nobody{index}", password)
            known = _flood(base, lambda _index: "owner", password)
            peak = _memory_kib(server.pid, "VmHWM")
        for label, seconds in (("unknown users", unknown), ("the real user", known)):
            rows.append(
                f"| {concurrency} | {label} | {idle / 1024:.0f} | {peak / 1024:.0f} "
                f"| {statistics.median(seconds) * 1000:.0f} "
                f"| {percentile(seconds, 0.99) * 1000:.0f} |"
            )
    return "\n".join(
        [
            "# API login flood",
            "",
            f"{FLOOD_CLIENTS} concurrent logins x {FLOOD_ROUNDS} rounds, Argon2id m=19 MiB t=2 "
            f"p=1, one uvicorn worker, {platform.python_implementation()} "
            f"{platform.python_version()}, {os.cpu_count()} CPUs. Memory is the API process's "
            "resident set when idle and its peak (VmHWM) over both floods.",
            "",
            "| hashes in flight | logins of | idle MiB | peak MiB | p50 ms | p99 ms |",
            "| ---: | --- | ---: | ---: | ---: | ---: |",
            *rows,
            "",
        ]
    )


#: Simultaneous requests of one member: within what admission lets wait, and far past it.
BURSTS = (300, 1500)


def request_burst(state: Path, kube: str) -> str:
    """What a burst of simultaneous ``GET /me`` gets: served, or turned away at once."""
    rows = []
    with serving(state, kube) as (base, _server):
        password = secrets.token_urlsafe(12)
        httpx.post(
            f"{base}/register",
            json={"username": "member", "password": password, "bootstrap_token": BOOTSTRAP_TOKEN},
            timeout=60,
        ).raise_for_status()
        token = httpx.post(
            f"{base}/login", json={"username": "member", "password": password}, timeout=60
        ).json()["access_token"]
        for size in BURSTS:
            answers, took = asyncio.run(_burst(base, token, size))
            served = [seconds for status, seconds in answers if status == 200]
            refused = [seconds for status, seconds in answers if status == 503]
            others = len(answers) - len(served) - len(refused)
            alive = httpx.get(f"{base}/healthz", timeout=60).status_code
            rows.append(
                f"| {size} | {len(served)} | {len(refused)} | {others} | {took:.1f} "
                f"| {statistics.median(served) * 1000:.0f} "
                f"| {percentile(served, 0.99) * 1000:.0f} "
                f"| {max(refused, default=0.0) * 1000:.0f} | {alive} |"
            )
    return "\n".join(
        [
            "## A burst of simultaneous requests",
            "",
            "One member's `GET /me`, all sent at once over their own connections, with the "
            "default admission (32 inside, 16 per slot waiting, 10 s at most); `/healthz` asked "
            "right after. The client shares the two cores: opening 1,500 connections takes it "
            "seconds, so late arrivals find the line full long after the first.",
            "",
            "| requests | 200 | 503 | other | all answered s | 200 p50 ms | 200 p99 ms "
            "| slowest 503 ms | /healthz |",
            "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
            *rows,
            "",
        ]
    )


async def _burst(base: str, token: str, size: int) -> tuple[list[tuple[int, float]], float]:
    """Each answer's status and seconds, and the seconds until the last came."""
    limits = httpx.Limits(max_connections=size)
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=base, timeout=120, limits=limits) as client:

        async def one() -> tuple[int, float]:
            started = time.perf_counter()
            answer = await client.get("/me", headers=headers)
            return answer.status_code, time.perf_counter() - started

        started = time.perf_counter()
        answers = await asyncio.gather(*(one() for _ in range(size)))
        return list(answers), time.perf_counter() - started


# --- the watch cache: large lists, memory, the event stream, the dashboard ---------------------


def add_deployments(client: httpx.Client, first: int, count: int) -> None:
    """``count`` more deployments in the populated organization, numbered from ``first``."""

    def create(index: int) -> None:
        body = {
            "name": f"d{index:05d}",
            "cluster_name": "pool",
            "cpu": 1 + index % 7,
            "ram": 1 + index % 5,
            "gpu": index % 2,
            "priority": index % 2,
            "docker_path": f"registry.example/model:{index}",
        }
        client.post("/create_deployment", json=body).raise_for_status()

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(create, range(first, first + count)))


def mark_queued(client: httpx.Client, kube: str, count: int) -> None:
    """Write the status the operator would give ``count`` deployments waiting in one queue.

    No operator runs in this benchmark; without this every deployment stays Pending and the
    dashboard would have no queue to draw.
    """
    custom = kubernetes.CustomObjectsApi(api_client(kube))
    namespace = client.get("/me").json()["user"]["organization"]["namespace"]

    def queue(index: int) -> None:
        status = {
            "phase": "Queued",
            "queuePosition": index + 1,
            "queuedAt": f"2030-01-01T00:{index // 60 % 60:02d}:{index % 60:02d}.000Z",
            "message": "waiting in the cluster's queue for capacity",
        }
        custom.patch_namespaced_custom_object_status(
            "simplismart.io",
            "v1alpha1",
            namespace,
            "deployments",
            f"d{index:05d}",
            {"status": status},
        )

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(queue, range(count)))


def stream_latencies(client: httpx.Client, kube: str, changes: int) -> list[float]:
    """Seconds from a status write to the Kubernetes API (as the operator makes) to its event.

    A subscriber follows ``GET /events``; each change writes a distinct ``status.message`` on
    one deployment, and its latency ends when the subscriber reads that message.
    """
    custom = kubernetes.CustomObjectsApi(api_client(kube))
    namespace = client.get("/me").json()["user"]["organization"]["namespace"]
    arrived: dict[str, float] = {}
    ready = threading.Event()

    def subscribe() -> None:
        with client.stream("GET", "/events", timeout=httpx.Timeout(30, read=None)) as events:
            for line in events.iter_lines():
                if line.startswith("event: ready"):
                    ready.set()
                elif line.startswith("data:") and "bench-change-" in line:
                    message = json.loads(line[5:])["deployment"]["message"]
                    arrived[message] = time.perf_counter()
                    if len(arrived) == changes:
                        return

    subscriber = threading.Thread(target=subscribe, daemon=True)
    subscriber.start()
    ready.wait(30)
    written: dict[str, float] = {}
    for index in range(changes):
        message = f"bench-change-{index}"
        written[message] = time.perf_counter()
        custom.patch_namespaced_custom_object_status(
            "simplismart.io",
            "v1alpha1",
            namespace,
            "deployments",
            "d00007",
            {"status": {"phase": "Queued", "message": message}},
        )
        time.sleep(0.02)
    subscriber.join(30)
    return [arrived[m] - written[m] for m in written if m in arrived]


def dashboard_first_render(base: str, token: str, loads: int, expected_rows: int) -> list[float]:
    """Seconds from navigation to the first complete render of /ui, in headless Chromium."""
    with tempfile.TemporaryDirectory(prefix="simplismart-chromium-") as profile:
        browser = chromium(Path(profile))
        try:
            browser.get(f"{base}/ui")
            browser.execute_script(
                "sessionStorage.setItem('simplismart.token', arguments[0])", token
            )
            measured = []
            for _ in range(loads):
                browser.get(f"{base}/ui")
                deadline = time.monotonic() + 60
                rendered = None
                while rendered is None and time.monotonic() < deadline:
                    rendered = browser.execute_script(
                        "return window.simplismartFirstRender ?? null"
                    )
                    time.sleep(0.05)
                if rendered is None:
                    raise SystemExit("the dashboard did not render within 60 s")
                rows = browser.execute_script(
                    "return document.querySelectorAll('tr[data-deployment]').length"
                )
                assert rows >= expected_rows, f"the dashboard drew {rows} of {expected_rows} rows"
                measured.append(float(rendered) / 1000)
            return measured
        finally:
            browser.quit()


def cache_report(
    client: httpx.Client, kube: str, api: tuple[str, int], have: int, target: int
) -> list[str]:
    """The watch cache's rows: lists at ``have`` and ``target`` deployments, memory, stream, UI.

    ``api`` is the API's base URL and process id.
    """
    base, pid = api
    rows = []

    def row(label: str, measured: list[float]) -> None:
        rows.append(
            f"| {label} | {statistics.median(measured) * 1000:.1f} "
            f"| {percentile(measured, 0.99) * 1000:.1f} |"
        )

    token = client.headers["Authorization"].split()[1]
    mark_queued(client, kube, have)

    def queued() -> int:
        return len(client.get("/deployments", params={"phase": "Queued"}).json()["deployments"])

    while queued() < have:  # the watch is still delivering the last writes
        time.sleep(0.1)
    loads = dashboard_first_render(base, token, 5, have)
    row(f"dashboard first render, {have} deployments (headless Chromium, 5 loads)", loads)
    add_deployments(client, have, target - have)
    everything = client.get("/deployments", params={"limit": target}).json()["deployments"]
    assert len(everything) == target, len(everything)
    page = lambda: client.get("/deployments", params={"limit": 100})  # noqa: E731
    filtered = lambda: client.get(  # noqa: E731
        "/deployments", params={"limit": 100, "priority": 1, "phase": "Pending"}
    )
    for label, call in {
        f"GET /deployments?limit=100 ({target} in the organization)": page,
        f"GET /deployments?limit=100&priority=1&phase=Pending ({target})": filtered,
    }.items():
        latencies(call, 10)
        row(label, latencies(call, 200))
    memory = _memory_kib(pid, "VmRSS") / 1024
    row(
        "stream: status write to the Kubernetes API → event read by a subscriber",
        stream_latencies(client, kube, 200),
    )
    rows.append(f"| API resident memory with {target} deployments cached | {memory:.0f} MiB | |")
    return rows


def measure(
    client: httpx.Client, kube: str, api: tuple[str, int], options: argparse.Namespace
) -> tuple[list[str], list[str]]:
    """The request table's rows and the watch cache's, on the populated organization."""
    listed = client.get("/deployments").json()["deployments"]
    assert len(listed) == options.deployments, len(listed)

    endpoints: dict[str, Callable[[], httpx.Response]] = {
        f"GET /deployments ({options.deployments} items)": lambda: client.get("/deployments"),
        "GET /deployments/{name}": lambda: client.get("/deployments/d00042"),
        "GET /me (token + database only)": lambda: client.get("/me"),
    }
    rows = []
    for label, call in endpoints.items():
        latencies(call, 10)  # warm up connections and caches
        measured = latencies(call, options.requests)
        rate = throughput(call, options.requests, options.clients)
        rows.append(
            f"| {label} | {statistics.median(measured) * 1000:.1f} "
            f"| {percentile(measured, 0.99) * 1000:.1f} | {rate:.0f} |"
        )
    cache_rows = []
    if options.cached:
        cache_rows = cache_report(client, kube, api, options.deployments, options.cached)
    return rows, cache_rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deployments", type=int, default=1000)
    parser.add_argument("--requests", type=int, default=200, help="per measurement")
    parser.add_argument("--clients", type=int, default=8, help="for the throughput run")
    parser.add_argument(
        "--login-flood-only", action="store_true", help="only the login flood (no Kubernetes)"
    )
    parser.add_argument(
        "--no-login-flood", action="store_true", help="everything but the login flood"
    )
    parser.add_argument(
        "--cached",
        type=int,
        default=10_000,
        help="deployments for the watch cache's rows (0: skip them)",
    )
    options = parser.parse_args()

    if not options.no_login_flood:
        with tempfile.TemporaryDirectory(prefix="simplismart-api-bench-") as directory:
            kube = os.environ.get("KUBECONFIG", "")
            flood = login_flood(Path(directory), kube)
            burst = Path(directory) / "burst"
            burst.mkdir()
            flood += "\n" + request_burst(burst, kube)
        print(flood)
        FLOOD_OUTPUT.parent.mkdir(parents=True, exist_ok=True)
        FLOOD_OUTPUT.write_text(flood)
    if options.login_flood_only:
        return

    with tempfile.TemporaryDirectory(prefix="simplismart-api-bench-") as directory:
        state = Path(directory)
        with kubeconfig(state) as kube, serving(state, kube) as (base, server):
            client = httpx.Client(base_url=base, timeout=60)
            started = time.perf_counter()
            populate(client, options.deployments)
            filled = time.perf_counter() - started
            organization = client.get("/me").json()["user"]["organization"]["namespace"]
            try:
                rows, cache_rows = measure(client, kube, (base, server.pid), options)
            finally:
                client.close()
                if os.environ.get("KUBECONFIG"):
                    # The caller's control plane (make bench): leave it as found, or the
                    # soak that follows would run these deployments.
                    print(f"deleting {organization} and its deployments...", flush=True)
                    delete_namespace(api_client(kube), organization, wait=900)

    report = "\n".join(
        [
            "# API benchmark",
            "",
            f"One uvicorn worker, SQLite, {platform.python_implementation()} "
            f"{platform.python_version()}, {os.cpu_count()} CPUs, the local kube-apiserver; "
            f"{options.deployments} deployments created in {filled:.1f} s "
            f"({options.deployments / filled:.0f}/s, 8 clients).",
            "",
            f"| request | p50 ms | p99 ms | req/s ({options.clients} clients) |",
            "| --- | ---: | ---: | ---: |",
            *rows,
            "",
            *(
                [
                    "## Watch cache, event stream and dashboard",
                    "",
                    "| what | p50 ms | p99 ms |",
                    "| --- | ---: | ---: |",
                    *cache_rows,
                    "",
                ]
                if cache_rows
                else []
            ),
        ]
    )
    print(report)
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    OUTPUT.write_text(report)


if __name__ == "__main__":
    main()
