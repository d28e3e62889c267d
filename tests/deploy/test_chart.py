"""The Helm chart: lint, render, and the real API server's validation of what it renders."""

import filecmp
import tarfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from simplismart.api.core.config import Settings
from simplismart.operator.config import OperatorConfig
from tests.deploy.container import Container, Image
from tests.deploy.support import (
    API_SETTINGS,
    CHART,
    MANIFESTS,
    OPERATOR_SETTINGS,
    REPO_ROOT,
    container_env,
    helm,
    kubectl,
    run,
    template,
    variables_read_by,
)

pytestmark = pytest.mark.integration

POSTGRES = "postgresql+psycopg://simplismart:secret@postgres.db.svc:5432/simplismart"
VALUE_SETS: dict[str, list[str]] = {
    "defaults": [],
    "external-redis": ["redis.enabled=false", "redis.external.url=redis://redis.cache.svc:6379/0"],
    "redis-from-secret": ["redis.enabled=false", "redis.external.existingSecret=my-redis"],
    "postgresql": [f"database.external.url={POSTGRES}", "api.replicas=2"],
    "postgresql-from-secret": ["database.external.existingSecret=my-db", "api.replicas=3"],
    "sqlite-without-volume": ["database.sqlite.persistence.enabled=false"],
    "ingress": [
        "api.ingress.enabled=true",
        "api.ingress.className=nginx",
        "api.ingress.hosts[0].host=simplismart.example.com",
        "api.ingress.hosts[0].paths[0].path=/",
        "api.ingress.hosts[0].paths[0].pathType=Prefix",
        "api.ingress.tls[0].secretName=simplismart-tls",
        "api.ingress.tls[0].hosts[0]=simplismart.example.com",
    ],
    "monitoring": [
        "monitoring.serviceMonitor.enabled=true",
        "monitoring.serviceMonitor.labels.x=y",
    ],
    "network-policy": ["networkPolicy.enabled=true"],
    "metrics-off": [
        "api.metricsPort=0",
        "operator.metricsPort=0",
        "monitoring.serviceMonitor.enabled=true",
    ],
    "no-namespace-guard": ["api.namespaceGuard.enabled=false"],
    "everything": [
        f"database.external.url={POSTGRES}",
        "redis.enabled=false",
        "redis.external.url=redis://redis.cache.svc:6379/0",
        "api.ingress.enabled=true",
        "monitoring.serviceMonitor.enabled=true",
        "networkPolicy.enabled=true",
        "operator.seed=7",
    ],
}


@pytest.fixture(scope="module")
def validation_namespace(kubeconfig: str) -> Iterator[str]:
    """A namespace to dry-run into, and the ServiceMonitor CRD the monitoring values need."""
    name = f"chart-{uuid.uuid4().hex[:8]}"
    kubectl(kubeconfig, "create", "namespace", name)
    crd = MANIFESTS / "servicemonitor-crd.yaml"
    kubectl(kubeconfig, "apply", "-f", crd)
    kubectl(
        kubeconfig,
        "wait",
        "--for=condition=Established",
        "--timeout=60s",
        "crd/servicemonitors.monitoring.coreos.com",
    )
    try:
        yield name
    finally:
        kubectl(kubeconfig, "delete", "namespace", name, "--wait=false", check=False)
        kubectl(kubeconfig, "delete", "-f", crd, "--wait=false", check=False)


def test_lint_strict(tools_bin: Path) -> None:
    result = run("helm", "lint", "--strict", CHART)
    assert "0 chart(s) failed" in result.stdout
    assert "[WARNING]" not in result.stdout
    assert "[ERROR]" not in result.stdout


def test_packaged_crds_are_the_repository_crds(tools_bin: Path, tmp_path: Path) -> None:
    """charts/simplismart/crds links to crds/; the packaged chart holds the same bytes."""
    helm("package", CHART, "--destination", tmp_path)
    (archive,) = tmp_path.glob("simplismart-*.tgz")
    with tarfile.open(archive) as tar:
        tar.extractall(tmp_path / "unpacked", filter="data")
    packaged = tmp_path / "unpacked" / "simplismart" / "crds"
    source = sorted(p.name for p in (REPO_ROOT / "crds").glob("*.yaml"))
    assert sorted(p.name for p in packaged.iterdir()) == source, "only the CRD YAML is packaged"
    for name in source:
        assert filecmp.cmp(REPO_ROOT / "crds" / name, packaged / name, shallow=False), name


