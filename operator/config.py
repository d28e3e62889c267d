"""Operator configuration from SIMPLISMART_* environment variables (table in the README)."""

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

T = TypeVar("T")


class ConfigError(ValueError):
    """An environment variable has a value the operator cannot use; the message names it."""


def _env(name: str, default: T, parse: Callable[[str], T], check: Callable[[T], bool]) -> T:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = parse(raw)
    except ValueError as error:
        raise ConfigError(f"{name}={raw!r}: {error}") from None
    if not check(value):
        raise ConfigError(f"{name}={raw!r}: out of range")
    return value


def _flag(raw: str) -> bool:
    if raw.lower() in ("1", "true", "yes", "on"):
        return True
    if raw.lower() in ("0", "false", "no", "off"):
        return False
    raise ValueError("expected true or false")


def _positive(value: float) -> bool:
    return value > 0


@dataclass(frozen=True, slots=True)
class OperatorConfig:
    redis_url: str = "redis://127.0.0.1:6379/0"
    poll_interval: float = 0.1
    """Seconds between scans of the deadline set: the bound on how late a run can end. Redis
    sends `expired` only when it gets round to deleting a key, which its sampling expiry
    cycle may do a second or more after the TTL, so the poller is what keeps ends prompt; a
    ZRANGEBYSCORE of the due head of a sorted set is cheap enough to run ten times a second."""
    resync_interval: float = 10.0
    """Seconds between safety-net passes over every cluster."""
    position_refresh: float = 30.0
    """Minimum seconds between rewrites of a long queue's positions (short ones stay exact)."""
    solver_time_limit: float = 0.05
    """Budget of the genetic and optimal strategies per pass: an anytime answer, recorded with
    its gap, beats a late one while capacity sits idle. Queues of a hundred converge well
    within it (docs/benchmarks/scheduler.md has the long-budget figures)."""
    metrics_port: int = 9090
    health_port: int = 8080
    namespaces: tuple[str, ...] = field(default_factory=tuple)
    """Watch only these namespaces; empty means the whole cluster."""
    standalone: bool = False
    peering_name: str = "simplismart"
    priority: int = 0
    seed: int | None = None
    """Seed for run durations and the genetic strategy: reproducible demos and tests."""

    @classmethod
    def from_env(cls) -> "OperatorConfig":
        default = cls()
        namespaces = os.environ.get("SIMPLISMART_NAMESPACES", "")
        seed = os.environ.get("SIMPLISMART_SEED")
        return cls(
            redis_url=os.environ.get("SIMPLISMART_REDIS_URL") or default.redis_url,
            poll_interval=_env(
                "SIMPLISMART_POLL_INTERVAL_SECONDS", default.poll_interval, float, _positive
            ),
            resync_interval=_env(
                "SIMPLISMART_RESYNC_SECONDS", default.resync_interval, float, _positive
            ),
            position_refresh=_env(
                "SIMPLISMART_POSITION_REFRESH_SECONDS",
                default.position_refresh,
                float,
                lambda v: v >= 0,
            ),
            solver_time_limit=_env(
                "SIMPLISMART_SOLVER_TIME_LIMIT_SECONDS", default.solver_time_limit, float, _positive
            ),
            metrics_port=_env(
                "SIMPLISMART_METRICS_PORT", default.metrics_port, int, lambda v: 0 <= v < 65536
            ),
            health_port=_env(
                "SIMPLISMART_HEALTH_PORT", default.health_port, int, lambda v: 0 <= v < 65536
            ),
            namespaces=tuple(n.strip() for n in namespaces.split(",") if n.strip()),
            standalone=_env("SIMPLISMART_STANDALONE", default.standalone, _flag, lambda _: True),
            peering_name=os.environ.get("SIMPLISMART_PEERING") or default.peering_name,
            priority=_env("SIMPLISMART_PEERING_PRIORITY", default.priority, int, lambda _: True),
            seed=_env("SIMPLISMART_SEED", None, int, lambda _: True) if seed else None,
        )
