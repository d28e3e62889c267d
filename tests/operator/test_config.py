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
