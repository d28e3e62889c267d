"""Typed views of the Cluster and Deployment spec and status.

Field names are the CRD's camelCase on the wire and snake_case in Python. Defaults match the
CRD's, so an object read back from the API server and one built here agree.
"""

from collections.abc import Iterable
from datetime import datetime
from enum import IntEnum, StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic.alias_generators import to_camel

#: The CRD's bound on every resource amount; large enough for any real cluster, small enough
#: that sums of thousands of requests stay exact in a float.
MAX_AMOUNT = 1_000_000_000


class _Model(BaseModel):
    """Fields it does not know are ignored, as Kubernetes clients do: an object read from the
    API server may carry those a newer version's CRD added (their defaults included), while an
    upgrade rolls or after a rollback, and refusing them would fail every pass and every list
    over it."""

    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="ignore", frozen=True
    )

    def to_wire(self) -> dict[str, Any]:
        """The JSON the API server stores: camelCase keys, unset optional fields left out."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


class Resources(_Model):
    """Amounts of each resource, in whole units."""

    cpu: int = Field(ge=0, le=MAX_AMOUNT)
    ram: int = Field(ge=0, le=MAX_AMOUNT)
    gpu: int = Field(ge=0, le=MAX_AMOUNT)

    def as_dict(self) -> dict[str, int]:
        return {"cpu": self.cpu, "ram": self.ram, "gpu": self.gpu}

    def fits_in(self, other: "Resources") -> bool:
        return self.cpu <= other.cpu and self.ram <= other.ram and self.gpu <= other.gpu

    @classmethod
    def total(cls, items: "Iterable[Resources]") -> "Resources":
        cpu = ram = gpu = 0
        for item in items:
            cpu, ram, gpu = cpu + item.cpu, ram + item.ram, gpu + item.gpu
        return cls.model_construct(cpu=cpu, ram=ram, gpu=gpu)

    def minus(self, other: "Resources") -> "Resources":
        """What is left of this after ``other``, never below zero in any resource."""
        return Resources(
            cpu=max(self.cpu - other.cpu, 0),
            ram=max(self.ram - other.ram, 0),
            gpu=max(self.gpu - other.gpu, 0),
        )

    def exceeding(self, other: "Resources") -> list[str]:
        """Names of the resources where this asks more than ``other`` has."""
        return [name for name, amount in self.as_dict().items() if amount > other.as_dict()[name]]

    def excess(self, other: "Resources") -> str:
        """Where this asks more than ``other`` has, in words: ``cpu 5 > 2, gpu 8 > 2``."""
        mine, theirs = self.as_dict(), other.as_dict()
        return ", ".join(f"{name} {mine[name]} > {theirs[name]}" for name in self.exceeding(other))


class SchedulingStrategy(StrEnum):
    AUTO = "auto"
    COMBINATIONS = "combinations"
    GENETIC = "genetic"
    OPTIMAL = "optimal"


class RunDuration(_Model):
    min_seconds: int = Field(default=20, ge=1, le=86400)
    max_seconds: int = Field(default=30, ge=1, le=86400)

    @model_validator(mode="after")
    def _ordered(self) -> "RunDuration":
        if self.min_seconds > self.max_seconds:
            raise ValueError(
                "runDuration.minSeconds must not exceed runDuration.maxSeconds (a bound left out "
                "takes its default: minSeconds 20, maxSeconds 30)"
            )
        return self


class PreemptionPolicy(StrEnum):
    """Whether a HIGH deployment that cannot start may evict running LOW ones."""

    NEVER = "Never"
    LOWER_PRIORITY = "LowerPriority"


#: A deployment preempted this many times is not preempted again, unless the cluster says.
DEFAULT_MAX_PREEMPTIONS = 3
#: The CRD's bound on maxPreemptions.
MAX_MAX_PREEMPTIONS = 1000


class SchedulingSpec(_Model):
    strategy: SchedulingStrategy = SchedulingStrategy.AUTO
    aging_seconds: int = Field(default=600, ge=0)
    run_duration: RunDuration = Field(default_factory=RunDuration)
    reservations: int = Field(default=1, ge=0, le=100)
    preemption: PreemptionPolicy = PreemptionPolicy.NEVER
    max_preemptions: int = Field(default=DEFAULT_MAX_PREEMPTIONS, ge=0, le=MAX_MAX_PREEMPTIONS)


#: Seconds a finished deployment is kept when its cluster says nothing else: an hour.
DEFAULT_TTL_AFTER_FINISHED = 3600
#: The CRD's bound on a retention period: a year.
MAX_TTL_SECONDS = 31_536_000


class HistorySpec(_Model):
    """Retention of finished deployments; None keeps them for ever."""

    ttl_seconds_after_finished: int | None = Field(default=None, ge=0, le=MAX_TTL_SECONDS)


class ClusterSpec(_Model):
    resources: Resources
    scheduling: SchedulingSpec = Field(default_factory=SchedulingSpec)
    history: HistorySpec = Field(
        default_factory=lambda: HistorySpec(ttl_seconds_after_finished=DEFAULT_TTL_AFTER_FINISHED)
    )


class Condition(_Model):
    type: str
    status: Literal["True", "False", "Unknown"]
    reason: str | None = None
    message: str | None = None
    last_transition_time: datetime | None = None
    observed_generation: int | None = None


class HistoryStatus(_Model):
    """Rolling figures over the runs that finished recently."""

    window_seconds: int
    runs_finished: int
    mean_wait_seconds: float | None = None
    p90_wait_seconds: float | None = None
    mean_run_seconds: float | None = None
    p90_run_seconds: float | None = None


class ClusterStatus(_Model):
    observed_generation: int | None = None
    capacity: Resources | None = None
    allocated: Resources | None = None
    available: Resources | None = None
    queued: int | None = None
    running: int | None = None
    pending: int | None = None
    last_decision: dict[str, Any] | None = None
    last_preemption: dict[str, Any] | None = None
    history: HistoryStatus | None = None
    conditions: list[Condition] = Field(default_factory=list)


class Priority(IntEnum):
    LOW = 0
    HIGH = 1


class DeploymentSpec(_Model):
    cluster: str = Field(min_length=1, max_length=63, pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
    resources: Resources
    priority: Priority = Priority.LOW
    image: str = Field(min_length=1, max_length=2048)
    duration_seconds: int | None = Field(default=None, ge=1, le=86400)
    ttl_seconds_after_finished: int | None = Field(default=None, ge=0, le=MAX_TTL_SECONDS)


class Phase(StrEnum):
    PENDING = "Pending"
    QUEUED = "Queued"
    RUNNING = "Running"
    SUCCEEDED = "Succeeded"


class DeploymentStatus(_Model):
    observed_generation: int | None = None
    phase: Phase | None = None
    reason: str | None = None
    message: str | None = None
    queued_at: datetime | None = None
    queued_on: str | None = None
    started_at: datetime | None = None
    expires_at: datetime | None = None
    cluster_uid: str | None = None
    finished_at: datetime | None = None
    retained_until: datetime | None = None
    queue_position: int | None = None
    estimated_start_at: datetime | None = None
    allocated: Resources | None = None
    preemptions: int | None = None
    conditions: list[Condition] = Field(default_factory=list)
