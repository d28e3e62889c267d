"""Clusters: the original's ``total_*`` fields in, capacity, allocation and queue out."""

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from simplismart.api.schemas.common import Amount, Name, Reply, Request
from simplismart.api.schemas.resource import identity, read_status
from simplismart.crds import (
    ClusterSpec,
    ClusterStatus,
    Resources,
    SchedulingSpec,
    SchedulingStrategy,
)

#: Where the API server's field paths point in this API's request body.
REQUEST_FIELDS = {
    "metadata.name": "name",
    "spec.resources.cpu": "total_cpu",
    "spec.resources.ram": "total_ram",
    "spec.resources.gpu": "total_gpu",
    "spec.scheduling.strategy": "strategy",
}


class ClusterCreate(Request):
    name: Name
    total_cpu: Amount
    total_ram: Amount
    total_gpu: Amount
    strategy: SchedulingStrategy = Field(
        default=SchedulingStrategy.AUTO,
        description="How queued deployments are chosen: auto (every combination below 10 "
        "candidates; from 10, HiGHS's exact MILP first, then the genetic search seeded with its "
        "answer if HiGHS cannot prove the optimum within the time limit), combinations, genetic "
        "or optimal.",
    )

    def spec(self) -> ClusterSpec:
        return ClusterSpec(
            resources=Resources(cpu=self.total_cpu, ram=self.total_ram, gpu=self.total_gpu),
            scheduling=SchedulingSpec(strategy=self.strategy),
        )


class ClusterOut(BaseModel):
    id: str = Field(description="The object's Kubernetes uid.")
    name: str
    total_cpu: int
    total_ram: int
    total_gpu: int
    strategy: SchedulingStrategy
    created_at: datetime | None
    observed: bool = Field(description="Whether the operator has reported on it yet.")
    allocated: Resources | None = Field(description="Held by running deployments.")
    available: Resources | None
    queued: int | None
    running: int | None
    pending: int | None
    last_decision: dict[str, Any] | None = Field(description="The last scheduling pass.")
    last_preemption: dict[str, Any] | None = Field(
        default=None,
        description="The last eviction: when (at), the HIGH deployments it started (preemptors), "
        "the LOW runs it evicted (victims), the run time they lost (lostSeconds), whether that "
        "choice is proven optimal, and how long it took (durationMs).",
    )

    @classmethod
    def of(cls, resource: dict[str, Any]) -> "ClusterOut":
        spec = ClusterSpec.model_validate(resource["spec"])
        reported = read_status(resource, ClusterStatus)
        status = reported or ClusterStatus()
        return cls(
            **identity(resource),
            total_cpu=spec.resources.cpu,
            total_ram=spec.resources.ram,
            total_gpu=spec.resources.gpu,
            strategy=spec.scheduling.strategy,
            observed=reported is not None,
            allocated=status.allocated,
            available=status.available,
            queued=status.queued,
            running=status.running,
            pending=status.pending,
            last_decision=status.last_decision,
            last_preemption=status.last_preemption,
        )


class QueueEntry(BaseModel):
    name: str
    priority: int
    position: int | None
    queued_at: datetime | None
    estimated_start_at: datetime | None = Field(
        default=None, description="When it should start; absent if unknown."
    )
    message: str | None = Field(default=None, description="Why it waits.")
    preemptions: int = Field(default=0, description="How often it was evicted while running.")


class ClusterDetail(ClusterOut):
    queue: list[QueueEntry] = Field(description="Queued deployments, first to start first.")


class ClusterReply(Reply):
    cluster: ClusterOut


class ClusterDetailReply(Reply):
    cluster: ClusterDetail


class ClusterListReply(Reply):
    clusters: list[ClusterOut]
    continue_: str | None = Field(
        default=None,
        alias="continue",
        description="Pass as `continue` to get the next page; null on the last page.",
    )


class ClusterDeletedReply(Reply):
    cluster: ClusterOut | None = Field(
        description="The cluster as it was; null when a retry finds it already deleted."
    )
    cancelled_deployments: list[str] = Field(
        description="The deployments on the cluster that were cancelled with it."
    )
