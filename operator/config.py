"""Operator configuration from SIMPLISMART_* environment variables (table in the README)."""

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from simplismart.scheduler import MAX_TIME_LIMIT

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
    resync_interval: float = 10.0
    """Seconds between safety-net passes over every cluster."""
    position_refresh: float = 30.0
    """Minimum seconds between rewrites of a long queue's positions (short ones stay exact)."""
    refresh_interval: float = 1.0
    """Minimum seconds between two queue refreshes of one deployment (position, reason, ETA)
    and between two status reports of one Cluster. A queue shifts on every admission: without
    it, every waiting deployment and the Cluster were rewritten on nearly every pass, the
    bulk of the API writes at a steady load."""
    solver_time_limit: float = 0.05
    """Budget of the genetic and optimal strategies per pass: an anytime answer, recorded with
    its gap, beats a late one while capacity sits idle. Queues of a hundred converge well
    within it (docs/benchmarks/scheduler.md has the long-budget figures)."""
    metrics_port: int = 9090
    health_port: int = 8080
    namespaces: tuple[str, ...] = field(default_factory=tuple)
    """Watch only these namespaces; empty means the whole cluster."""
    standalone: bool = False
    """Skip leader election: for a single replica that is sure to be alone (most tests; `make up`
    keeps it, since two stacks may share one API server)."""
    lease_name: str = "simplismart-operator"
    lease_namespace: str = "default"
    """Where the leadership Lease lives: the operator's own namespace (POD_NAMESPACE)."""
    lease_seconds: float = 15.0
    """How long a silent leader's Lease stays valid: the bound on a failover (client-go's)."""
    seed: int | None = None
    """Seed for run durations and the genetic strategy: reproducible demos and tests."""

    @classmethod
    def from_env(cls) -> "OperatorConfig":
        default = cls()
        namespaces = os.environ.get("SIMPLISMART_NAMESPACES", "")
        seed = os.environ.get("SIMPLISMART_SEED")
        return cls(
            redis_url=os.environ.get("SIMPLISMART_REDIS_URL") or default.redis_url,
            resync_interval=_env(
                "SIMPLISMART_RESYNC_SECONDS", default.resync_interval, float, _positive
            ),
            position_refresh=_env(
                "SIMPLISMART_POSITION_REFRESH_SECONDS",
                default.position_refresh,
                float,
                lambda v: v >= 0,
            ),
            refresh_interval=_env(
                "SIMPLISMART_REFRESH_INTERVAL_SECONDS",
                default.refresh_interval,
                float,
                lambda v: v >= 0,
            ),
            solver_time_limit=_env(
                "SIMPLISMART_SOLVER_TIME_LIMIT_SECONDS",
                default.solver_time_limit,
                float,
                lambda v: 0 < v <= MAX_TIME_LIMIT,  # what `solve` takes
            ),
            metrics_port=_env(
                "SIMPLISMART_METRICS_PORT", default.metrics_port, int, lambda v: 0 <= v < 65536
            ),
            health_port=_env(
                "SIMPLISMART_HEALTH_PORT", default.health_port, int, lambda v: 0 <= v < 65536
            ),
            namespaces=tuple(n.strip() for n in namespaces.split(",") if n.strip()),
            standalone=_env("SIMPLISMART_STANDALONE", default.standalone, _flag, lambda _: True),
            lease_name=os.environ.get("SIMPLISMART_LEASE_NAME") or default.lease_name,
            lease_seconds=_env(
                "SIMPLISMART_LEASE_SECONDS", default.lease_seconds, float, lambda v: v >= 3
            ),
            lease_namespace=os.environ.get("SIMPLISMART_LEASE_NAMESPACE")
            or os.environ.get("POD_NAMESPACE")
            or default.lease_namespace,
            seed=_env("SIMPLISMART_SEED", None, int, lambda _: True) if seed else None,
        )