@pytest.mark.parametrize("values", VALUE_SETS.values(), ids=VALUE_SETS.keys())
def test_rendered_chart_passes_server_validation(
    kubeconfig: str, validation_namespace: str, values: list[str]
) -> None:
    sets = [arg for value in values for arg in ("--set", value)]
    rendered = helm("template", "sm", CHART, "--namespace", validation_namespace, *sets)
    result = kubectl(
        kubeconfig,
        "apply",
        "--dry-run=server",
        "--validate=strict",
        "-n",
        validation_namespace,
        "-f",
        "-",
        stdin=rendered,
    )
    assert "created (server dry run)" in result.stdout


def test_every_environment_variable_is_one_the_code_reads(tools_bin: Path) -> None:
    everything = VALUE_SETS["everything"]
    for objects in (template("sm", "ns"), template("sm", "ns", *everything)):
        api = container_env(objects, "Deployment", "api")
        operator = container_env(objects, "Deployment", "operator")
        # REDIS_PASSWORD only feeds $(REDIS_PASSWORD) in SIMPLISMART_REDIS_URL.
        read_by_api = variables_read_by(API_SETTINGS) | {"REDIS_PASSWORD"}
        assert set(api) <= read_by_api, set(api) - read_by_api
        assert set(operator) <= variables_read_by(OPERATOR_SETTINGS) | {"REDIS_PASSWORD"}
        # What each process cannot start without.
        assert "SIMPLISMART_JWT_SECRET_FILE" in api
        assert "SIMPLISMART_DATABASE_URL" in api
        assert "SIMPLISMART_REDIS_URL" in api
        assert "SIMPLISMART_REDIS_URL" in operator


def test_values_are_wired_where_they_belong(tools_bin: Path) -> None:
    objects = template("sm", "ns")
    kinds = {(o["kind"], o["metadata"]["name"]) for o in objects}
    api = container_env(objects, "Deployment", "api")
    operator = container_env(objects, "Deployment", "operator")
    assert api["SIMPLISMART_REDIS_URL"] == operator["SIMPLISMART_REDIS_URL"]
    assert api["SIMPLISMART_REDIS_URL"] == "redis://:$(REDIS_PASSWORD)@sm-simplismart-redis:6379/0"
    assert ("Service", "sm-simplismart-redis") in kinds
    # Replicas elect their leader through a Lease only the operator may update.
    assert operator["SIMPLISMART_STANDALONE"] == "false"
    lease_role = next(
        o for o in objects if o["kind"] == "Role" and "operator" in o["metadata"]["name"]
    )
    (_, named) = lease_role["rules"]
    assert named["resourceNames"] == [operator["SIMPLISMART_LEASE_NAME"]]
    assert set(named["verbs"]) == {"get", "update"}
    deployments = {o["metadata"]["name"]: o for o in objects if o["kind"] == "Deployment"}
    assert deployments["sm-simplismart-operator"]["spec"]["replicas"] == 1
    # An upgrade never runs two versions of the operator at once (they may elect differently).
    assert deployments["sm-simplismart-operator"]["spec"]["strategy"] == {"type": "Recreate"}
    # The Redis of the chart ends runs through expired-key notifications.
    redis = deployments["sm-simplismart-redis"]["spec"]["template"]["spec"]["containers"][0]
    assert redis["args"][redis["args"].index("--notify-keyspace-events") + 1] == "Ex"
    # External services come from Secrets, never from plain values in the Deployment.
    external = template("sm", "ns", *VALUE_SETS["everything"])
    api = container_env(external, "Deployment", "api")
    assert api["SIMPLISMART_DATABASE_URL"] == {
        "secretKeyRef": {"name": "sm-simplismart-database", "key": "database-url"}
    }
    assert "secretKeyRef" in api["SIMPLISMART_REDIS_URL"]
    assert not [o for o in external if o["kind"] == "PersistentVolumeClaim"]
    deployment = next(
        o for o in external if o["kind"] == "Deployment" and o["metadata"]["name"].endswith("-api")
    )
    assert deployment["spec"]["strategy"]["type"] == "RollingUpdate"


