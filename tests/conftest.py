"""Session-wide services for every test tier: a real Kubernetes API server and a real Redis.

Both are started from the project's own hack/ scripts on free loopback ports and stopped when
the session ends, so no test leaves a process behind. With ``KUBECONFIG`` set, that cluster is
used instead of starting one.
"""

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from harness.control_plane import HACK, hack


@pytest.fixture(scope="session")
def tools_bin() -> Path:
    """Directory of the pinned kubectl, helm, kwok... built by hack/build-tools.sh."""
    bin_dir = Path(hack("build-tools.sh"))
    os.environ["PATH"] = f"{bin_dir}{os.pathsep}{os.environ['PATH']}"
    return bin_dir


@pytest.fixture(scope="session")
def kubeconfig(tools_bin: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """An admin kubeconfig of a running API server with the project's CRDs established."""
    external = os.environ.get("KUBECONFIG")
    state = tmp_path_factory.mktemp("cluster")
    path = external or hack("cluster-up.sh", state)
    try:
        hack("apply-crds.sh", path)
        yield path
    finally:
        if not external:
            subprocess.run([HACK / "cluster-down.sh", state], check=True)


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real redis-server with keyspace notifications for expired keys turned on."""
    state = tmp_path_factory.mktemp("redis")
    url = hack("redis-up.sh", state)
    try:
        yield url
    finally:
        subprocess.run([HACK / "redis-down.sh", state], check=True)
