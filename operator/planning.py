"""What a scheduling pass should do, decided from one consistent snapshot, without side effects.

Kept pure so that the rules (who is Pending and why, who waits, in which order, how much is free)
are unit-tested without a cluster, and so the pass itself is only I/O around this.
"""

from dataclasses import dataclass
from datetime import datetime

from simplismart.crds import Phase, PreemptionPolicy, Priority, Resources
from simplismart.operator.objects import ClusterObject, DeploymentObject
from simplismart.scheduler import (
    ClusterState,
    PreemptionProblem,
    Preemptor,
    Running,
    RunningDeployment,
    Waiting,
)

#: Reasons a deployment is Pending; the message says the details.
CLUSTER_NOT_FOUND = "ClusterNotFound"
CLUSTER_REPLACED = "ClusterReplaced"
EXCEEDS_CAPACITY = "ExceedsClusterCapacity"


@dataclass(frozen=True, slots=True)
class Hold:
    """A deployment that must be Pending, and why."""

    deployment: DeploymentObject
    reason: str
    message: str


@dataclass(frozen=True, slots=True)
class Plan:
    holds: list[Hold]
    """Deployments that must be (or stay) Pending."""
    queue: list[DeploymentObject]
    """Deployments that wait for capacity, in queue order (position 1 first)."""
    running: list[DeploymentObject]
    allocated: Resources
    """Sum of what the running deployments hold."""

    def free(self, cluster: ClusterObject) -> Resources:
        """Capacity minus allocation, never below zero (a shrunk cluster may be over-full)."""
        return cluster.spec.resources.minus(self.allocated)


def queued_since(deployment: DeploymentObject, now: datetime) -> datetime:
    """When it joined its cluster's queue; one about to join it joins now.

    So does one that waited in another cluster's queue and moved (`spec.cluster` changed): its
    wait there neither places it ahead of this queue's earlier arrivals nor ages it. A status
    from before `queuedOn` was recorded counts as this cluster's.
    """
    status = deployment.status
    if status.queued_at is None or status.queued_on not in (None, deployment.spec.cluster):
        return now
    return status.queued_at


def joins_queue(deployment: DeploymentObject) -> bool:
    """Whether its status does not place it in its cluster's queue yet: it is new, back from
    Pending or from an eviction (Queued, with no position), or moved from another cluster's
    queue."""
    status = deployment.status
    return (
        deployment.phase != Phase.QUEUED
        or status.queue_position is None
        or status.queued_on != deployment.spec.cluster
    )


def waited_seconds(deployment: DeploymentObject, now: datetime) -> float:
    return max((now - queued_since(deployment, now)).total_seconds(), 0.0)


def effective_priority(deployment: DeploymentObject, now: datetime, aging_seconds: int) -> int:
    """LOW counts as HIGH once it has waited longer than the cluster's aging period."""
    if deployment.spec.priority == Priority.HIGH:
        return Priority.HIGH
    return Priority.HIGH if waited_seconds(deployment, now) > aging_seconds else Priority.LOW


def plan(cluster: ClusterObject | None, deployments: list[DeploymentObject], now: datetime) -> Plan:
    holds: list[Hold] = []
    waiting: list[DeploymentObject] = []
    running: list[DeploymentObject] = []
    for deployment in deployments:
        if deployment.phase == Phase.SUCCEEDED:
            continue
        if cluster is None:
            holds.append(
                Hold(
                    deployment,
                    CLUSTER_NOT_FOUND,
                    f"cluster {deployment.spec.cluster!r} does not exist in namespace "
                    f"{deployment.namespace!r}; it will be queued when the cluster is created",
                )
            )
        elif deployment.phase == Phase.RUNNING:
            if deployment.status.cluster_uid in (None, cluster.uid):
                running.append(deployment)
            else:  # its capacity was the deleted cluster's
                holds.append(Hold(deployment, CLUSTER_REPLACED, _replaced(cluster)))
        elif not deployment.spec.resources.fits_in(cluster.spec.resources):
            holds.append(Hold(deployment, EXCEEDS_CAPACITY, _too_large(deployment, cluster)))
        else:
            waiting.append(deployment)
    aging = cluster.spec.scheduling.aging_seconds if cluster else 0
    waiting.sort(key=lambda d: (-effective_priority(d, now, aging), queued_since(d, now), d.name))
    return Plan(
        holds=holds,
        queue=waiting,
        running=running,
        allocated=Resources.total(d.held for d in running),
    )