def test_the_code_parses_every_value_the_chart_renders(
    tools_bin: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Helm reads a values file's numbers as floats, which `quote` writes as 1e+06: the API
    refused to start on the chart's own default quotas (1000000), and the operator on a seed
    or a token lifetime of seven digits or more."""
    values = tmp_path / "values.yaml"
    large = {
        "api": {"jwt": {"expiresSeconds": 2592000}, "quotas": {"cpu": 5000000}},
        "operator": {"seed": 20261127},
        "redis": {"runAsUser": 1000680000},
    }
    values.write_text(yaml.safe_dump(large))
    for files in ([], [values]):
        objects = template("sm", "ns", files=files)
        api = {k: v for k, v in container_env(objects, "Deployment", "api").items() if v}
        # The files the chart mounts, as the values they hold.
        del api["SIMPLISMART_JWT_SECRET_FILE"], api["SIMPLISMART_BOOTSTRAP_TOKEN_FILE"]
        api["SIMPLISMART_JWT_SECRET"] = "a-secret-of-the-required-length-" * 2
        settings = Settings.from_env({k: v for k, v in api.items() if isinstance(v, str)})
        operator = container_env(objects, "Deployment", "operator")
        for name, value in operator.items():
            if isinstance(value, str):
                monkeypatch.setenv(name, value)
        config = OperatorConfig.from_env()
    assert settings.quotas.cpu == 5000000
    assert settings.quotas.ram == 1000000  # the chart's default
    assert settings.jwt_expires_seconds == 2592000
    assert config.seed == 20261127
    redis = _by_kind(objects, "Deployment")["sm-simplismart-redis"]["spec"]["template"]["spec"]
    assert redis["securityContext"]["runAsUser"] == 1000680000


def test_every_container_is_locked_down(tools_bin: Path) -> None:
    for objects in (template("sm", "ns"), template("sm", "ns", *VALUE_SETS["everything"])):
        for workload in (o for o in objects if o["kind"] == "Deployment"):
            pod = workload["spec"]["template"]["spec"]
            assert pod["securityContext"]["runAsNonRoot"] is True
            for container in pod.get("initContainers", []) + pod["containers"]:
                context = container["securityContext"]
                assert context["readOnlyRootFilesystem"] is True, container["name"]
                assert context["allowPrivilegeEscalation"] is False
                assert context["capabilities"]["drop"] == ["ALL"]
                assert container["resources"]["limits"], container["name"]


@pytest.mark.timeout(900)  # it may be the first to need the image, and build it cold
def test_the_chart_runs_the_built_image_as_it_was_built(
    tools_bin: Path, built_image: Image
) -> None:
    """The chart rendered with the reference of the image ``make image`` built: every container of
    ours runs that image, with a command its entry point knows, as the image's user."""
    repository, tag = built_image.name.rsplit(":", 1)
    objects = template("sm", "ns", f"image.repository={repository}", f"image.tag={tag}")
    container = Container(built_image)
    try:
        usage = run(*container.command("help")).stdout
    finally:
        container.remove()
    commands = usage.split("{", 1)[1].split("}", 1)[0].split("|")
    ours = [
        o
        for o in objects
        if o["kind"] == "Deployment"
        and o["metadata"]["labels"]["app.kubernetes.io/component"] != "redis"
    ]
    assert len(ours) == 2
    for workload in ours:
        pod = workload["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsUser"] == built_image.uid
        for container_spec in pod.get("initContainers", []) + pod["containers"]:
            assert container_spec["image"] == built_image.name
            assert "command" not in container_spec, "the image's entry point starts every process"
            assert container_spec["args"][0] in commands, container_spec["args"]


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (["operator.replicas=0"], "/operator/replicas"),
        (["api.replicas=2"], "needs an external database"),
        (["api.typo=1"], "additional properties 'typo' not allowed"),
        (["api.namespacePrefix=Not_A_Name"], "/api/namespacePrefix"),
        (["redis.enabled=false"], "needs redis.external.url"),
        (["database.external.url=mysql://x"], "/database/external/url"),
    ],
)
def test_bad_values_are_refused_with_a_clear_message(
    tools_bin: Path, values: list[str], message: str
) -> None:
    sets = [arg for value in values for arg in ("--set", value)]
    result = run("helm", "template", "sm", CHART, *sets, check=False)
    assert result.returncode != 0
    assert message in result.stderr


def test_values_documented_in_the_readme(tools_bin: Path) -> None:
    """Every leaf of values.yaml appears in the README's values table."""
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    readme = (CHART / "README.md").read_text()

    whole = {"resources", "podSecurityContext", "securityContext"}

    def leaves(node: object, prefix: str) -> list[str]:
        if isinstance(node, dict) and node and prefix.rstrip(".").split(".")[-1] not in whole:
            return [k for key, v in node.items() for k in leaves(v, f"{prefix}{key}.")]
        return [prefix.rstrip(".")]

    missing = [key for key in leaves(values, "") if f"`{key}`" not in readme]
    assert not missing, f"values missing from charts/simplismart/README.md: {missing}"


