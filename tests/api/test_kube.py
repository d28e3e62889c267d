"""Kubernetes access: the API server's refusals and outages become the API's own errors."""

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes.client.exceptions import ApiException

from simplismart.api.errors import (
    ApiError,
    ConflictError,
    NotFoundError,
    UnavailableError,
    UnprocessableError,
)
from simplismart.api.kube import KubernetesApi, _translated
from simplismart.api.schemas.deployment import REQUEST_FIELDS
from simplismart.crds import DEPLOYMENT, ResourceKind


def _refusal(status: int, body: dict[str, Any]) -> ApiException:
    error = ApiException(status=status, reason="refused")
    error.body = json.dumps({"kind": "Status", **body})
    return error


def _translate(error: Exception) -> ApiError:
    with pytest.raises(ApiError) as raised, _translated("deployment 'd1'", REQUEST_FIELDS):
        raise error
    return raised.value


@pytest.mark.unit
def test_refusals_keep_their_status_and_name_the_request_fields() -> None:
    invalid = _translate(
        _refusal(
            422,
            {
                "message": 'Deployment.simplismart.io "d1" is invalid',
                "details": {
                    "causes": [
                        {"field": "spec.resources.cpu", "message": "should be >= 0"},
                        {"field": "spec.image", "message": "Required value"},
                        {"field": "spec.somethingNew", "message": "odd"},
                    ]
                },
            },
        )
    )
    assert isinstance(invalid, UnprocessableError)
    assert [(e.field, e.message) for e in invalid.errors] == [
        ("cpu", "should be >= 0"),
        ("docker_path", "Required value"),
        ("spec.somethingNew", "odd"),
    ]
    assert isinstance(_translate(_refusal(404, {"reason": "NotFound"})), NotFoundError)
    exists = _translate(_refusal(409, {"reason": "AlreadyExists"}))
    assert isinstance(exists, ConflictError)
    assert exists.message == "deployment 'd1' already exists"


@pytest.mark.unit
@pytest.mark.parametrize("status", [401, 403, 429, 500, 503])
def test_server_side_failures_are_503(status: int) -> None:
    assert isinstance(_translate(_refusal(status, {})), UnavailableError)


@pytest.mark.unit
def test_a_missing_kubeconfig_is_503_not_a_crash(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    kube = KubernetesApi(str(tmp_path / "absent"), 1)
    with pytest.raises(UnavailableError, match="not configured") as refused:
        kube.ping()
    # What the loader said (it may name files and hosts) is for the log, not for the caller.
    assert "No configuration found" in caplog.text
    assert "configuration found" not in refused.value.message
    # Logged once while it stays so, not at every request (a probe every few seconds).
    for _ in range(3):
        with pytest.raises(UnavailableError):
            kube.ping()
    assert caplog.text.count("No configuration found") == 1


@pytest.mark.unit
def test_an_unreachable_api_server_is_503(tmp_path: Path) -> None:
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "c", "cluster": {"server": "https://127.0.0.1:1"}}],
        "users": [{"name": "u", "user": {"token": "t"}}],
        "contexts": [{"name": "x", "context": {"cluster": "c", "user": "u"}}],
        "current-context": "x",
    }
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump(config))
    with pytest.raises(UnavailableError, match="unreachable"):
        KubernetesApi(str(path), 1).list_objects(DEPLOYMENT, "anywhere")


@pytest.mark.integration
def test_the_real_api_servers_refusal_names_the_field(kubeconfig: str) -> None:
    kube = KubernetesApi(kubeconfig, 10)
    spec = {"cluster": "c1", "resources": {"cpu": -1, "ram": 1, "gpu": 1}, "image": "x"}
    with pytest.raises(UnprocessableError) as refused:
        kube.create_object(DEPLOYMENT, "default", "refused", spec, REQUEST_FIELDS)
    assert "cpu" in [error.field for error in refused.value.errors]


@pytest.mark.integration
def test_a_404_says_whether_the_object_its_namespace_or_its_type_is_missing(
    kubeconfig: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A create answered "deployment 'd1' not found" when the organization's namespace had been
    deleted, or the CRDs were not installed: the caller looked for the wrong thing."""
    kube = KubernetesApi(kubeconfig, 10)
    spec = {"cluster": "c1", "resources": {"cpu": 1, "ram": 1, "gpu": 0}, "image": "x"}
    with pytest.raises(NotFoundError, match="deployment 'absent' not found"):
        kube.get_object(DEPLOYMENT, "default", "absent")
    with pytest.raises(UnavailableError, match="namespace 'sm-org-gone' is missing") as gone:
        kube.create_object(DEPLOYMENT, "sm-org-gone", "d1", spec, REQUEST_FIELDS)
    assert gone.value.status_code == 503
    # The server answers a type it does not serve (no CRD) with a bare "404 page not found".
    unserved = ResourceKind("Unserved", "unserveds")
    with pytest.raises(UnavailableError, match="are its CRDs installed"):
        kube.create_object(unserved, "default", "d1", spec, REQUEST_FIELDS)
    with pytest.raises(UnavailableError, match="are its CRDs installed"):
        kube.get_object(unserved, "default", "d1")
    assert "does not serve unserved 'd1'" in caplog.text
