"""Fixtures of the API tests, in two tiers that run the same tests.

``unit``: SQLite in a temp dir and an in-memory Kubernetes (tests/api/fake_kube.py).
``integration``: a throwaway PostgreSQL cluster, the real local kube-apiserver with the CRDs,
and a real Redis (the last two from tests/conftest.py).

Every test gets a fresh database and its own namespace prefix, so tests never see each other's
users, organizations or objects.
"""

import dataclasses
import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from fastapi.testclient import TestClient
from harness.ports import free_port
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

from simplismart.api.app import create_app
from simplismart.api.core import security
from simplismart.api.core.config import Settings
from simplismart.api.kube import KubernetesApi
from tests.api.fake_kube import FakeKube
from tests.api.live import serve
from tests.api.support import Api, Backend, RealStatusWriter

#: 64 bytes, so that even the HS512 forgery in test_tokens is a well-keyed one.
SECRET = "test-secret-" + "0123456789abcdef" * 3 + "0123456789ab"


@pytest.fixture(autouse=True)
def fast_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Argon2 at its cheapest: the tests exercise the flow, not the work factor."""
    cheap = PasswordHash((Argon2Hasher(time_cost=1, memory_cost=1024, parallelism=1),))
    monkeypatch.setattr(security, "_hasher", cheap)
    monkeypatch.setattr(security, "_DUMMY_HASH", cheap.hash("not a real password"))


def make_settings(database_url: str, **overrides: object) -> Settings:
    env = {
        "SIMPLISMART_DATABASE_URL": database_url,
        "SIMPLISMART_JWT_SECRET": SECRET,
        # Nothing listens on port 1: the unit tier has no Redis and must cope.
        "SIMPLISMART_REDIS_URL": "redis://127.0.0.1:1/0",
        "SIMPLISMART_NAMESPACE_PREFIX": f"t{uuid.uuid4().hex[:8]}-org-",
        # The original behaviour (the first user becomes ADMIN), as `make up` runs;
        # test_bootstrap.py covers the bootstrap token outside dev mode.
        "SIMPLISMART_DEV_MODE": "1",
    }
    env.update({f"SIMPLISMART_{key.upper()}": str(value) for key, value in overrides.items()})
    return Settings.from_env(env)


# --- PostgreSQL -------------------------------------------------------------------------------


def _pg_bin() -> Path:
    """Debian's versioned directory (the package `postgresql`), else whatever is on PATH."""
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"), reverse=True)
    found = versions[0] if versions else shutil.which("pg_ctl")
    if not found:
        pytest.fail("PostgreSQL is not installed: apt-get install -y postgresql")
    return Path(found).parent


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A throwaway PostgreSQL cluster on a free loopback port, removed at the end.

    PostgreSQL refuses to run as root, so as root it runs as the ``postgres`` user.
    """
    bin_dir = _pg_bin()
    as_root = os.geteuid() == 0
    prefix = ["runuser", "-u", "postgres", "--"] if as_root else []
    data = Path(tempfile.mkdtemp(prefix="simplismart-pg-"))
    if as_root:
        shutil.chown(data, "postgres", "postgres")
    port = free_port()

    def run(*args: str) -> None:
        subprocess.run([*prefix, *args], check=True, capture_output=True, text=True)

    run(str(bin_dir / "initdb"), "-D", str(data / "db"), "-U", "postgres", "-A", "trust", "-N")
    options = (
        f"-p {port} -k {data} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200"
    )
    run(
        str(bin_dir / "pg_ctl"),
        "-D",
        str(data / "db"),
        "-o",
        options,
        "-l",
        str(data / "log"),
        "-w",
        "start",
    )
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}"
    finally:
        run(str(bin_dir / "pg_ctl"), "-D", str(data / "db"), "-m", "immediate", "-w", "stop")
        shutil.rmtree(data, ignore_errors=True)


def fresh_postgres_database(server: str) -> Iterator[str]:
    """An empty database on ``server``, dropped after use."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = server.replace("postgresql+psycopg", "postgresql") + "/postgres"
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f"CREATE DATABASE {name}")
    yield f"{server}/{name}"
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f"DROP DATABASE {name} WITH (FORCE)")


# --- The two tiers ----------------------------------------------------------------------------


@pytest.fixture(
    params=[
        pytest.param("unit", marks=pytest.mark.unit),
        pytest.param("integration", marks=pytest.mark.integration),
    ]
)
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    if request.param == "unit":
        fake = FakeKube()
        settings = make_settings(f"sqlite:///{tmp_path / 'api.db'}")
        yield Backend("unit", settings, fake, fake.set_status, fake)
        return
    kubeconfig: str = request.getfixturevalue("kubeconfig")
    redis_url: str = request.getfixturevalue("redis_url")
    server: str = request.getfixturevalue("postgres_url")
    for database_url in fresh_postgres_database(server):
        settings = make_settings(database_url, redis_url=redis_url)
        kube = KubernetesApi(kubeconfig, 10)
        writer = RealStatusWriter(kubeconfig)
        yield Backend("integration", settings, kube, writer.set_status, None)


@pytest.fixture
def api(backend: Backend) -> Iterator[Api]:
    with TestClient(create_app(backend.settings, backend.kube)) as client:
        yield Api(client, backend)


@pytest.fixture
def live(backend: Backend) -> Iterator[Api]:
    """The same calls as ``api``, over HTTP to a real server: for streams."""
    with (
        serve(create_app(backend.settings, backend.kube)) as url,
        httpx.Client(base_url=url, timeout=30) as client,
    ):
        yield Api(client, backend)


#: Builds an API on the test's backend with some settings changed, e.g.
#: ``api_with(login_client_limit=3)`` or ``api_with(quotas=...)``; ``peer`` is the address the
#: requests come from.
ApiFactory = Callable[..., Api]


@pytest.fixture
def api_with(backend: Backend) -> Iterator[ApiFactory]:
    with ExitStack() as stack:

        def make(peer: str = "testclient", **overrides: Any) -> Api:
            settings = backend.settings.model_copy(update=overrides)
            client = TestClient(create_app(settings, backend.kube), client=(peer, 50000))
            return Api(stack.enter_context(client), dataclasses.replace(backend, settings=settings))

        yield make
