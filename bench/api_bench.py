"""Benchmark of the HTTP API: ``GET /deployments`` with 1,000 deployments in the organization.

Run ``python bench/api_bench.py [--deployments N] [--requests N]``. It serves the API the way
``python -m simplismart.api`` does (one uvicorn worker, SQLite), against the Kubernetes API in
``KUBECONFIG`` or, without one, a local control plane started (and stopped) with the project's
hack/ scripts. It fills one organization, then measures latency (sequential requests) and
throughput (several clients at once) and prints a Markdown table.
"""

from __future__ import annotations

import argparse
import os
import platform
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import httpx
from harness.ports import free_port

HACK = Path(__file__).resolve().parent.parent / "hack"


def _last_line(*command: str | Path) -> str:
    done = subprocess.run([str(c) for c in command], check=True, stdout=subprocess.PIPE, text=True)
    return done.stdout.strip().splitlines()[-1]


@contextmanager
def kubeconfig(state: Path) -> Iterator[str]:
    """The cluster in KUBECONFIG, or a throwaway local control plane with the CRDs."""
    external = os.environ.get("KUBECONFIG")
    path = external or _last_line(HACK / "cluster-up.sh", state / "cluster")
    try:
        _last_line(HACK / "apply-crds.sh", path)
        yield path
    finally:
        if not external:
            subprocess.run([HACK / "cluster-down.sh", state / "cluster"], check=True)


@contextmanager
def api_server(state: Path, kube: str) -> Iterator[str]:
    """``python -m simplismart.api`` on a free loopback port: one worker process."""
    port = free_port()
    env = {
        **os.environ,
        "PYTHONSAFEPATH": "1",
        "KUBECONFIG": kube,
        "SIMPLISMART_STATE_DIR": str(state),
        "SIMPLISMART_JWT_SECRET": secrets.token_urlsafe(32),
        "SIMPLISMART_API_HOST": "127.0.0.1",
        "SIMPLISMART_API_PORT": str(port),
        "SIMPLISMART_NAMESPACE_PREFIX": f"bench{secrets.token_hex(3)}-",
    }
    log = (state / "api.log").open("w")
    server = subprocess.Popen(
        [sys.executable, "-m", "simplismart.api"], env=env, stdout=log, stderr=log
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"{base}/healthz", timeout=1)
                break
            except httpx.TransportError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"the API did not start; see {state / 'api.log'}") from None
                time.sleep(0.2)
        yield base
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()


def populate(client: httpx.Client, deployments: int) -> None:
    """One ADMIN, one organization, one cluster, ``deployments`` deployments (8 at a time)."""
    password = secrets.token_urlsafe(12)
    client.post("/register", json={"username": "bench", "password": password}).raise_for_status()
    login = client.post("/login", json={"username": "bench", "password": password})
    client.headers["Authorization"] = f"Bearer {login.raise_for_status().json()['access_token']}"
    client.post("/create_organization", json={"name": "bench"}).raise_for_status()
    cluster = {"name": "pool", "total_cpu": 10**6, "total_ram": 10**6, "total_gpu": 10**6}
    client.post("/create_cluster", json=cluster).raise_for_status()

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
        list(pool.map(create, range(deployments)))


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deployments", type=int, default=1000)
    parser.add_argument("--requests", type=int, default=200, help="per measurement")
    parser.add_argument("--clients", type=int, default=8, help="for the throughput run")
    options = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="simplismart-api-bench-") as directory:
        state = Path(directory)
        with kubeconfig(state) as kube, api_server(state, kube) as base:
            client = httpx.Client(base_url=base, timeout=60)
            started = time.perf_counter()
            populate(client, options.deployments)
            filled = time.perf_counter() - started
            listed = client.get("/deployments").json()["deployments"]
            assert len(listed) == options.deployments, len(listed)

            endpoints: dict[str, Callable[[], httpx.Response]] = {
                f"GET /deployments ({options.deployments} items)": lambda: client.get(
                    "/deployments"
                ),
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
            client.close()

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
        ]
    )
    print(report)
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    OUTPUT.write_text(report)


if __name__ == "__main__":
    main()
