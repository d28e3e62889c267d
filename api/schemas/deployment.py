"""Deployments: the original's request fields in, phase, timestamps and queue position out."""

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, Field

from simplismart.api.schemas.common import IMAGE_TEXT, Amount, Name, Reply, Request
from simplismart.api.schemas.resource import identity, read_status
from simplismart.crds import (
    DeploymentSpec,
    DeploymentStatus,
    Phase,
    Priority,
    Resources,
)

#: Where the API server's field paths point in this API's request body.
REQUEST_FIELDS = {
    "metadata.name": "name",
    "spec.cluster": "cluster_name",
    "spec.resources.cpu": "cpu",
    "spec.resources.ram": "ram",
    "spec.resources.gpu": "gpu",
    "spec.priority": "priority",
    "spec.image": "docker_path",
    "spec.durationSeconds": "duration_seconds",
}

#: What a deployment the operator has not seen yet reports.
UNSEEN_MESSAGE = "waiting for the operator"


class DeploymentCreate(Request):
    name: Name
    cluster_name: Name
    cpu: Amount
    ram: Amount
    gpu: Amount
    priority: Annotated[int, Field(strict=True, ge=0, le=1, description="1 HIGH, 0 LOW.")] = 0
    # Shown in terminals and tables: an escape sequence in it would run in a reader's terminal.
    docker_path: str = Field(
        min_length=1,
        max_length=2048,
        pattern=IMAGE_TEXT,
        description="The image to run: an image reference or a URL (visible ASCII, no spaces).",
        examples=["https://sampledockerpath/DockerFile"],
    )
    duration_seconds: int | None = Field(
        default=None,
        strict=True,
        ge=1,
        le=86400,
        description="How long the simulated run lasts; random in the cluster's range if unset.",
    )

    def resources(self) -> Resources:
        return Resources(cpu=self.cpu, ram=self.ram, gpu=self.gpu)

    def spec(self) -> DeploymentSpec:
        return DeploymentSpec(
            cluster=self.cluster_name,
            resources=self.resources(),
            priority=Priority(self.priority),
            image=self.docker_path,
            duration_seconds=self.duration_seconds,
        )


class DeploymentOut(BaseModel):
    id: str = Field(description="The object's Kubernetes uid.")
    name: str
    cluster_name: str
    cpu: int
    ram: int
    gpu: int
    priority: int
    docker_path: str
    duration_seconds: int | None
    created_at: datetime | None
    phase: Phase
    reason: str | None
    message: str | None
    queued_at: datetime | None
    started_at: datetime | None
    expires_at: datetime | None
    finished_at: datetime | None
    queue_position: int | None = Field(description="1-based, while Queued.")
    estimated_start_at: datetime | None = Field(
        default=None,
        description="While Queued: when it should start, from the runs' known ends; absent "
        "when it cannot start on what is known.",
    )
    preemptions: int = Field(
        default=0, description="Times it was evicted while Running to make room for a HIGH one."
    )

    @classmethod
    def of(cls, resource: dict[str, Any]) -> "DeploymentOut":
        spec = DeploymentSpec.model_validate(resource["spec"])
        status = read_status(resource, DeploymentStatus)
        if status is None or status.phase is None:
            status = DeploymentStatus(phase=Phase.PENDING, message=UNSEEN_MESSAGE)
        return cls(
            **identity(resource),
            cluster_name=spec.cluster,
            cpu=spec.resources.cpu,
            ram=spec.resources.ram,
            gpu=spec.resources.gpu,
            priority=spec.priority,
            docker_path=spec.image,
            duration_seconds=spec.duration_seconds,
            phase=status.phase or Phase.PENDING,
            reason=status.reason,
            message=status.message,
            queued_at=status.queued_at,
            started_at=status.started_at,
            expires_at=status.expires_at,
            finished_at=status.finished_at,
            queue_position=status.queue_position,
            estimated_start_at=status.estimated_start_at,
            preemptions=status.preemptions or 0,
        )


class DeploymentReply(Reply):
    deployment: DeploymentOut


class DeploymentListReply(Reply):
    deployments: list[DeploymentOut]
    continue_: str | None = Field(
        default=None,
        alias="continue",
        description="Pass as `continue` to get the next page; null on the last page.",
    )
