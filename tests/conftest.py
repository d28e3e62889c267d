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

REPO_ROOT = Path(__file__).resolve().parent.parent
HACK = REPO_ROOT / "hack"


def _script(*args: str | Path) -> str:
    """Run a hack/ script; its progress goes to the terminal, its answer is the last stdout line."""
    result = subprocess.run([str(a) for a in args], check=True, stdout=subprocess.PIPE, text=True)
    return result.stdout.strip().splitlines()[-1]


@pytest.fixture(scope="session")
def tools_bin() -> Path:
    """Directory of the pinned kubectl, helm, kwok... built by hack/build-tools.sh."""
    bin_dir = Path(_script(HACK / "build-tools.sh"))
    os.environ["PATH"] = f"{bin_dir}{os.pathsep}{os.environ['PATH']}"
    return bin_dir


@pytest.fixture(scope="session")
def kubeconfig(tools_bin: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """An admin kubeconfig of a running API server with the project's CRDs established."""
    external = os.environ.get("KUBECONFIG")
    state = tmp_path_factory.mktemp("cluster")
    path = external or _script(HACK / "cluster-up.sh", state)
    try:
        _script(HACK / "apply-crds.sh", path)
        yield path
    finally:
        if not external:
            subprocess.run([HACK / "cluster-down.sh", state], check=True)


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real redis-server with keyspace notifications for expired keys turned on."""
    state = tmp_path_factory.mktemp("redis")
    url = _script(HACK / "redis-up.sh", state)
    try:
        yield url
    finally:
        subprocess.run([HACK / "redis-down.sh", state], check=True)
