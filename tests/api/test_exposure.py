"""Finding 8: what an outsider learns from probes, and who becomes the first ADMIN."""

from tests.api.conftest import ApiFactory
from tests.api.support import PASSWORD, Api, unit_only

BOOTSTRAP = "b" * 40


def test_metrics_are_not_on_the_public_port(api: Api) -> None:
    assert api.call("GET", "/metrics").status_code == 404


@unit_only
def test_readiness_names_the_failing_dependency_but_not_why(api: Api) -> None:
    assert api.backend.fake is not None
    api.backend.fake.fail_ping_with = "Kubernetes is not configured: /etc/secret/kubeconfig"
    answer = api.call("GET", "/readyz")
    assert answer.status_code == 503
    assert answer.json()["checks"]["kubernetes"] == "unavailable"
    assert "/etc/secret" not in answer.text
    assert "Error" not in answer.text  # no exception class names


def _register(api: Api, username: str, token: str | None = None) -> str:
    body = {"username": username, "password": PASSWORD}
    if token is not None:
        body["bootstrap_token"] = token
    answer = api.call("POST", "/register", json=body)
    assert answer.status_code == 201, answer.text
    role: str = answer.json()["user"]["role"]
    return role


def test_outside_dev_mode_the_first_admin_needs_the_bootstrap_token(
    api_with: ApiFactory,
) -> None:
    api = api_with(dev_mode=False, bootstrap_token=BOOTSTRAP)
    assert _register(api, "early-bird") == "VIEWER"
    assert _register(api, "guesser", "b" * 39) == "VIEWER"
    assert _register(api, "operator", BOOTSTRAP) == "ADMIN"
    assert _register(api, "late", BOOTSTRAP) == "VIEWER"  # only the first ADMIN is bootstrapped


def test_without_a_bootstrap_token_nobody_becomes_admin_outside_dev_mode(
    api_with: ApiFactory,
) -> None:
    api = api_with(dev_mode=False, bootstrap_token=None)
    assert _register(api, "first") == "VIEWER"
    assert _register(api, "second", "") == "VIEWER"
