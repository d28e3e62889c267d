"""The Dockerfile and .dockerignore read as text: what the build copies and installs; and the
image's entry point and HEALTHCHECK scripts (docker/) run here on their own.

test_container.py builds the image and runs it."""

import fnmatch
import os
import re
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.deploy.support import HACK, REPO_ROOT, run

DOCKERFILE = REPO_ROOT / "Dockerfile"
PACKAGES = ["scheduler", "crds", "operator", "api"]
ENTRYPOINT = REPO_ROOT / "docker" / "entrypoint.sh"
HEALTHCHECK = REPO_ROOT / "docker" / "healthcheck.py"
# Where the Dockerfile puts them; the entry point runs the health check from there.
INSTALLED = {
    ENTRYPOINT: "/usr/local/bin/simplismart",
    HEALTHCHECK: "/usr/local/lib/simplismart/healthcheck.py",
}


def _instructions() -> list[str]:
    """The Dockerfile's instructions, continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    return [line for line in text.splitlines() if line and not line.startswith("#")]


def _ignored(path: str) -> bool:
    patterns = [
        line.strip()
        for line in (REPO_ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    parts = Path(path).parts
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    return any(
        fnmatch.fnmatch(prefix, pattern.removeprefix("**/"))
        or fnmatch.fnmatch(Path(prefix).name, pattern.removeprefix("**/"))
        for pattern in patterns
        for prefix in prefixes
    )


@pytest.mark.unit
def test_build_copies_every_package_and_the_lock() -> None:
    copies = " ".join(line for line in _instructions() if line.startswith("COPY"))
    for source in ["pyproject.toml", "uv.lock", "README.md", *(f"{p}/" for p in PACKAGES)]:
        assert source in copies, source
        assert not _ignored(source.rstrip("/")), f".dockerignore drops {source}"
    for path in ["api/app.py", "crds/clusters.yaml", "operator/__main__.py", "uv.lock"]:
        assert not _ignored(path), path
    for script, destination in INSTALLED.items():
        path = script.relative_to(REPO_ROOT).as_posix()
        assert f"{path} {destination}" in copies, path
        assert not _ignored(path), path
    for path in [
        ".venv/bin/python",
        ".git/HEAD",
        "tests/conftest.py",
        ".state/x",
        "api/__pycache__/a.pyc",
    ]:
        assert _ignored(path), path


@pytest.mark.unit
def test_runtime_stage_is_locked_down() -> None:
    instructions = _instructions()
    stages = [i for i, line in enumerate(instructions) if line.startswith("FROM")]
    assert len(stages) == 2, "a build stage and a runtime stage"
    runtime = instructions[stages[-1] :]
    users = [line.split()[1] for line in runtime if line.startswith("USER")]
    assert users
    assert not users[-1].startswith(("0", "root")), users
    assert any(line.startswith("HEALTHCHECK") for line in runtime)
    assert any(line.startswith("ENTRYPOINT") for line in runtime)
    # Only the virtual environment comes from the build stage: no uv, no compilers, no sources.
    assert [line for line in runtime if "--from=" in line] == [
        "COPY --from=build /opt/simplismart /opt/simplismart"
    ]
    # The dependencies are the locked ones, installed by the uv that hack/setup.sh pins.
    pinned = re.search(r"^UV_VERSION=(\S+)$", (HACK / "setup.sh").read_text(), flags=re.M)
    assert pinned
    assert f"ARG UV_VERSION={pinned.group(1)}" in instructions
    assert sum("uv sync --frozen --no-dev" in line for line in instructions) == 2
    assert INSTALLED[HEALTHCHECK] in ENTRYPOINT.read_text()


def _entrypoint(tmp_path: Path) -> Path:
    script = ENTRYPOINT.read_text().replace(
        "python=/opt/simplismart/bin/python", f"python={sys.executable}"
    )
    path = tmp_path / "simplismart"
    path.write_text(script)
    path.chmod(0o755)
    return path


@pytest.mark.unit
def test_entrypoint_dispatches_and_makes_the_jwt_secret_once(tmp_path: Path) -> None:
    entrypoint = _entrypoint(tmp_path)
    assert "api|operator|migrate" in run(entrypoint, "help").stdout
    secret = tmp_path / "jwt-secret"
    run(entrypoint, "jwt-secret", secret)
    first = secret.read_text().strip()
    assert len(first.encode()) >= 32
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    assert "keeping" in run(entrypoint, "jwt-secret", secret).stdout
    assert secret.read_text().strip() == first
    # The API accepts that file as its key.
    from simplismart.api.core.config import Settings

    settings = Settings.from_env({"SIMPLISMART_JWT_SECRET_FILE": str(secret)})
    assert settings.jwt_secret == first
    # "api" and "operator" run the two modules: with a bad setting each stops and names it.
    env = {
        "PYTHONSAFEPATH": "1",
        "SIMPLISMART_JWT_SECRET_FILE": str(secret),
        "SIMPLISMART_API_PORT": "0",
        "SIMPLISMART_METRICS_PORT": "x",
    }
    api = run(entrypoint, "api", env=env, check=False)
    assert api.returncode == 2
    assert "SIMPLISMART_API_PORT" in api.stderr
    operator = run(entrypoint, "operator", env=env, check=False)
    assert operator.returncode == 2
    assert "SIMPLISMART_METRICS_PORT" in operator.stderr


@pytest.mark.unit
def test_healthcheck_of_a_one_shot_or_a_dead_server(tmp_path: Path) -> None:
    # Not the API or the operator (here: a sleep): nothing to probe, healthy.
    with subprocess.Popen(["sleep", "30"]) as other:
        env = {"SIMPLISMART_HEALTHCHECK_PID": str(other.pid)}
        assert run(sys.executable, HEALTHCHECK, env=env, check=False).returncode == 0
        other.kill()
    # An "API" whose port answers nothing: unhealthy.
    code = "import time; time.sleep(30)"
    with subprocess.Popen([sys.executable, "-c", code, "simplismart", "api"]) as fake:
        env = {"SIMPLISMART_HEALTHCHECK_PID": str(fake.pid), "SIMPLISMART_API_PORT": "9"}
        result = run(sys.executable, HEALTHCHECK, env=env, check=False)
        fake.kill()
    assert result.returncode == 1
    assert "unhealthy" in result.stderr


def _uv() -> str | None:
    cache = Path(os.environ.get("SIMPLISMART_CACHE_DIR") or Path.home() / ".cache" / "simplismart")
    version = re.search(r"^UV_VERSION=(\S+)$", (HACK / "setup.sh").read_text(), flags=re.M)
    uv = cache / f"uv-{version.group(1) if version else ''}" / "bin" / "uv"
    return str(uv) if uv.exists() else None


@pytest.mark.integration
def test_the_image_install_holds_every_module(tmp_path: Path) -> None:
    """The image installs the project non-editable, as a wheel: that wheel must hold every
    module and data file of the four packages (an editable install hides a missing one)."""
    uv = _uv()
    if uv is None:
        pytest.skip("the pinned uv is not installed (hack/setup.sh)")
    run(
        uv,
        "build",
        "--wheel",
        "--out-dir",
        tmp_path,
        REPO_ROOT,
        env={"UV_PYTHON_DOWNLOADS": "never"},
        timeout=300,
    )
    (wheel,) = tmp_path.glob("simplismart-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        packaged = set(archive.namelist())
    missing = []
    for package in PACKAGES:
        for source in sorted((REPO_ROOT / package).rglob("*")):
            relative = source.relative_to(REPO_ROOT / package)
            if source.is_dir() or "__pycache__" in relative.parts:
                continue
            if f"simplismart/{package}/{relative.as_posix()}" not in packaged:
                missing.append(f"{package}/{relative.as_posix()}")
    assert not missing, f"missing from the wheel the image installs: {missing}"
