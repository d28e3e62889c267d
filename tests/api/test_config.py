"""Settings: defaults, the JWT secret's sources and strength, dev mode, malformed values."""

from pathlib import Path

import pytest

from simplismart.api.core.config import ConfigError, Settings

pytestmark = pytest.mark.unit

STRONG = "s" * 32


def test_defaults() -> None:
    settings = Settings.from_env({"SIMPLISMART_JWT_SECRET": STRONG})
    assert settings.database_url == "sqlite:///.state/simplismart.db"
    assert (settings.api_host, settings.api_port) == ("0.0.0.0", 5002)
    assert settings.jwt_expires_seconds == 3600
    assert settings.redis_url == "redis://127.0.0.1:6379/0"
    assert settings.namespace_prefix == "sm-org-"
    assert settings.dev_mode is False


def test_the_state_dir_holds_the_default_database() -> None:
    env = {"SIMPLISMART_JWT_SECRET": STRONG, "SIMPLISMART_STATE_DIR": "/var/lib/sm"}
    assert Settings.from_env(env).database_url == "sqlite:////var/lib/sm/simplismart.db"


def test_no_secret_refuses_to_start() -> None:
    with pytest.raises(ConfigError, match="SIMPLISMART_JWT_SECRET"):
        Settings.from_env({})


def test_a_short_secret_refuses_to_start_even_in_dev_mode() -> None:
    for env in (
        {"SIMPLISMART_JWT_SECRET": "s" * 31},
        {"SIMPLISMART_JWT_SECRET": "short", "SIMPLISMART_DEV_MODE": "1"},
    ):
        with pytest.raises(ConfigError, match="too short"):
            Settings.from_env(env)


def test_the_secret_may_come_from_a_file(tmp_path: Path) -> None:
    secret = tmp_path / "jwt"
    secret.write_text(STRONG + "\n")
    settings = Settings.from_env({"SIMPLISMART_JWT_SECRET_FILE": str(secret)})
    assert settings.jwt_secret == STRONG


def test_an_unreadable_secret_file_is_named() -> None:
    with pytest.raises(ConfigError, match="JWT_SECRET_FILE"):
        Settings.from_env({"SIMPLISMART_JWT_SECRET_FILE": "/nonexistent/jwt"})


def test_dev_mode_generates_a_secret_and_says_so(caplog: pytest.LogCaptureFixture) -> None:
    first = Settings.from_env({"SIMPLISMART_DEV_MODE": "1"})
    second = Settings.from_env({"SIMPLISMART_DEV_MODE": "true"})
    assert len(first.jwt_secret) >= 32
    assert first.jwt_secret != second.jwt_secret
    assert "generated a random JWT signing key" in caplog.text


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("API_PORT", "http"),
        ("API_PORT", "70000"),
        ("JWT_EXPIRES_SECONDS", "0"),
        ("LOGIN_RATE_LIMIT", "-1"),
        ("DEV_MODE", "maybe"),
        ("NAMESPACE_PREFIX", "Bad_Prefix"),
    ],
)
def test_malformed_values_name_the_variable(name: str, value: str) -> None:
    with pytest.raises(ConfigError, match=f"SIMPLISMART_{name}"):
        Settings.from_env({"SIMPLISMART_JWT_SECRET": STRONG, f"SIMPLISMART_{name}": value})


def test_kubeconfig_is_kubernetes_own_variable() -> None:
    env = {"SIMPLISMART_JWT_SECRET": STRONG, "KUBECONFIG": "/etc/kube.yaml"}
    assert Settings.from_env(env).kubeconfig == "/etc/kube.yaml"


def test_trusted_proxies_are_parsed_and_a_bad_one_is_named() -> None:
    settings = Settings.from_env(
        {"SIMPLISMART_DEV_MODE": "1", "SIMPLISMART_TRUSTED_PROXIES": "10.0.0.0/8, fd00::1"}
    )
    assert [str(network) for network in settings.trusted_proxies] == ["10.0.0.0/8", "fd00::1/128"]
    assert Settings.from_env({"SIMPLISMART_DEV_MODE": "1"}).trusted_proxies == ()
    with pytest.raises(ConfigError, match=r"SIMPLISMART_TRUSTED_PROXIES.*'10\.0\.0\.0/99'"):
        Settings.from_env(
            {"SIMPLISMART_DEV_MODE": "1", "SIMPLISMART_TRUSTED_PROXIES": "10.0.0.0/99"}
        )


def test_the_bootstrap_token_comes_from_a_file_too(tmp_path: Path) -> None:
    token = tmp_path / "bootstrap"
    token.write_text("t" * 40 + "\n")
    settings = Settings.from_env(
        {"SIMPLISMART_DEV_MODE": "1", "SIMPLISMART_BOOTSTRAP_TOKEN_FILE": str(token)}
    )
    assert settings.bootstrap_token == "t" * 40
    with pytest.raises(ConfigError, match="SIMPLISMART_BOOTSTRAP_TOKEN_FILE"):
        Settings.from_env(
            {"SIMPLISMART_DEV_MODE": "1", "SIMPLISMART_BOOTSTRAP_TOKEN_FILE": "/nonexistent"}
        )


def test_a_quota_below_one_is_refused_naming_it() -> None:
    with pytest.raises(ConfigError, match="SIMPLISMART_QUOTA_DEPLOYMENTS must be greater than or"):
        Settings.from_env({"SIMPLISMART_DEV_MODE": "1", "SIMPLISMART_QUOTA_DEPLOYMENTS": "0"})


def test_each_setting_comes_from_its_variable_alone() -> None:
    settings = Settings.from_env(
        {"SIMPLISMART_JWT_SECRET": STRONG, "dev_mode": "1", "api_port": "1"}
    )
    assert (settings.dev_mode, settings.api_port) == (False, 5002)


def test_a_secret_refused_is_never_echoed() -> None:
    with pytest.raises(ConfigError) as refused:
        Settings.from_env({"SIMPLISMART_JWT_SECRET": "hunter2-but-short"})
    assert "hunter2" not in str(refused.value)
