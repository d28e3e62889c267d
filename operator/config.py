"""Operator configuration from SIMPLISMART_* environment variables (table in the README).

Each field names its variable; pydantic parses and bounds them, so a value the operator cannot
use stops it at start with a message naming the variable, not on the first pass that needs it.
"""

import os
from collections.abc import Mapping

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, ValidationError, field_validator

from simplismart.scheduler import MAX_TIME_LIMIT


class ConfigError(ValueError):
    """An environment variable has a value the operator cannot use; the message names it."""


class OperatorConfig(BaseModel):
    # Fields by name in code and tests, by their variable's name from the environment.
    model_config = ConfigDict(
        frozen=True, populate_by_name=True, allow_inf_nan=False, use_attribute_docstrings=True
    )

    redis_url: str = Field("redis://127.0.0.1:6379/0", validation_alias="SIMPLISMART_REDIS_URL")
    resync_interval: float = Field(10.0, gt=0, validation_alias="SIMPLISMART_RESYNC_SECONDS")
    """Seconds between safety-net passes over every cluster."""
    position_refresh: float = Field(
        30.0, ge=0, validation_alias="SIMPLISMART_POSITION_REFRESH_SECONDS"
    )
    """Minimum seconds between rewrites of a long queue's positions (short ones stay exact)."""
    refresh_interval: float = Field(
        1.0, ge=0, validation_alias="SIMPLISMART_REFRESH_INTERVAL_SECONDS"
    )
    """Minimum seconds between two queue refreshes of one deployment (position, reason, ETA)
    and between two status reports of one Cluster. A queue shifts on every admission: without
    it, every waiting deployment and the Cluster were rewritten on nearly every pass, the
    bulk of the API writes at a steady load."""
    solver_time_limit: float = Field(
        0.05, gt=0, le=MAX_TIME_LIMIT, validation_alias="SIMPLISMART_SOLVER_TIME_LIMIT_SECONDS"
    )
    """Budget of the genetic and optimal strategies per pass (at most what `solve` takes): an
    anytime answer, recorded with its gap, beats a late one while capacity sits idle. Queues of
    a hundred converge well within it (docs/benchmarks/scheduler.md has the long-budget
    figures)."""
    metrics_port: int = Field(9090, ge=0, lt=65536, validation_alias="SIMPLISMART_METRICS_PORT")
    health_port: int = Field(8080, ge=0, lt=65536, validation_alias="SIMPLISMART_HEALTH_PORT")
    namespaces: tuple[str, ...] = Field((), validation_alias="SIMPLISMART_NAMESPACES")
    """Watch only these namespaces (comma-separated); empty means the whole cluster."""
    standalone: bool = Field(False, validation_alias="SIMPLISMART_STANDALONE")
    """Skip leader election: for a single replica that is sure to be alone (most tests; `make up`
    keeps it, since two stacks may share one API server)."""
    lease_name: str = Field("simplismart-operator", validation_alias="SIMPLISMART_LEASE_NAME")
    lease_namespace: str = Field(
        "default", validation_alias=AliasChoices("SIMPLISMART_LEASE_NAMESPACE", "POD_NAMESPACE")
    )
    """Where the leadership Lease lives: the operator's own namespace (POD_NAMESPACE)."""
    lease_seconds: float = Field(15.0, ge=3, validation_alias="SIMPLISMART_LEASE_SECONDS")
    """How long a silent leader's Lease stays valid: the bound on a failover (client-go's)."""
    seed: int | None = Field(None, validation_alias="SIMPLISMART_SEED")
    """Seed for run durations and the genetic strategy: reproducible demos and tests."""

    @field_validator("namespaces", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(name.strip() for name in value.split(",") if name.strip())
        return value

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> "OperatorConfig":
        """The configuration the environment gives; a variable set empty counts as unset."""
        environ = os.environ if environ is None else environ
        given = {name: value for name, value in environ.items() if value}
        try:
            # By variable only: a lowercase variable named like a field is not a setting.
            return cls.model_validate(given, by_alias=True, by_name=False)
        except ValidationError as error:
            raise ConfigError(
                "; ".join(
                    f"{e['loc'][0]} {e['msg'].replace('Input should be', 'must be')}, "
                    f"got {e['input']!r}"
                    for e in error.errors()
                )
            ) from None
