"""``python -m simplismart.api``: refuses to start without a key, migrates, serves on the port."""

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

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
    result = _cli(tmp_path, "migrate", SIMPLISMART_JWT_SECRET="k" * 32)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "simplismart.db").exists()
    assert "up to date" in result.stderr


def test_dev_mode_serves_on_the_configured_port(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "simplismart.api"],
        env=_env(
            tmp_path,
            SIMPLISMART_DEV_MODE="1",
            SIMPLISMART_API_HOST="127.0.0.1",
            SIMPLISMART_API_PORT=str(port),
        ),
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                answer = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except httpx.TransportError:
                assert server.poll() is None, "the server exited"
                assert time.monotonic() < deadline, "the server did not answer"
                time.sleep(0.2)
        assert answer.json() == {"message": "ok"}
    finally:
        server.terminate()
        _, stderr = server.communicate(timeout=30)
    assert "generated a random JWT signing key" in stderr
