"""The chart installed on the local control plane (kwok makes its pods Ready): install, upgrade,
the RBAC of both service accounts end to end, and an uninstall that leaves only the CRDs.

The tests of this module share one release and run in order; the last one uninstalls it.
"""

import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from harness.kube import Namespace, api_client, wait_for
from harness.ports import free_port
from harness.processes import OperatorProcess

from simplismart.crds import CLUSTER, DEPLOYMENT, parse_time
from tests.deploy.support import (
    HACK,
    helm,
    kubectl,
    run,
    secret_value,
    token_kubeconfig,
    walk_the_original_flow,
)

pytestmark = pytest.mark.integration


@dataclass(frozen=True)
class Release:
    name: str
    namespace: str
    prefix: str
    kubeconfig: str

    @property
    def fullname(self) -> str:
        return f"{self.name}-simplismart"

    @property
    def operator_account(self) -> str:
        return f"{self.fullname}-operator"

    @property
    def api_account(self) -> str:
        return f"{self.fullname}-api"

    @property
    def jwt_secret(self) -> str:
        return secret_value(self.kubeconfig, self.namespace, f"{self.fullname}-jwt", "jwt-secret")


def _volume_for(release: str, namespace: str) -> str:
    """A PersistentVolume for the chart's SQLite claim (the local cluster has no provisioner)."""
    return json.dumps(
        {
            "apiVersion": "v1",
            "kind": "PersistentVolume",
            "metadata": {"name": f"{namespace}-data"},
            "spec": {
                "capacity": {"storage": "1Gi"},
                "accessModes": ["ReadWriteOnce"],
                "persistentVolumeReclaimPolicy": "Retain",
                "hostPath": {"path": f"/tmp/{namespace}-data"},
                "claimRef": {"namespace": namespace, "name": f"{release}-simplismart-api-data"},
            },
        }
    )


@pytest.fixture(scope="module")
def release(kubeconfig: str, tools_bin: Path) -> Iterator[Release]:
    """The chart installed by hack/helm-install.sh into a namespace that enforces the
    "restricted" Pod Security Standard, so a pod that is not locked down is refused."""
    suffix = uuid.uuid4().hex[:6]
    installed = Release(f"sm{suffix}", f"deploy-{suffix}", f"t-{suffix}-org-", kubeconfig)
    kubectl(kubeconfig, "create", "namespace", installed.namespace)
    kubectl(
        kubeconfig,
        "label",
        "namespace",
        installed.namespace,
        "pod-security.kubernetes.io/enforce=restricted",
    )
    kubectl(kubeconfig, "apply", "-f", "-", stdin=_volume_for(installed.name, installed.namespace))
    started = time.monotonic()
    run(
        HACK / "helm-install.sh",
        "--set",
        f"api.namespacePrefix={installed.prefix}",
        env={
            "KUBECONFIG": kubeconfig,
            "SIMPLISMART_RELEASE": installed.name,
            "SIMPLISMART_NAMESPACE": installed.namespace,
            "SIMPLISMART_HELM_TIMEOUT": "120s",
            "HELM": str(tools_bin / "helm"),
        },
    )
    assert time.monotonic() - started < 120
    try:
        yield installed
    finally:
        helm("uninstall", installed.name, "-n", installed.namespace, "--wait", check=False)
        kubectl(kubeconfig, "delete", "namespace", installed.namespace, "--wait=false", check=False)
        kubectl(kubeconfig, "delete", "pv", f"{installed.namespace}-data", check=False)
        # Organization namespaces the API made, if a test stopped half-way.
        listed = kubectl(kubeconfig, "get", "namespaces", "-o", "name").stdout.split()
        for name in listed:
            if name.startswith(f"namespace/{installed.prefix}"):
                kubectl(kubeconfig, "delete", name, "--wait=false", check=False)


