"""The stack `make up` starts (hack/up.sh: Redis, the operator, the API), once per module.

It uses the session's API server (through KUBECONFIG) and free ports, and a namespace prefix of
its own, so that several such stacks can share the one API server.
"""

import os
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from harness.ports import free_ports

from tests.e2e.accounts import Root, root

HACK = Path(__file__).parents[2] / "hack"


@pytest.fixture(scope="module")
def stack(kubeconfig: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    names = ("API", "API_METRICS", "REDIS", "METRICS", "HEALTH")
    ports = dict(zip(names, free_ports(len(names)), strict=True))
    env = {
        **os.environ,
        "KUBECONFIG": kubeconfig,
        "SIMPLISMART_STATE_DIR": str(tmp_path_factory.mktemp("stack")),
        "SIMPLISMART_NAMESPACE_PREFIX": f"e2e{uuid.uuid4().hex[:6]}-",
        **{f"SIMPLISMART_{name}_PORT": str(port) for name, port in ports.items()},
    }
    subprocess.run([HACK / "up.sh"], env=env, check=True)
    try:
        yield {"url": f"http://127.0.0.1:{ports['API']}", "ports": ports, "env": env}
    finally:
        subprocess.run([HACK / "down.sh"], env=env, check=True)


@pytest.fixture(scope="module")
def installation(stack: dict[str, Any]) -> Root:
    with httpx.Client(base_url=stack["url"], timeout=30) as api:
        return root(api)
