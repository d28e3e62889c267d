"""The Deployment status the operator writes for each phase, as JSON merge patches.

Each builder returns the whole picture of its phase: fields that do not belong to the phase are
set to None, which a merge patch turns into "remove", so no stale queuePosition or expiresAt
survives a transition. Conditions follow the Kubernetes API conventions: a condition's
``lastTransitionTime`` moves only when its status does, so it says since when it holds.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from simplismart.crds import DeploymentStatus, Phase, Resources, format_time

StatusPatch = dict[str, Any]

#: Reasons a deployment is Queued.
WAITING = "WaitingForCapacity"
RESERVED = "Reserved"


@dataclass(frozen=True, slots=True)
class Wait:
    """Why a queued deployment waits (`reason`: WAITING or RESERVED), and when it should start."""

    reason: str
    message: str
    estimated_start: datetime | None


#: (type, status, reason, message) of one condition, before its transition time is decided.
ConditionState = tuple[str, bool, str, str]


def _conditions(
    previous: DeploymentStatus, now: datetime, states: list[ConditionState]
) -> list[dict[str, Any]]:
    before = {c.type: c for c in previous.conditions}
    conditions = []
    for kind, holds, reason, message in states:
        status = str(holds)
        old = before.get(kind)
        since = old.last_transition_time if old and old.status == status else None
        conditions.append(
            {
                "type": kind,
                "status": status,
                "reason": reason,
                "message": message,
                "lastTransitionTime": format_time(since or now),
            }
        )
    return conditions


#: The condition an eviction sets; it stays, telling the last preemption, until the next one.
PREEMPTED = "Preempted"


def _lifecycle(
    previous: DeploymentStatus,
    now: datetime,
    schedulable: tuple[bool, str, str],
    running: bool,
    succeeded: bool,
) -> list[dict[str, Any]]:
    ok, reason, message = schedulable
    conditions = _conditions(
        previous,
        now,
        [
            ("Schedulable", ok, reason, message),
            ("Running", running, "Run" if running else "NotRunning", ""),
            ("Succeeded", succeeded, "RunFinished" if succeeded else "NotFinished", ""),
        ],
    )
    # A merge patch replaces the whole list: carry the last preemption forward, as written.
    for condition in previous.conditions:
        if condition.type == PREEMPTED and condition.last_transition_time is not None:
            carried = condition.model_dump(mode="json", by_alias=True, exclude_none=True)
            carried["lastTransitionTime"] = format_time(condition.last_transition_time)
            conditions.append(carried)
    return conditions


_FITS = (True, "Fits", "fits the cluster")


def pending(
    previous: DeploymentStatus, now: datetime, reason: str, message: str, generation: int
) -> StatusPatch:
    return {
        "phase": Phase.PENDING.value,
        "reason": reason,
        "message": message,
        "observedGeneration": generation,
        # In no queue: when it joins one again, it joins at the back, its wait counted from
        # then (a cancelled run's would count the run itself, and age it past everyone).
        "queuedAt": None,
        "queuedOn": None,
        "queuePosition": None,
        "estimatedStartAt": None,
        "startedAt": None,
        "expiresAt": None,
        "clusterUid": None,
        "allocated": None,
        "conditions": _lifecycle(previous, now, (False, reason, message), False, False),
    }


@dataclass(frozen=True, slots=True)
class Place:
    """Which cluster's queue a deployment is in, and since when (its order and its aging)."""

    cluster: str
    since: datetime


def queued(
    previous: DeploymentStatus,
    now: datetime,
    place: Place,
    position: int,
    generation: int,
    wait: Wait,
) -> StatusPatch:
    return {
        "phase": Phase.QUEUED.value,
        "reason": wait.reason,
        "message": wait.message,
        "observedGeneration": generation,
        "queuedAt": format_time(place.since),
        "queuedOn": place.cluster,
        "queuePosition": position,
        "estimatedStartAt": (
            None if wait.estimated_start is None else format_time(wait.estimated_start)
        ),
        "startedAt": None,
        "expiresAt": None,
        "clusterUid": None,
        "allocated": None,
        "conditions": _lifecycle(previous, now, _FITS, False, False),
    }


def preempted(
    previous: DeploymentStatus,
    now: datetime,
    preemptors: list[str],
    generation: int,
) -> StatusPatch:
    """Back to Queued, at its original place (queuedAt kept), to make room for `preemptors`.

    The Preempted condition's time is the eviction's, even when an earlier preemption had
    already set it: each eviction is a transition of its own.
    """
    names = ", ".join(repr(name) for name in preemptors)
    noun = "deployment" if len(preemptors) == 1 else "deployments"
    message = f"evicted at {format_time(now)} to make room for HIGH {noun} {names}"
    conditions = [
        c for c in _lifecycle(previous, now, _FITS, False, False) if c["type"] != PREEMPTED
    ]
    conditions.append(
        {
            "type": PREEMPTED,
            "status": "True",
            "reason": "PreemptedByHigherPriority",
            "message": message,
            "lastTransitionTime": format_time(now),
        }
    )
    return {
        "phase": Phase.QUEUED.value,
        "reason": "Preempted",
        "message": f"{message}; waiting in the queue again",
        "observedGeneration": generation,
        "queuedAt": format_time(previous.queued_at or now),
        "queuePosition": None,
        "startedAt": None,
        "expiresAt": None,
        "clusterUid": None,
        "allocated": None,
        "preemptions": (previous.preemptions or 0) + 1,
        "conditions": conditions,
    }


def running(
    previous: DeploymentStatus,
    now: datetime,
    place: Place,
    cluster_uid: str,
    expires_at: datetime,
    held: Resources,
    generation: int,
) -> StatusPatch:
    return {
        "phase": Phase.RUNNING.value,
        "reason": "Admitted",
        "message": f"running until {format_time(expires_at)}",
        "observedGeneration": generation,
        "queuePosition": None,
        "estimatedStartAt": None,
        "queuedAt": format_time(place.since),
        "queuedOn": place.cluster,
        "startedAt": format_time(now),
        "expiresAt": format_time(expires_at),
        "clusterUid": cluster_uid,
        "allocated": held.as_dict(),
        "conditions": _lifecycle(previous, now, _FITS, True, False),
    }


def succeeded(
    previous: DeploymentStatus, now: datetime, retained_until: datetime | None, generation: int
) -> StatusPatch:
    kept = "" if retained_until is None else f"; kept until {format_time(retained_until)}"
    return {
        "phase": Phase.SUCCEEDED.value,
        "reason": "RunFinished",
        "message": f"the run finished and its resources were freed{kept}",
        "observedGeneration": generation,
        "queuePosition": None,
        "estimatedStartAt": None,
        "finishedAt": format_time(now),
        "retainedUntil": None if retained_until is None else format_time(retained_until),
        "allocated": None,
        "conditions": _lifecycle(previous, now, _FITS, False, True),
    }