def test_install_makes_every_pod_ready(release: Release) -> None:
    pods = json.loads(
        kubectl(release.kubeconfig, "get", "pods", "-n", release.namespace, "-o", "json").stdout
    )["items"]
    components = sorted(p["metadata"]["labels"]["app.kubernetes.io/component"] for p in pods)
    assert components == ["api", "operator", "redis"]
    for pod in pods:
        ready = {c["type"]: c["status"] for c in pod["status"]["conditions"]}
        assert ready["Ready"] == "True", pod["metadata"]["name"]
    claim = kubectl(
        release.kubeconfig,
        "get",
        "pvc",
        f"{release.fullname}-api-data",
        "-n",
        release.namespace,
        "-o",
        "jsonpath={.status.phase}",
    )
    assert claim.stdout == "Bound"


def test_upgrade_keeps_the_jwt_secret(release: Release) -> None:
    before = release.jwt_secret
    assert len(before.encode()) >= 32
    helm(
        "upgrade",
        release.name,
        Path(__file__).resolve().parents[2] / "charts" / "simplismart",
        "-n",
        release.namespace,
        "--reuse-values",
        "--set",
        "api.loginRateLimit=50",
        "--wait",
        "--timeout",
        "90s",
        kubeconfig=release.kubeconfig,
    )
    history = json.loads(
        helm(
            "history",
            release.name,
            "-n",
            release.namespace,
            "-o",
            "json",
            kubeconfig=release.kubeconfig,
        )
    )
    assert [entry["revision"] for entry in history] == [1, 2]
    assert release.jwt_secret == before


