"""Organizations: namespace per organization, invite codes, and the last-ADMIN rule."""

import pytest
from fastapi.testclient import TestClient
from harness.kube import api_client, delete_namespace
from kubernetes import client
from sqlalchemy.orm import Session

from simplismart.api.app import create_app
from simplismart.api.crud import organizations
from simplismart.api.errors import UnavailableError
from simplismart.api.kube import ORGANIZATION_LABEL, KubernetesApi
from simplismart.api.models import User
from tests.api.fake_kube import FakeNamespace
from tests.api.support import Api, Caller, integration_only, unit_only


def test_creating_an_organization_makes_its_namespace_and_its_admin(api: Api) -> None:
    founder = api.user()
    answer = api.call("POST", "/create_organization", founder, json={"name": "Acme Inc."})
    assert answer.status_code == 201
    organization = answer.json()["organization"]
    prefix = api.backend.settings.namespace_prefix
    assert organization["namespace"] == f"{prefix}{organization['id']}"
    assert len(organization["invite_code"]) >= 32
    me = api.call("GET", "/me", founder).json()["user"]
    assert me["role"] == "ADMIN"
    assert me["organization"]["name"] == "Acme Inc."
    if api.backend.fake is not None:
        made = api.backend.fake.namespaces[organization["namespace"]]
        assert made.labels == {ORGANIZATION_LABEL: str(organization["id"])}


def test_organization_names_are_unique(api: Api) -> None:
    org = api.organization()
    name = api.call("GET", "/me", org.admin).json()["user"]["organization"]["name"]
    founder = api.member(org.invite_code, org.admin, "ADMIN")
    again = api.call("POST", "/create_organization", founder, json={"name": name})
    assert again.status_code == 409
    assert again.json()["errors"][0]["field"] == "name"


def test_joining_makes_a_viewer_and_a_bad_code_is_404(api: Api) -> None:
    org = api.organization()
    newcomer = api.user()
    bad = api.call("POST", "/join_organization", newcomer, json={"invite_code": "guess"})
    assert bad.status_code == 404
    assert bad.json()["errors"][0]["field"] == "invite_code"
    good = api.call("POST", "/join_organization", newcomer, json={"invite_code": org.invite_code})
    assert good.status_code == 200
    assert good.json()["organization"]["invite_code"] is None
    assert api.call("GET", "/me", newcomer).json()["user"]["role"] == "VIEWER"
    again = api.call("POST", "/join_organization", newcomer, json={"invite_code": org.invite_code})
    assert again.status_code == 409


def test_rotating_the_invite_code_retires_the_old_one(api: Api) -> None:
    org = api.organization()
    rotated = api.call("POST", "/rotate_invite_code", org.admin)
    new_code = rotated.json()["organization"]["invite_code"]
    assert new_code != org.invite_code
    newcomer = api.user()
    old = api.call("POST", "/join_organization", newcomer, json={"invite_code": org.invite_code})
    assert old.status_code == 404
    new = api.call("POST", "/join_organization", newcomer, json={"invite_code": new_code})
    assert new.status_code == 200


def test_the_last_admin_cannot_step_down_or_leave(api: Api) -> None:
    org = api.organization()
    demote = api.call(
        "POST", "/update_role", org.admin, json={"user_id": org.admin.id, "role": "VIEWER"}
    )
    assert demote.status_code == 409
    other = api.second_organization(org)
    leave = api.call(
        "POST", "/join_organization", other.admin, json={"invite_code": org.invite_code}
    )
    assert leave.status_code == 409  # other.admin is the only ADMIN of the other organization
    assert api.call("GET", "/me", org.admin).json()["user"]["role"] == "ADMIN"


def test_an_admin_with_a_colleague_may_step_down(api: Api) -> None:
    org = api.organization()
    api.member(org.invite_code, org.admin, "ADMIN")
    demote = api.call(
        "POST", "/update_role", org.admin, json={"user_id": org.admin.id, "role": "DEVELOPER"}
    )
    assert demote.status_code == 200
    assert demote.json()["user"]["role"] == "DEVELOPER"


