"""docker-compose.yml, without a Docker engine: the Compose specification's own loader and
validator (compose-go, what `docker compose config` runs) accepts it, and the resolved project
wires Redis, the Kubernetes API server, the CRDs, the operator and the API the way their code reads
its settings."""

import hashlib
import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from simplismart.api.core.config import Settings
from simplismart.operator.config import OperatorConfig
from tests.deploy.support import (
    API_SETTINGS,
    OPERATOR_SETTINGS,
    REPO_ROOT,
    run,
    variables_read_by,
)

pytestmark = pytest.mark.integration

CHECKER = Path(__file__).resolve().parent / "composecheck"
COMPOSE_FILE = REPO_ROOT / "docker-compose.yml"


@pytest.fixture(scope="module")
def composecheck() -> Path:
    """The checker, built from its Go module into the tool cache (keyed by its sources)."""
    digest = hashlib.sha256()
    for name in ("go.mod", "go.sum", "main.go"):
        digest.update((CHECKER / name).read_bytes())
    cache = Path(os.environ.get("SIMPLISMART_CACHE_DIR") or Path.home() / ".cache" / "simplismart")
    binary = cache / "tools" / f"composecheck-{digest.hexdigest()[:16]}"
    if not binary.exists():
        binary.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            ["go", "build", "-trimpath", "-o", f"{binary}.tmp", "."],
            cwd=CHECKER,
            env={**os.environ, "CGO_ENABLED": "0"},
            check=True,
            timeout=300,
        )
        Path(f"{binary}.tmp").rename(binary)
    return binary


@pytest.fixture(scope="module")
def project(composecheck: Path) -> dict[str, Any]:
    result = run(composecheck, COMPOSE_FILE)
    resolved: dict[str, Any] = json.loads(result.stdout)
    return resolved


def test_the_specification_refuses_what_it_should(composecheck: Path, tmp_path: Path) -> None:
    """The checker is a real validator: a misspelt key and a missing volume are errors."""
    for text, error in [
        ("services:\n  a:\n    imagee: redis\n", "imagee"),
        ("services:\n  a:\n    image: redis\n    volumes: [nothere:/data]\n", "undefined volume"),
        ("services:\n  a:\n    image: redis\n    depends_on: [b]\n", "undefined service"),
    ]:
        path = tmp_path / "compose.yml"
        path.write_text(text)
        result = run(composecheck, path, check=False)
        assert result.returncode != 0
        assert error in result.stderr, result.stderr


def _volumes(service: dict[str, Any]) -> dict[str, tuple[str, bool]]:
    """Mount target -> (source, read_only)."""
    return {
        v["target"]: (v["source"], bool(v.get("read_only"))) for v in service.get("volumes", [])
    }


def _volume_holding(service: dict[str, Any], path: str) -> tuple[str, bool]:
    for target, mount in _volumes(service).items():
        if path == target or path.startswith(target.rstrip("/") + "/"):
            return mount
    raise AssertionError(f"{path} is on no volume of the service")


def test_services_and_their_order(project: dict[str, Any]) -> None:
    services = project["services"]
    assert set(services) == {
        "redis",
        "k3s",
        "crds",
        "jwt-secret",
        "bootstrap-token",
        "operator",
        "api",
    }
    depends = {name: s.get("depends_on", {}) for name, s in services.items()}
    assert depends["crds"]["k3s"]["condition"] == "service_healthy"
    for app in ("operator", "api"):
        assert depends[app]["redis"]["condition"] == "service_healthy"
        assert depends[app]["crds"]["condition"] == "service_completed_successfully"
    assert depends["api"]["jwt-secret"]["condition"] == "service_completed_successfully"
    assert depends["api"]["bootstrap-token"]["condition"] == "service_completed_successfully"
    for name in ("redis", "k3s"):
        assert services[name]["healthcheck"]["test"]
    # One image, built once from the Dockerfile, for the API, the operator and the secret maker.
    images = {services[name]["image"] for name in ("api", "operator", "jwt-secret")}
    assert len(images) == 1
    assert services["api"]["build"]["context"] == str(REPO_ROOT)
    assert (REPO_ROOT / services["api"]["build"]["dockerfile"]).exists()


