"""``python -m simplismart.api``: refuses to start without a key, migrates, serves on the port."""

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from harness.ports import free_port, free_ports

pytestmark = pytest.mark.unit


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIMPLISMART_")}
    env.update(PYTHONSAFEPATH="1", SIMPLISMART_STATE_DIR=str(tmp_path), **extra)
    return env


def _cli(tmp_path: Path, *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "simplismart.api", *args],
        env=_env(tmp_path, **extra),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_refuses_to_start_without_a_signing_key(tmp_path: Path) -> None:
    result = _cli(tmp_path)
    assert result.returncode == 2
    assert "refusing to start" in result.stderr
    assert "SIMPLISMART_JWT_SECRET" in result.stderr


def test_migrate_creates_the_schema(tmp_path: Path) -> None:
    """It needs the database alone: run by hand, it asked for the signing key too."""
    result = _cli(tmp_path, "migrate")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "simplismart.db").exists()
    assert "up to date" in result.stderr


@contextmanager
def _serving(
    tmp_path: Path, port: int | None = None, **extra: str
) -> Iterator[tuple[int, list[str]]]:
    """Run ``python -m simplismart.api`` in dev mode until it answers (on ``port``, else a free
    one); yield its port and, after it stopped, its stderr (in the list)."""
    port = free_port() if port is None else port
    server = subprocess.Popen(
        [sys.executable, "-m", "simplismart.api"],
        env=_env(
            tmp_path,
            SIMPLISMART_DEV_MODE="1",
            SIMPLISMART_API_HOST="127.0.0.1",
            SIMPLISMART_API_PORT=str(port),
            SIMPLISMART_REDIS_URL="redis://127.0.0.1:1/0",
            **extra,
        ),
        stderr=subprocess.PIPE,
        text=True,
    )
    stderr: list[str] = []
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except httpx.TransportError:
                assert server.poll() is None, "the server exited"
                assert time.monotonic() < deadline, "the server did not answer"
                time.sleep(0.2)
        yield port, stderr
    finally:
        server.terminate()
        stderr.append(server.communicate(timeout=30)[1])


def test_dev_mode_serves_on_the_configured_port(tmp_path: Path) -> None:
    with _serving(tmp_path, SIMPLISMART_API_METRICS_PORT="0") as (port, stderr):
        answer = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5)
        assert answer.json() == {"message": "ok"}
    assert "generated a random JWT signing key" in stderr[0]


def test_metrics_are_served_on_their_own_port_only(tmp_path: Path) -> None:
    """Finding 8: /metrics is not on the public port."""
    api_port, metrics_port = free_ports(2)
    separate = {"SIMPLISMART_API_METRICS_PORT": str(metrics_port)}
    with _serving(tmp_path, api_port, **separate) as (port, _):
        httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5)
        assert httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).status_code == 404
        metrics = httpx.get(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5)
        assert metrics.status_code == 200
        assert 'simplismart_api_requests_total{method="GET",route="/healthz"' in metrics.text


def test_the_server_does_not_believe_forwarded_addresses_from_loopback(tmp_path: Path) -> None:
    """Finding 3: uvicorn trusts X-Forwarded-For from 127.0.0.1 by default; rotating it used to
    start every login limit afresh."""
    with _serving(tmp_path, SIMPLISMART_API_METRICS_PORT="0") as (port, _):
        statuses = [
            httpx.post(
                f"http://127.0.0.1:{port}/login",
                json={"username": "victim", "password": "wrong-wrong"},
                headers={"X-Forwarded-For": f"198.51.100.{index}"},
                timeout=30,
            ).status_code
            for index in range(11)
        ]
    assert statuses == [401] * 10 + [429]