def _replaced(cluster: ClusterObject) -> str:
    return (
        f"cluster {cluster.name!r} was deleted and created again while it ran; it will be "
        "queued on the new one"
    )


def _too_large(deployment: DeploymentObject, cluster: ClusterObject) -> str:
    over = deployment.spec.resources.excess(cluster.spec.resources)
    return (
        f"asks more than cluster {cluster.name!r} has in total ({over}); it will be queued "
        "if the cluster grows or the request shrinks"
    )


def cluster_state(cluster: ClusterObject, current: Plan, now: datetime) -> ClusterState:
    """The cluster as the scheduler's time-aware pass sees it.

    A run ends at its lease's expiry (`expiresAt`), exactly. A queued deployment runs for its
    `durationSeconds` when it declares one; otherwise backfilling must trust the longest run
    of the cluster's window and the ETA expects the middle of it.
    """
    scheduling = cluster.spec.scheduling
    window = scheduling.run_duration
    middle = (window.min_seconds + window.max_seconds) / 2
    return ClusterState(
        capacity=cluster.spec.resources.as_dict(),
        running=[
            Running(
                id=d.name,
                requests=d.held.as_dict(),
                ends_at=d.status.expires_at.timestamp() if d.status.expires_at else None,
                priority=int(d.spec.priority),
                preemptions=d.status.preemptions or 0,
                started_at=d.status.started_at.timestamp() if d.status.started_at else None,
            )
            for d in current.running
        ],
        waiting=[
            Waiting(
                id=d.name,
                requests=d.spec.resources.as_dict(),
                priority=int(d.spec.priority),
                waited_seconds=waited_seconds(d, now),
                expected_seconds=d.spec.duration_seconds or middle,
                max_seconds=d.spec.duration_seconds or window.max_seconds,
                preemptions=d.status.preemptions or 0,
            )
            for d in current.queue
        ],
        now=now.timestamp(),
        reservations=scheduling.reservations,
        aging_seconds=scheduling.aging_seconds,
        preemption=_may_evict(cluster, current),
        max_preemptions=scheduling.max_preemptions,
    )


def _may_evict(cluster: ClusterObject, current: Plan) -> bool:
    """Whether the cluster allows preemption now.

    Not while it holds more than its capacity (it shrank): evicting to make room there would
    start a preemptor on capacity that does not exist, so the runs must end first, and the
    reservations and ETAs of the pass count on that, not on evicting.
    """
    allowed = cluster.spec.scheduling.preemption == PreemptionPolicy.LOWER_PRIORITY
    return allowed and current.allocated.fits_in(cluster.spec.resources)


def preemption(cluster: ClusterObject, current: Plan, now: datetime) -> PreemptionProblem | None:
    """The victim-selection problem when the cluster allows preemption and HIGH ones wait.

    The preemptors are the queued HIGH deployments (by spec: an aged LOW one does not
    preempt), in queue order; with reservations, none evicts past one that cannot start (it
    holds the first reservation). None when there is nothing to decide.
    """
    scheduling = cluster.spec.scheduling
    preemptors = [d for d in current.queue if d.spec.priority == Priority.HIGH]
    if not preemptors or not _may_evict(cluster, current):
        return None
    return PreemptionProblem(
        capacity=cluster.spec.resources.as_dict(),
        free=current.free(cluster).as_dict(),
        running=[
            RunningDeployment(
                id=d.name,
                requests=d.held.as_dict(),
                priority=int(d.spec.priority),
                used_seconds=max((now - (d.status.started_at or now)).total_seconds(), 0.0),
                preemptions=d.status.preemptions or 0,
            )
            for d in current.running
        ],
        preemptors=[Preemptor(id=d.name, requests=d.spec.resources.as_dict()) for d in preemptors],
        max_preemptions=scheduling.max_preemptions,
        stop_at_blocked=scheduling.reservations > 0,
    )