def _wait_http(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    def up() -> bool:
        if process.poll() is not None:
            raise AssertionError(f"the API exited:\n{log.read_text()[-3000:]}")
        try:
            return httpx.get(url, timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    wait_for(up, timeout=60, interval=0.3, what=url)


def test_both_service_accounts_are_enough_end_to_end(
    release: Release, redis_url: str, tmp_path: Path
) -> None:
    """The operator and the API as local processes, each holding only its ServiceAccount's token,
    take one deployment from an HTTP request to Succeeded."""
    admin = release.kubeconfig
    operator_config = token_kubeconfig(
        admin, release.namespace, release.operator_account, tmp_path / "operator.kubeconfig"
    )
    api_config = token_kubeconfig(
        admin, release.namespace, release.api_account, tmp_path / "api.kubeconfig"
    )
    port = free_port()
    api_log = tmp_path / "api.log"
    api_env = {
        **os.environ,
        "PYTHONSAFEPATH": "1",
        "KUBECONFIG": api_config,
        "SIMPLISMART_JWT_SECRET": release.jwt_secret,
        "SIMPLISMART_DATABASE_URL": f"sqlite:///{tmp_path / 'api.db'}",
        "SIMPLISMART_STATE_DIR": str(tmp_path),
        "SIMPLISMART_REDIS_URL": redis_url,
        "SIMPLISMART_API_HOST": "127.0.0.1",
        "SIMPLISMART_API_PORT": str(port),
        "SIMPLISMART_NAMESPACE_PREFIX": release.prefix,
        "SIMPLISMART_BOOTSTRAP_TOKEN": BOOTSTRAP_TOKEN,
        "SIMPLISMART_API_METRICS_PORT": "0",
    }
    operator = OperatorProcess(
        operator_config,
        redis_url,
        tmp_path / "operator.log",
        SIMPLISMART_STANDALONE="false",
        SIMPLISMART_LEASE_NAME=f"{release.fullname}-operator",
        SIMPLISMART_LEASE_NAMESPACE=release.namespace,
    )
    base = f"http://127.0.0.1:{port}"
    with operator, api_log.open("ab") as log:
        api = subprocess.Popen(
            [sys.executable, "-m", "simplismart.api"], env=api_env, stdout=log, stderr=log
        )
        try:
            _wait_http(f"{base}/readyz", api, api_log)
            walk_the_original_flow(base, release.kubeconfig, release.prefix, BOOTSTRAP_TOKEN)
            _image_healthcheck_passes(api.pid, port)
        finally:
            api.terminate()
            api.wait(timeout=15)
    # Every refusal says so in words: the API server's message ("... is forbidden: User ..."),
    # its reason and the clients' errors ("Forbidden", APIForbiddenError), an access log's
    # "403 Forbidden". A bare " 403" also matched "(ended 4038 ms after its deadline)".
    for name, output in (("operator", operator.output()), ("API", api_log.read_text())):
        assert "forbidden" not in output.lower(), f"{name} log:\n{output[-3000:]}"


def _image_healthcheck_passes(pid: int, port: int) -> None:
    """The Dockerfile's HEALTHCHECK script, run against this API process."""
    from tests.deploy.test_image import HEALTHCHECK

    env = {"SIMPLISMART_HEALTHCHECK_PID": str(pid), "SIMPLISMART_API_PORT": str(port)}
    result = run(sys.executable, HEALTHCHECK, env=env, check=False)
    assert result.returncode == 0, result.stderr


def test_operator_account_under_admin_created_objects(
    release: Release, redis_url: str, tmp_path: Path
) -> None:
    """Objects a kubectl user creates (not the API) in any namespace are reconciled too."""
    operator_config = token_kubeconfig(
        release.kubeconfig, release.namespace, release.operator_account, tmp_path / "op.kubeconfig"
    )
    namespace = Namespace(api_client(release.kubeconfig), prefix="deploy-rbac")
    try:
        with OperatorProcess(
            operator_config,
            redis_url,
            tmp_path / "operator.log",
            SIMPLISMART_STANDALONE="false",
            SIMPLISMART_LEASE_NAME=f"{release.fullname}-operator",
            SIMPLISMART_LEASE_NAMESPACE=release.namespace,
        ) as operator:
            namespace.cluster("c1", cpu=4, ram=4, gpu=0)
            namespace.deployment("d1", "c1", cpu=2, ram=1, priority=1, duration=1)
            # Not a wait for Running: under load the status write of a 1 s run can take most
            # of its second, and the phase is gone between two polls. The times say it ran.
            done = namespace.wait_phase("d1", "Succeeded", timeout=60)["status"]
            assert parse_time(done["startedAt"]) < parse_time(done["finishedAt"])
            status = namespace.get(CLUSTER, "c1").get("status") or {}
            assert status, "the operator wrote the cluster's status"
            assert namespace.list(DEPLOYMENT)
        assert "Forbidden" not in operator.output(), operator.output()[-3000:]
    finally:
        namespace.delete()


#: Outside dev mode the first ADMIN registers with it (docs/security.md).
BOOTSTRAP_TOKEN = "bootstrap-" + "0123456789" * 3

# (verb, resource, namespace or "" for cluster-wide, allowed?)
OPERATOR_RIGHTS = [
    ("watch", "deployments.simplismart.io", "", True),
    ("patch", "deployments.simplismart.io/status", "any-ns", True),
    ("patch", "clusters.simplismart.io", "any-ns", True),
    ("create", "events.events.k8s.io", "any-ns", True),
    ("create", "deployments.simplismart.io", "any-ns", False),
    ("delete", "clusters.simplismart.io", "any-ns", False),
    ("get", "secrets", "kube-system", False),
    ("get", "secrets", "any-ns", False),
    ("list", "pods", "any-ns", False),
    ("get", "nodes", "", False),
    ("create", "namespaces", "", False),
    ("create", "clusterroles", "", False),
    ("create", "clusterrolebindings", "", False),
    ("delete", "customresourcedefinitions", "", False),
    ("delete", "deployments.simplismart.io", "any-ns", True),
    ("update", "leases.coordination.k8s.io", "any-ns", False),
]
API_RIGHTS = [
    ("create", "namespaces", "", True),
    ("get", "namespaces", "", True),  # the claim of a namespace whose creation timed out
    ("list", "namespaces", "", False),
    ("delete", "clusters.simplismart.io", "any-ns", True),
    ("create", "deployments.simplismart.io", "any-ns", True),
    ("list", "clusters.simplismart.io", "any-ns", True),
    ("delete", "deployments.simplismart.io", "any-ns", True),
    ("patch", "deployments.simplismart.io", "any-ns", False),
    ("patch", "deployments.simplismart.io/status", "any-ns", False),
    ("watch", "deployments.simplismart.io", "", True),  # the watch cache behind the lists
    ("get", "secrets", "any-ns", False),
    ("get", "secrets", "kube-system", False),
    ("list", "namespaces", "", False),
    ("patch", "namespaces", "", False),
    ("get", "nodes", "", False),
    ("create", "pods", "any-ns", False),
    ("create", "clusterroles", "", False),
    ("create", "rolebindings", "any-ns", False),
    ("create", "clusterrolebindings", "", False),
    ("update", "leases.coordination.k8s.io", "any-ns", False),
]


@pytest.mark.parametrize("account", ["operator", "api"])
def test_each_account_has_what_it_needs_and_no_more(release: Release, account: str) -> None:
    name = release.operator_account if account == "operator" else release.api_account
    rights = OPERATOR_RIGHTS if account == "operator" else API_RIGHTS
    user = f"system:serviceaccount:{release.namespace}:{name}"
    wrong = []
    for verb, resource, namespace, allowed in rights:
        scope = ["-n", namespace] if namespace else []
        if resource.endswith("/status"):
            scope.append("--subresource=status")
            resource = resource.removesuffix("/status")
        answer = kubectl(
            release.kubeconfig, "auth", "can-i", verb, resource, f"--as={user}", *scope, check=False
        ).stdout.strip()
        if answer != ("yes" if allowed else "no"):
            wrong.append(f"can-i {verb} {resource} {namespace}: {answer}")
    assert not wrong, wrong


def test_the_api_may_only_touch_organization_namespaces(release: Release, tmp_path: Path) -> None:
    """RBAC lets the API create and delete namespaces; the admission policy narrows that."""
    config = token_kubeconfig(
        release.kubeconfig, release.namespace, release.api_account, tmp_path / "api.kubeconfig"
    )
    refused = [
        ("delete", "namespace", "kube-system", "--dry-run=server"),
        ("delete", "namespace", release.namespace, "--dry-run=server"),
        ("create", "namespace", f"not-an-org-{uuid.uuid4().hex[:6]}", "--dry-run=server"),
        # The right prefix without the organization label.
        ("create", "namespace", f"{release.prefix}999", "--dry-run=server"),
    ]
    for command in refused:
        result = kubectl(config, *command, check=False)
        assert result.returncode != 0, command
        assert "denied request" in result.stderr or "Forbidden" in result.stderr, result.stderr
    cluster = json.dumps(
        {
            "apiVersion": CLUSTER.api_version,
            "kind": CLUSTER.kind,
            "metadata": {"name": "c1", "namespace": release.namespace},
            "spec": {"resources": {"cpu": 1, "ram": 1, "gpu": 0}},
        }
    )
    result = kubectl(config, "create", "--dry-run=server", "-f", "-", stdin=cluster, check=False)
    assert result.returncode != 0
    assert "may only use namespaces" in result.stderr, result.stderr


def test_uninstall_leaves_only_the_crds(release: Release) -> None:
    helm(
        "uninstall", release.name, "-n", release.namespace, "--wait", kubeconfig=release.kubeconfig
    )
    kinds = kubectl(
        release.kubeconfig, "api-resources", "--verbs=list", "-o", "name"
    ).stdout.split()
    # Events carry no labels, and are not ours to clean.
    kinds = [k for k in kinds if k not in ("events", "events.events.k8s.io")]
    selector = f"app.kubernetes.io/instance={release.name}"

    def leftovers() -> str:
        return kubectl(
            release.kubeconfig, "get", ",".join(kinds), "-A", "-l", selector, "-o", "name"
        ).stdout.strip()

    wait_for(lambda: not leftovers(), timeout=30, interval=0.5, what="no object of the release")
    in_namespace = kubectl(
        release.kubeconfig,
        "get",
        "secrets,configmaps,serviceaccounts,persistentvolumeclaims,services,deployments",
        "-n",
        release.namespace,
        "-o",
        "name",
    ).stdout.split()
    assert sorted(in_namespace) == ["configmap/kube-root-ca.crt", "serviceaccount/default"]
    crds = kubectl(release.kubeconfig, "get", "crd", "-o", "name").stdout
    for crd in (
        "clusters.simplismart.io",
        "deployments.simplismart.io",
    ):
        assert crd in crds
