"""The image of ``make image``, run for real: its entry point as the API and as the operator (host
network, the image's non-root user) against the session's control plane and Redis, the original
README's flow through them, the one-shot commands, the HEALTHCHECK, and a read-only root."""

import os
import signal
import sqlite3
import stat
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from harness.kube import wait_for
from harness.ports import free_port, free_ports

from tests.deploy.container import MB, Container, Image, Process
from tests.deploy.support import kubectl, run, walk_the_original_flow

# The first test here may build the image cold (debootstrap included): minutes, not seconds.
pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]

DATA = "/var/lib/simplismart/data"
SECRETS = "/var/lib/simplismart/secrets"
KUBECONFIG = f"{SECRETS}/kubeconfig"


@pytest.fixture
def container(built_image: Image) -> Iterator[Container]:
    working = Container(built_image)
    try:
        yield working
    finally:
        working.remove()


def _owned_by(image: Image, path: Path, mode: int = 0o700) -> Path:
    """A host directory (or file) the image's user may write, as a volume would be."""
    if not path.exists():
        path.mkdir(parents=True)
    path.chmod(mode)
    os.chown(path, image.uid, image.uid)
    return path


def _kubeconfig(image: Image, admin: str, secrets: Path) -> None:
    """The session's kubeconfig with its certificates inlined, readable by the image's user, in
    the folder mounted as the image's secrets directory."""
    flat = kubectl(admin, "config", "view", "--raw", "--flatten").stdout
    path = secrets / "kubeconfig"
    path.write_text(flat)
    _owned_by(image, path, 0o600)