def test_redis_notifies_expired_keys_and_keeps_data(project: dict[str, Any]) -> None:
    redis = project["services"]["redis"]
    command = redis["command"]
    assert command[command.index("--notify-keyspace-events") + 1] == "Ex"
    data_dir = command[command.index("--dir") + 1]
    assert _volume_holding(redis, data_dir)[0] in project["volumes"]


def test_api_and_operator_read_what_compose_gives_them(
    project: dict[str, Any], tmp_path: Path
) -> None:
    services = project["services"]
    api, operator = services["api"], services["operator"]
    api_env: dict[str, str] = api["environment"]
    operator_env: dict[str, str] = operator["environment"]
    # Every variable set is one the code reads (a misspelt name would be silently ignored).
    assert set(api_env) <= variables_read_by(API_SETTINGS), set(api_env)
    assert set(operator_env) <= variables_read_by(OPERATOR_SETTINGS), set(operator_env)

    # The API's settings parse, as the API would read them at start-up.
    secret = tmp_path / "jwt"
    secret.write_text("k" * 48)
    token = tmp_path / "bootstrap"
    token.write_text("t" * 48)
    settings = Settings.from_env(
        {
            **api_env,
            "SIMPLISMART_JWT_SECRET_FILE": str(secret),
            "SIMPLISMART_BOOTSTRAP_TOKEN_FILE": str(token),
        }
    )
    assert not settings.dev_mode
    published = {p["target"]: (p["host_ip"], p["published"]) for p in api["ports"]}
    # On loopback only: a fresh install must not be reachable (and claimable) from the network.
    assert published == {settings.api_port: ("127.0.0.1", "5002")}, "the README uses :5002"
    assert settings.api_host == "0.0.0.0"
    assert settings.redis_url.startswith("redis://redis:6379")
    # SQLite on a volume of its own, writable.
    database = settings.database_url.removeprefix("sqlite:///")
    assert settings.database_url.startswith("sqlite:////")
    volume, read_only = _volume_holding(api, database)
    assert volume in project["volumes"]
    assert not read_only
    # The JWT secret: the one-shot writes it where the API reads it, on the same volume.
    jwt_file = api_env["SIMPLISMART_JWT_SECRET_FILE"]
    maker = services["jwt-secret"]
    assert maker["command"] == ["jwt-secret", jwt_file]
    assert _volume_holding(maker, jwt_file) == (_volume_holding(api, jwt_file)[0], False)
    # Outside dev mode the first ADMIN needs the bootstrap token, made the same way.
    token_file = api_env["SIMPLISMART_BOOTSTRAP_TOKEN_FILE"]
    token_maker = services["bootstrap-token"]
    assert token_maker["command"] == ["jwt-secret", token_file]
    assert _volume_holding(token_maker, token_file)[0] == _volume_holding(api, token_file)[0]

    # The operator's settings parse the same way.
    previous = dict(os.environ)
    try:
        os.environ.update(operator_env)
        config = OperatorConfig.from_env()
    finally:
        os.environ.clear()
        os.environ.update(previous)
    assert config.redis_url == settings.redis_url
    assert not config.standalone
    assert config.lease_namespace == "default"

    # Both reach the API server through the kubeconfig the crds one-shot writes.
    crds = services["crds"]
    script = " ".join(crds["command"])
    for app in (api, operator):
        kubeconfig = app["environment"]["KUBECONFIG"]
        assert f">{kubeconfig}" in script
        assert _volume_holding(app, kubeconfig)[0] == _volume_holding(crds, kubeconfig)[0]
    assert "https://k3s:6443" in script
    assert "--tls-san=k3s" in services["k3s"]["command"]
    # The CRDs, from the repository itself.
    assert _volumes(crds)["/crds"][0] == str(REPO_ROOT / "crds")


def test_app_containers_are_locked_down(project: dict[str, Any]) -> None:
    for name in ("api", "operator", "jwt-secret"):
        service = project["services"][name]
        assert service["read_only"] is True, name
        assert service["cap_drop"] == ["ALL"], name
        assert "no-new-privileges:true" in service["security_opt"], name
        assert "user" not in service, "the image's own unprivileged user"
