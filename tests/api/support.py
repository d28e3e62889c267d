"""Test helpers: the tier a test runs in, and a client that speaks the API's vocabulary."""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from kubernetes import client, config

from simplismart.api.core.config import Settings
from simplismart.api.kube import Kube
from simplismart.crds import CLUSTER, DEPLOYMENT, GROUP, VERSION, ResourceKind
from tests.api.fake_kube import FakeKube

PASSWORD = "correct horse battery"

#: Run a test in the unit tier only: it injects failures into the in-memory Kubernetes.
unit_only = pytest.mark.parametrize(
    "backend", [pytest.param("unit", marks=pytest.mark.unit)], indirect=True
)
#: Run a test in the integration tier only: it injects failures around the real API server.
integration_only = pytest.mark.parametrize(
    "backend", [pytest.param("integration", marks=pytest.mark.integration)], indirect=True
)
StatusWriter = Callable[[ResourceKind, str, str, dict[str, Any]], None]


@dataclass(frozen=True)
class Backend:
    tier: str
    settings: Settings
    kube: Kube
    set_status: StatusWriter
    #: The in-memory Kubernetes of the unit tier, for injecting failures; None when real.
    fake: FakeKube | None


class RealStatusWriter:
    """Writes status through the status subresource, as the operator would."""

    def __init__(self, kubeconfig: str) -> None:
        self._api = client.CustomObjectsApi(
            config.new_client_from_config(config_file=kubeconfig)  # type: ignore[no-untyped-call]
        )

    def set_status(
        self, kind: ResourceKind, namespace: str, name: str, status: dict[str, Any]
    ) -> None:
        self._api.patch_namespaced_custom_object_status(
            GROUP, VERSION, namespace, kind.plural, name, {"status": status}
        )


@dataclass
class Caller:
    username: str
    token: str
    id: int
    organization: dict[str, Any] | None = None

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@dataclass
class Org:
    """An organization with one member of each role."""

    admin: Caller
    developer: Caller
    viewer: Caller
    namespace: str
    invite_code: str
    members: dict[str, Caller] = field(default_factory=dict)


class Api:
    """Calls in the API's vocabulary, over the in-process TestClient or a real HTTP connection."""

    def __init__(self, client: httpx.Client, backend: Backend) -> None:
        self.client = client
        self.backend = backend
        self._serial = 0

    def call(
        self, method: str, path: str, caller: Caller | None = None, **kwargs: Any
    ) -> httpx.Response:
        headers = dict(kwargs.pop("headers", {}))
        if caller is not None:
            headers.update(caller.headers)
        response: httpx.Response = self.client.request(method, path, headers=headers, **kwargs)
        return response

    def unique(self, stem: str) -> str:
        self._serial += 1
        return f"{stem}{self._serial}"

    def user(self, username: str | None = None) -> Caller:
        """Register and log in a new user."""
        username = username or self.unique("user")
        registered = self.call(
            "POST", "/register", json={"username": username, "password": PASSWORD}
        )
        assert registered.status_code == 201, registered.text
        return self.login(username)

    def login(self, username: str) -> Caller:
        answer = self.call("POST", "/login", json={"username": username, "password": PASSWORD})
        assert answer.status_code == 200, answer.text
        body = answer.json()
        return Caller(
            username, body["access_token"], body["user"]["id"], body["user"]["organization"]
        )

    def refresh(self, caller: Caller) -> Caller:
        me = self.call("GET", "/me", caller).json()["user"]
        caller.organization = me["organization"]
        return caller

    def organization(self, admin: Caller | None = None) -> Org:
        """A new organization founded by ``admin`` (default: the first, hence ADMIN, user)."""
        admin = admin or self.user()
        created = self.call(
            "POST", "/create_organization", admin, json={"name": self.unique("org")}
        )
        assert created.status_code == 201, created.text
        organization = created.json()["organization"]
        developer = self.member(organization["invite_code"], admin, "DEVELOPER")
        viewer = self.member(organization["invite_code"], admin, "VIEWER")
        return Org(
            admin=self.refresh(admin),
            developer=developer,
            viewer=viewer,
            namespace=organization["namespace"],
            invite_code=organization["invite_code"],
        )

    def second_organization(self, org: Org) -> Org:
        """Another organization, founded by a member of ``org`` promoted to ADMIN for it."""
        founder = self.member(org.invite_code, org.admin, "ADMIN")
        return self.organization(founder)

    def member(self, invite_code: str, admin: Caller, role: str) -> Caller:
        user = self.user()
        joined = self.call("POST", "/join_organization", user, json={"invite_code": invite_code})
        assert joined.status_code == 200, joined.text
        if role != "VIEWER":
            changed = self.call(
                "POST", "/update_role", admin, json={"user_id": user.id, "role": role}
            )
            assert changed.status_code == 200, changed.text
        return self.refresh(user)

    def cluster(
        self, caller: Caller, name: str = "c1", cpu: int = 10, ram: int = 10, gpu: int = 10
    ) -> dict[str, Any]:
        answer = self.call(
            "POST",
            "/create_cluster",
            caller,
            json={"name": name, "total_cpu": cpu, "total_ram": ram, "total_gpu": gpu},
        )
        assert answer.status_code == 201, answer.text
        cluster: dict[str, Any] = answer.json()["cluster"]
        return cluster

    def deployment(
        self, caller: Caller, name: str = "d1", cluster: str = "c1", **fields: Any
    ) -> dict[str, Any]:
        body = {"name": name, "cluster_name": cluster, "cpu": 1, "ram": 1, "gpu": 1, "priority": 1}
        body["docker_path"] = "registry.example/model:1"
        body.update(fields)
        answer = self.call("POST", "/create_deployment", caller, json=body)
        assert answer.status_code == 201, answer.text
        deployment: dict[str, Any] = answer.json()["deployment"]
        return deployment

    def set_cluster_status(self, org: Org, name: str, status: dict[str, Any]) -> None:
        self.backend.set_status(CLUSTER, org.namespace, name, status)

    def set_deployment_status(self, org: Org, name: str, status: dict[str, Any]) -> None:
        self.backend.set_status(DEPLOYMENT, org.namespace, name, status)
