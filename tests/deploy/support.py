"""Helpers of the deployment tests: the repository's paths, helm and kubectl, service accounts."""

import base64
import json
import os
import re
import subprocess
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx
import yaml
from harness.kube import wait_for

REPO_ROOT = Path(__file__).resolve().parents[2]
CHART = REPO_ROOT / "charts" / "simplismart"
HACK = REPO_ROOT / "hack"
MANIFESTS = Path(__file__).resolve().parent / "manifests"


def run(
    *args: str | Path,
    env: dict[str, str] | None = None,
    check: bool = True,
    stdin: str | None = None,
    timeout: float = 180,
) -> subprocess.CompletedProcess[str]:
    """Run a command; on failure, the assertion shows its output."""
    result = subprocess.run(
        [str(a) for a in args],
        env={**os.environ, **(env or {})},
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if check and result.returncode != 0:
        raise AssertionError(
            f"{' '.join(map(str, args))} exited {result.returncode}\n"
            f"stdout:\n{result.stdout[-4000:]}\nstderr:\n{result.stderr[-4000:]}"
        )
    return result


def helm(*args: str | Path, kubeconfig: str | None = None, check: bool = True) -> str:
    env = {"KUBECONFIG": kubeconfig} if kubeconfig else None
    return run("helm", *args, env=env, check=check).stdout


def kubectl(
    kubeconfig: str, *args: str | Path, stdin: str | None = None, check: bool = True
) -> subprocess.CompletedProcess[str]:
    return run("kubectl", f"--kubeconfig={kubeconfig}", *args, stdin=stdin, check=check)


def template(
    release: str, namespace: str, *values: str, files: Sequence[Path] = ()
) -> list[dict[str, Any]]:
    """The chart rendered with ``--set`` VALUES and values ``files``, as a list of objects."""
    sets = [arg for value in values for arg in ("--set", value)]
    sets += [arg for file in files for arg in ("-f", str(file))]
    rendered = helm("template", release, CHART, "--namespace", namespace, *sets)
    return [doc for doc in yaml.safe_load_all(rendered) if doc]


def token_kubeconfig(admin_kubeconfig: str, namespace: str, account: str, path: Path) -> str:
    """A kubeconfig that acts as a ServiceAccount, with a token from the TokenRequest API."""
    token = kubectl(
        admin_kubeconfig, "create", "token", account, "-n", namespace, "--duration=1h"
    ).stdout.strip()
    admin = yaml.safe_load(Path(admin_kubeconfig).read_text())
    cluster = admin["clusters"][0]["cluster"]
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "local", "cluster": cluster}],
        "users": [{"name": account, "user": {"token": token}}],
        "contexts": [{"name": "local", "context": {"cluster": "local", "user": account}}],
        "current-context": "local",
    }
    path.write_text(yaml.safe_dump(config))
    return str(path)


def secret_value(kubeconfig: str, namespace: str, name: str, key: str) -> str:
    raw = kubectl(kubeconfig, "get", "secret", name, "-n", namespace, "-o", "json").stdout
    return base64.b64decode(json.loads(raw)["data"][key]).decode()


def container_env(objects: Sequence[dict[str, Any]], kind: str, component: str) -> dict[str, Any]:
    """Environment of the main container of the chart's ``component`` workload, by name."""
    for obj in objects:
        labels = obj["metadata"].get("labels", {})
        if obj["kind"] == kind and labels.get("app.kubernetes.io/component") == component:
            container = obj["spec"]["template"]["spec"]["containers"][0]
            return {e["name"]: e.get("value", e.get("valueFrom")) for e in container["env"]}
    raise AssertionError(f"no {kind} for {component} in the rendered chart")


def variables_read_by(path: Path) -> set[str]:
    """SIMPLISMART_* names that a settings module reads, from its source.

    Both name every variable in full, and a secret's ``_secret("NAME", ...)`` reads NAME_FILE
    too; both read KUBECONFIG through the Kubernetes client.
    """
    source = path.read_text()
    names = set(re.findall(r'"(SIMPLISMART_[A-Z0-9_]+)"', source))
    names |= {f"{name}_FILE" for name in re.findall(r'_secret\(\s*"([A-Z0-9_]+)"', source)}
    return names | {"KUBECONFIG"}


def walk_the_original_flow(
    base: str, kubeconfig: str, prefix: str, bootstrap_token: str | None = None
) -> None:
    """The original README's flow against the API at ``base``: register (the first ADMIN, with
    the bootstrap token outside dev mode), login, organization, cluster, deployment; the
    deployment reaches Succeeded, in a namespace named with ``prefix``."""
    user = {"username": f"admin{uuid.uuid4().hex[:6]}", "password": "correct horse battery"}
    token_field = {} if bootstrap_token is None else {"bootstrap_token": bootstrap_token}
    with httpx.Client(base_url=base, timeout=20) as http:
        registered = http.post("/register", json={**user, **token_field})
        assert registered.status_code == 201, registered.text
        assert registered.json()["user"]["role"] == "ADMIN", registered.text
        token = http.post("/login", json=user).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        created = http.post("/create_organization", json={"name": "org"}, headers=headers)
        assert created.status_code == 201, created.text
        cluster = {"name": "c1", "total_cpu": 10, "total_ram": 10, "total_gpu": 2}
        answer = http.post("/create_cluster", json=cluster, headers=headers)
        assert answer.status_code == 201, answer.text
        deployment = {
            "name": "d1",
            "cpu": 5,
            "ram": 2,
            "gpu": 1,
            "priority": 1,
            "cluster_name": "c1",
            "docker_path": "https://sampledockerpath/DockerFile",
            "duration_seconds": 1,
        }
        answer = http.post("/create_deployment", json=deployment, headers=headers)
        assert answer.status_code == 201, answer.text

        def succeeded() -> bool:
            listed = http.get("/deployments", headers=headers).json()["deployments"]
            return [d["phase"] for d in listed] == ["Succeeded"]

        wait_for(succeeded, timeout=40, interval=0.5, what="d1 to succeed")
        namespaces = kubectl(kubeconfig, "get", "namespaces", "-o", "name").stdout
        assert f"namespace/{prefix}" in namespaces


API_SETTINGS = REPO_ROOT / "api" / "core" / "config.py"
OPERATOR_SETTINGS = REPO_ROOT / "operator" / "config.py"