def _wait_ready(url: str, process: Process) -> None:
    def up() -> bool:
        if not process.alive():
            raise AssertionError(f"{url}: the container exited:\n{process.output()[-3000:]}")
        try:
            return httpx.get(url, timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    wait_for(up, timeout=90, interval=0.5, what=url)


def _healthcheck(container: Container, pid: int, env: dict[str, str]) -> int:
    """The image's own HEALTHCHECK command (exec form), asked about process ``pid``."""
    kind, *command = container.image.healthcheck
    assert kind == "CMD", container.image.healthcheck
    result = run(
        *container.command(
            entrypoint=command, env={"SIMPLISMART_HEALTHCHECK_PID": str(pid), **env}
        ),
        check=False,
    )
    return result.returncode


def _uid_of(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(next(line for line in status.splitlines() if line.startswith("Uid:")).split()[1])


def test_the_image_runs_as_its_own_user_and_stays_its_size(container: Container) -> None:
    image = container.image
    # The target (docs/benchmarks/image.md): a build stage copied whole, a cache or bytecode
    # left in a layer, or a base with its package manager would each break it.
    assert image.size <= 250 * MB, f"{image.size / MB:.0f} MB"
    assert image.uid != 0
    # Anything but a known command is run as it is: here `id`, as the image's user.
    assert run(*container.command("id", "-u")).stdout.strip() == str(image.uid)
    usage = run(*container.command("help")).stdout
    assert "api|operator|migrate|jwt-secret FILE|healthcheck" in usage


def test_migrate_and_jwt_secret_do_what_they_say(container: Container, tmp_path: Path) -> None:
    image = container.image
    data = _owned_by(image, tmp_path / "data")
    secrets = _owned_by(image, tmp_path / "secrets")
    volumes = {data: DATA, secrets: SECRETS}
    # migrate: the schema in the image's default database (SQLite in the data directory), twice.
    # Like every API command it checks the settings first, the signing key among them.
    key_env = {"SIMPLISMART_JWT_SECRET": uuid.uuid4().hex * 2}
    versions = []
    for _ in range(2):
        result = run(*container.command("migrate", env=key_env, volumes=volumes))
        assert "database schema is up to date" in result.stdout + result.stderr
        with sqlite3.connect(data / "simplismart.db") as database:
            tables = {row[0] for row in database.execute("select name from sqlite_master")}
            versions.append(database.execute("select version_num from alembic_version").fetchall())
        assert {"alembic_version", "users", "organizations"} <= tables, tables
    assert versions[0] == versions[1] != []
    # jwt-secret: a key readable only by the image's user, made once and then kept.
    key = secrets / "jwt"
    assert (
        "wrote a new JWT secret"
        in run(*container.command("jwt-secret", f"{SECRETS}/jwt", volumes=volumes)).stdout
    )
    first = key.read_text()
    assert len(first.strip().encode()) >= 32
    assert key.stat().st_uid == image.uid
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    again = run(*container.command("jwt-secret", f"{SECRETS}/jwt", volumes=volumes)).stdout
    assert "keeping" in again
    assert key.read_text() == first


def test_the_original_flow_through_the_containerised_api_and_operator(
    built_image: Image, container: Container, kubeconfig: str, redis_url: str, tmp_path: Path
) -> None:
    image = built_image
    data = _owned_by(image, tmp_path / "data")
    secrets = _owned_by(image, tmp_path / "secrets")
    _kubeconfig(image, kubeconfig, secrets)
    volumes = {data: DATA, secrets: SECRETS}
    run(*container.command("jwt-secret", f"{SECRETS}/jwt", volumes=volumes))
    prefix = f"img-{uuid.uuid4().hex[:6]}-"
    bootstrap_token = uuid.uuid4().hex * 2
    api_port, health_port, api_metrics_port, metrics_port = free_ports(4)
    api_env = {
        "KUBECONFIG": KUBECONFIG,
        "SIMPLISMART_REDIS_URL": redis_url,
        "SIMPLISMART_JWT_SECRET_FILE": f"{SECRETS}/jwt",
        "SIMPLISMART_API_HOST": "127.0.0.1",
        "SIMPLISMART_API_PORT": str(api_port),
        "SIMPLISMART_NAMESPACE_PREFIX": prefix,
        # Not dev mode, as in production: the first ADMIN registers with the bootstrap token.
        "SIMPLISMART_BOOTSTRAP_TOKEN": bootstrap_token,
        "SIMPLISMART_API_METRICS_PORT": str(api_metrics_port),
    }
    operator_env = {
        "KUBECONFIG": KUBECONFIG,
        "SIMPLISMART_REDIS_URL": redis_url,
        "SIMPLISMART_STANDALONE": "true",
        "SIMPLISMART_HEALTH_PORT": str(health_port),
        "SIMPLISMART_METRICS_PORT": str(metrics_port),
    }
    operator_container = Container(image)
    operator = Process(
        operator_container.command("operator", env=operator_env, volumes={secrets: SECRETS}),
        tmp_path / "operator.log",
    )
    api = Process(container.command("api", env=api_env, volumes=volumes), tmp_path / "api.log")
    try:
        base = f"http://127.0.0.1:{api_port}"
        _wait_ready(f"{base}/readyz", api)
        _wait_ready(f"http://127.0.0.1:{health_port}/healthz", operator)
        walk_the_original_flow(base, kubeconfig, prefix, bootstrap_token)
        # Both servers run as the image's user, and the image's HEALTHCHECK finds them healthy.
        api_pid = api.find("simplismart.api")
        operator_pid = operator.find("simplismart.operator")
        assert _uid_of(api_pid) == _uid_of(operator_pid) == image.uid
        assert _healthcheck(container, api_pid, {"SIMPLISMART_API_PORT": str(api_port)}) == 0
        health = {"SIMPLISMART_HEALTH_PORT": str(health_port)}
        assert _healthcheck(operator_container, operator_pid, health) == 0
        # An operator that stopped answering is unhealthy (the process is still there, frozen).
        os.kill(operator_pid, signal.SIGSTOP)
        try:
            assert _healthcheck(operator_container, operator_pid, health) == 1
        finally:
            os.kill(operator_pid, signal.SIGCONT)
    finally:
        api.stop()
        operator.stop()
        operator_container.remove()
        listed = kubectl(kubeconfig, "get", "namespaces", "-o", "name").stdout.split()
        for name in listed:
            if name.startswith(f"namespace/{prefix}"):
                kubectl(kubeconfig, "delete", name, "--wait=false", check=False)
    for name, process in (("API", api), ("operator", operator)):
        assert "Traceback" not in process.output(), f"{name} log:\n{process.output()[-3000:]}"


def test_a_read_only_root_is_enough(
    container: Container, kubeconfig: str, redis_url: str, tmp_path: Path
) -> None:
    """The Dockerfile's claim: only /tmp and the data directory need to be writable."""
    image = container.image
    data = _owned_by(image, tmp_path / "data")
    secrets = _owned_by(image, tmp_path / "secrets")
    _kubeconfig(image, kubeconfig, secrets)
    writable = {data: DATA, secrets: SECRETS}
    home = "/var/lib/simplismart"
    refused = run(
        *container.read_only_command("sh", "-c", f"touch {home}/x", env={}, writable=writable),
        check=False,
    )
    assert refused.returncode != 0
    assert "Read-only file system" in refused.stderr
    run(*container.read_only_command("sh", "-c", "touch /tmp/x", env={}, writable=writable))
    key_env = {"SIMPLISMART_JWT_SECRET": uuid.uuid4().hex * 2}
    run(*container.read_only_command("migrate", env=key_env, writable=writable))
    port = free_port()
    env = {
        **key_env,
        "KUBECONFIG": KUBECONFIG,
        "SIMPLISMART_REDIS_URL": redis_url,
        "SIMPLISMART_API_HOST": "127.0.0.1",
        "SIMPLISMART_API_PORT": str(port),
    }
    api = Process(
        container.read_only_command("api", env=env, writable=writable),
        tmp_path / "api.log",
    )
    try:
        _wait_ready(f"http://127.0.0.1:{port}/readyz", api)
    finally:
        api.stop()
