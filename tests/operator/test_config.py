"""The operator's settings: what the parts it drives would refuse is refused at start."""

import pytest

from simplismart.operator.config import ConfigError, OperatorConfig

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("seconds", ["0", "-1", "86401", "soon"])
def test_a_solver_time_limit_the_solver_would_refuse_stops_the_start(
    monkeypatch: pytest.MonkeyPatch, seconds: str
) -> None:
    monkeypatch.setenv("SIMPLISMART_SOLVER_TIME_LIMIT_SECONDS", seconds)
    with pytest.raises(ConfigError, match="SIMPLISMART_SOLVER_TIME_LIMIT_SECONDS"):
        OperatorConfig.from_env()


def test_a_day_is_the_longest_solver_time_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SIMPLISMART_SOLVER_TIME_LIMIT_SECONDS", "86400")
    assert OperatorConfig.from_env().solver_time_limit == 86_400.0


def test_each_setting_comes_from_its_variable_alone() -> None:
    config = OperatorConfig.from_env(
        {"seed": "9", "SIMPLISMART_NAMESPACES": "team-a, team-b,", "SIMPLISMART_LEASE_NAME": ""}
    )
    assert config.seed is None  # a variable named like the field is not the setting
    assert config.namespaces == ("team-a", "team-b")
    assert config.lease_name == "simplismart-operator"  # set empty counts as unset


def test_the_lease_lives_in_the_pods_namespace_unless_told() -> None:
    assert OperatorConfig.from_env({"POD_NAMESPACE": "ops"}).lease_namespace == "ops"
    both = {"POD_NAMESPACE": "ops", "SIMPLISMART_LEASE_NAMESPACE": "leases"}
    assert OperatorConfig.from_env(both).lease_namespace == "leases"


def test_every_bad_value_is_named_with_what_it_must_be() -> None:
    with pytest.raises(ConfigError) as refused:
        OperatorConfig.from_env({"SIMPLISMART_RESYNC_SECONDS": "inf", "SIMPLISMART_SEED": "x"})
    assert "SIMPLISMART_RESYNC_SECONDS must be a finite number, got 'inf'" in str(refused.value)
    assert "SIMPLISMART_SEED must be a valid integer" in str(refused.value)
