"""The HTTP API as a real process for benchmarks: ``python -m simplismart.api`` on a free
loopback port, one uvicorn worker, SQLite in a state directory."""

import os
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from harness.ports import free_port

#: Outside dev mode only this makes the first registered user an ADMIN.
BOOTSTRAP_TOKEN = secrets.token_urlsafe(32)


@contextmanager
def serving(
    state: Path, kube: str, **settings: str
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """The API process and its base URL; ``settings`` are extra ``SIMPLISMART_*`` variables."""
    port = free_port()
    env = {
        **os.environ,
        "PYTHONSAFEPATH": "1",
        "MALLOC_ARENA_MAX": "2",  # as the image runs it (see Dockerfile)
        "KUBECONFIG": kube,
        "SIMPLISMART_STATE_DIR": str(state),
        "SIMPLISMART_JWT_SECRET": secrets.token_urlsafe(32),
        "SIMPLISMART_API_HOST": "127.0.0.1",
        "SIMPLISMART_API_PORT": str(port),
        "SIMPLISMART_NAMESPACE_PREFIX": f"bench{secrets.token_hex(3)}-",
        "SIMPLISMART_API_METRICS_PORT": "0",
        "SIMPLISMART_BOOTSTRAP_TOKEN": BOOTSTRAP_TOKEN,
        **{f"SIMPLISMART_{name.upper()}": value for name, value in settings.items()},
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
        yield base, server
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()