# --- Finding 9: Redis password, NetworkPolicy by default, trimmed RBAC, admission policy -----


def _by_kind(objects: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {o["metadata"]["name"]: o for o in objects if o["kind"] == kind}


def test_redis_requires_a_password_that_both_processes_carry(tools_bin: Path) -> None:
    objects = template("sm", "ns")
    secret = _by_kind(objects, "Secret")["sm-simplismart-redis-password"]
    assert secret["data"]["redis-password"]
    password_ref = {
        "secretKeyRef": {"name": "sm-simplismart-redis-password", "key": "redis-password"}
    }
    for component in ("api", "operator"):
        env = container_env(objects, "Deployment", component)
        assert env["REDIS_PASSWORD"] == password_ref
        assert env["SIMPLISMART_REDIS_URL"].startswith("redis://:$(REDIS_PASSWORD)@")
        names = [e["name"] for e in _container(objects, component)["env"]]
        # Kubernetes substitutes only variables defined earlier in the list.
        assert names.index("REDIS_PASSWORD") < names.index("SIMPLISMART_REDIS_URL")
    redis = _container(objects, "redis")
    assert redis["args"][redis["args"].index("--requirepass") + 1] == "$(REDISCLI_AUTH)"
    assert {"name": "REDISCLI_AUTH", "valueFrom": password_ref} in redis["env"]


def _container(objects: list[dict[str, Any]], component: str) -> dict[str, Any]:
    deployment = _by_kind(objects, "Deployment")[f"sm-simplismart-{component}"]
    container: dict[str, Any] = deployment["spec"]["template"]["spec"]["containers"][0]
    return container


def test_every_generated_secret_can_be_given_instead(tools_bin: Path) -> None:
    """`helm template` (Argo CD) cannot read the generated Secrets back and makes new ones at
    every render: the Redis password and the bootstrap token had no way to be given."""
    given = (
        "api.jwt.existingSecret=my-jwt",
        "redis.auth.existingSecret=my-redis",
        "api.bootstrap.existingSecret=my-bootstrap",
    )
    objects = template("sm", "ns", *given)
    assert not _by_kind(objects, "Secret")  # nothing generated
    volumes = {
        v["name"]: v.get("secret", {}).get("secretName")
        for v in _by_kind(objects, "Deployment")["sm-simplismart-api"]["spec"]["template"]["spec"][
            "volumes"
        ]
    }
    assert {"my-jwt", "my-bootstrap"} <= set(volumes.values())
    for component, variable in (
        ("api", "REDIS_PASSWORD"),
        ("operator", "REDIS_PASSWORD"),
        ("redis", "REDISCLI_AUTH"),
    ):
        env = container_env(objects, "Deployment", component)
        assert env[variable]["secretKeyRef"]["name"] == "my-redis"


def test_network_policies_are_on_by_default_and_cover_the_api_metrics(tools_bin: Path) -> None:
    policies = _by_kind(template("sm", "ns"), "NetworkPolicy")
    assert set(policies) == {
        "sm-simplismart-api",
        "sm-simplismart-operator",
        "sm-simplismart-redis",
    }
    ports = [
        port["port"]
        for rule in policies["sm-simplismart-api"]["spec"]["ingress"]
        for port in rule["ports"]
    ]
    assert ports == ["http", "metrics"]


def test_the_api_serves_metrics_and_the_bootstrap_token_apart(tools_bin: Path) -> None:
    objects = template("sm", "ns")
    env = container_env(objects, "Deployment", "api")
    assert env["SIMPLISMART_API_METRICS_PORT"] == "9091"
    assert env["SIMPLISMART_BOOTSTRAP_TOKEN_FILE"].endswith("/bootstrap-token")
    assert env["SIMPLISMART_QUOTA_ORGANIZATIONS_PER_USER"] == "10"
    assert "sm-simplismart-bootstrap" in _by_kind(objects, "Secret")
    ports = {p["name"] for p in _container(objects, "api")["ports"]}
    assert ports == {"http", "metrics"}
    # Exposing the API exposes only its http port: metrics stay on a ClusterIP Service.
    exposed = _by_kind(template("sm", "ns", "api.service.type=LoadBalancer"), "Service")
    assert [p["name"] for p in exposed["sm-simplismart-api"]["spec"]["ports"]] == ["http"]
    metrics = exposed["sm-simplismart-api-metrics"]["spec"]
    assert metrics["type"] == "ClusterIP"
    assert [p["port"] for p in metrics["ports"]] == [9091]
    proxies = template("sm", "ns", "api.trustedProxies={10.0.0.0/8,fd00::/8}")
    assert container_env(proxies, "Deployment", "api")["SIMPLISMART_TRUSTED_PROXIES"] == (
        "10.0.0.0/8,fd00::/8"
    )


@pytest.mark.parametrize("component", ["api", "operator"])
def test_a_metrics_port_of_0_turns_that_metrics_off_everywhere(
    tools_bin: Path, component: str
) -> None:
    """0 is what both processes read as "no metrics": the chart refused it, so metrics could not
    be turned off, nor a port, Service or ServiceMonitor left out that nothing serves."""
    sets = (f"{component}.metricsPort=0", "monitoring.serviceMonitor.enabled=true")
    objects = template("sm", "ns", *sets)
    names = {o["metadata"]["name"] for o in objects}
    assert f"sm-simplismart-{component}-metrics" not in names
    assert set(_by_kind(objects, "ServiceMonitor")) == {
        f"sm-simplismart-{other}" for other in ("api", "operator") if other != component
    }
    assert "metrics" not in {p["name"] for p in _container(objects, component).get("ports", [])}
    env = container_env(objects, "Deployment", component)
    variable = "SIMPLISMART_API_METRICS_PORT" if component == "api" else "SIMPLISMART_METRICS_PORT"
    assert env[variable] == "0"
    policy = _by_kind(objects, "NetworkPolicy")[f"sm-simplismart-{component}"]["spec"]
    ports = [port["port"] for rule in policy["ingress"] for port in rule["ports"]]
    assert ports == (["http"] if component == "api" else [])


def test_the_api_role_is_what_the_api_uses(tools_bin: Path) -> None:
    role = _by_kind(template("sm", "ns"), "ClusterRole")["ns-sm-simplismart-api"]
    rights = {
        (resource, verb)
        for rule in role["rules"]
        for resource in rule["resources"]
        for verb in rule["verbs"]
    }
    # get: a timed-out organization's rollback reads the claim annotation first.
    assert {r for r in rights if r[0] == "namespaces"} == {
        ("namespaces", "create"),
        ("namespaces", "get"),
        ("namespaces", "delete"),
    }
    assert ("clusters", "delete") in rights  # DELETE /clusters/{name}
    assert not {verb for _, verb in rights} & {"update", "patch", "deletecollection"}
    # The watch cache behind the lists: the two kinds, nothing else.
    assert {r for r, verb in rights if verb == "watch"} == {"clusters", "deployments"}


@pytest.fixture
def namespace_guard(kubeconfig: str) -> Iterator[str]:
    """The chart's admission policy on the real API server; yields the API's user name."""
    release = f"g{uuid.uuid4().hex[:6]}"
    objects = [
        o
        for o in template(release, "guard")
        if o["kind"] in {"ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding"}
    ]
    manifest = yaml.safe_dump_all(objects)
    kubectl(kubeconfig, "apply", "-f", "-", stdin=manifest)
    try:
        yield f"system:serviceaccount:guard:{release}-simplismart-api"
    finally:
        kubectl(kubeconfig, "delete", "-f", "-", stdin=manifest, check=False)


def _namespace(name: str, organization: str | None) -> str:
    labels = {"simplismart.io/organization": organization} if organization else {}
    return yaml.safe_dump(
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels}}
    )


def test_the_admission_policy_checks_the_whole_name_and_the_label(
    kubeconfig: str, namespace_guard: str
) -> None:
    def create(name: str, organization: str | None) -> str:
        result = kubectl(
            kubeconfig,
            "create",
            "--dry-run=server",
            f"--as={namespace_guard}",
            "--as-group=system:masters",
            "-f",
            "-",
            stdin=_namespace(name, organization),
            check=False,
        )
        return "denied" if "denied request" in result.stderr else result.stdout + result.stderr

    # The policy takes a moment to reach the API server's admission chain.
    deadline = time.monotonic() + 30
    while create("not-an-org", "1") != "denied":
        assert time.monotonic() < deadline, "the admission policy never took effect"
        time.sleep(0.5)
    assert create("sm-org-12x", "12") == "denied"  # the prefix, then more than digits
    assert create("sm-org-12", "13") == "denied"  # labelled with another organization
    assert create("sm-org-12", None) == "denied"
    assert "created (server dry run)" in create("sm-org-12", "12")