@unit_only
def test_an_admin_demoted_while_founding_an_organization_founds_none(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The route checked the role before the demotion committed; the creation checks it again."""
    org = api.organization()
    founder = api.member(org.invite_code, org.admin, "ADMIN")
    checked = organizations._check_organization_quota

    def demoted_meanwhile(session: Session, creator: User, limit: int) -> None:
        body = {"user_id": founder.id, "role": "VIEWER"}
        assert api.call("POST", "/update_role", org.admin, json=body).status_code == 200
        checked(session, creator, limit)

    monkeypatch.setattr(organizations, "_check_organization_quota", demoted_meanwhile)
    answer = api.call("POST", "/create_organization", founder, json={"name": "usurped"})
    assert answer.status_code == 403
    me = api.call("GET", "/me", founder).json()["user"]
    assert (me["role"], me["organization"]["namespace"]) == ("VIEWER", org.namespace)
    fake = api.backend.fake
    assert fake is not None
    assert set(fake.namespaces) == {org.namespace}


@unit_only
def test_a_refused_namespace_leaves_no_organization(api: Api) -> None:
    fake = api.backend.fake
    assert fake is not None
    founder = api.user()
    fake.reachable = False
    answer = api.call("POST", "/create_organization", founder, json={"name": "doomed"})
    assert answer.status_code == 503
    fake.reachable = True
    assert api.call("GET", "/me", founder).json()["user"]["organization"] is None
    assert fake.namespaces == {}
    again = api.call("POST", "/create_organization", founder, json={"name": "doomed"})
    assert again.status_code == 201


@unit_only
def test_a_leftover_namespace_is_not_adopted(api: Api) -> None:
    fake = api.backend.fake
    assert fake is not None
    founder = api.user()
    leftover = f"{api.backend.settings.namespace_prefix}1"
    fake.namespaces[leftover] = FakeNamespace({}, None, "someone-else")
    answer = api.call("POST", "/create_organization", founder, json={"name": "first"})
    assert answer.status_code == 409
    assert leftover in answer.json()["message"]
    assert "SIMPLISMART_NAMESPACE_PREFIX" in answer.json()["message"]
    assert api.call("GET", "/me", founder).json()["user"]["organization"] is None


@unit_only
def test_a_namespace_whose_creation_was_answered_as_a_timeout_is_deleted(api: Api) -> None:
    """On SQLite the rolled-back id is given out again, and with it the namespace's name: left
    behind, that namespace refused every organization's creation after it."""
    fake = api.backend.fake
    assert fake is not None
    founder = api.user()
    fake.lose_answers = True
    lost = api.call("POST", "/create_organization", founder, json={"name": "first"})
    assert lost.status_code == 503
    fake.lose_answers = False
    assert fake.namespaces == {}
    again = api.call("POST", "/create_organization", founder, json={"name": "first"})
    assert again.status_code == 201


@unit_only
def test_a_namespace_still_being_deleted_asks_for_a_retry(api: Api) -> None:
    fake = api.backend.fake
    assert fake is not None
    founder = api.user()
    fake.finalize_namespaces = False
    fake.lose_answers = True
    assert api.call("POST", "/create_organization", founder, json={"name": "a"}).status_code == 503
    fake.lose_answers = False
    (terminating,) = fake.namespaces
    assert fake.namespaces[terminating].terminating
    wait = api.call("POST", "/create_organization", founder, json={"name": "a"})
    assert wait.status_code == 503
    assert "still being deleted" in wait.json()["message"]
    assert wait.headers["Retry-After"] == "5"
    fake.finalize(terminating)
    assert api.call("POST", "/create_organization", founder, json={"name": "a"}).status_code == 201


class _AnswerLost(KubernetesApi):
    """The real API server, but every namespace creation is answered as a timeout: after the
    namespace is made if ``made``, else before the request is sent."""

    def __init__(self, kubeconfig: str, made: bool) -> None:
        super().__init__(kubeconfig, 10)
        self.made = made

    def create_namespace(self, name: str, organization_id: int, claim: str) -> None:
        if self.made:
            super().create_namespace(name, organization_id, claim)
        raise UnavailableError("the Kubernetes API is unreachable; try again later")


def _create_through(api: Api, kube: KubernetesApi, founder: Caller) -> int:
    with TestClient(create_app(api.backend.settings, kube)) as lossy:
        answer = lossy.post("/create_organization", json={"name": "first"}, headers=founder.headers)
    status: int = answer.status_code
    return status


@integration_only
def test_the_real_namespace_of_a_timed_out_creation_is_deleted(api: Api, kubeconfig: str) -> None:
    namespace = f"{api.backend.settings.namespace_prefix}1"  # the fresh database's first id
    founder = api.user()
    assert _create_through(api, _AnswerLost(kubeconfig, made=True), founder) == 503
    left = api.backend.kube.read_namespace(namespace)
    assert left is None or left.terminating
    again = api.call("POST", "/create_organization", founder, json={"name": "first"})
    assert again.status_code == 201


@integration_only
def test_a_namespace_the_creation_did_not_make_is_never_deleted(api: Api, kubeconfig: str) -> None:
    namespace = f"{api.backend.settings.namespace_prefix}1"  # the fresh database's first id
    core = api_client(kubeconfig)
    client.CoreV1Api(core).create_namespace(
        client.V1Namespace(metadata=client.V1ObjectMeta(name=namespace))
    )
    try:
        assert _create_through(api, _AnswerLost(kubeconfig, made=False), api.user()) == 503
        kept = api.backend.kube.read_namespace(namespace)
        assert kept is not None
        assert not kept.terminating
    finally:
        delete_namespace(core, namespace)
