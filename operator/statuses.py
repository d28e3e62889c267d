"""The Deployment status the operator writes for each phase, as JSON merge patches.

Each builder returns the whole picture of its phase: fields that do not belong to the phase are
set to None, which a merge patch turns into "remove", so no stale queuePosition or expiresAt
survives a transition. Conditions follow the Kubernetes API conventions: a condition's
``lastTransitionTime`` moves only when its status does, so it says since when it holds.
"""

from datetime import datetime
from typing import Any

from simplismart.crds import DeploymentStatus, Phase, Resources, format_time

StatusPatch = dict[str, Any]

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


def _lifecycle(
    previous: DeploymentStatus,
    now: datetime,
    schedulable: tuple[bool, str, str],
    running: bool,
    succeeded: bool,
) -> list[dict[str, Any]]:
    ok, reason, message = schedulable
    return _conditions(
        previous,
        now,
        [
            ("Schedulable", ok, reason, message),
            ("Running", running, "Run" if running else "NotRunning", ""),
            ("Succeeded", succeeded, "RunFinished" if succeeded else "NotFinished", ""),
        ],
    )


_FITS = (True, "Fits", "fits the cluster")


def pending(
    previous: DeploymentStatus, now: datetime, reason: str, message: str, generation: int
) -> StatusPatch:
    return {
        "phase": Phase.PENDING.value,
        "reason": reason,
        "message": message,
        "observedGeneration": generation,
        "queuePosition": None,
        "startedAt": None,
        "expiresAt": None,
        "allocated": None,
        "conditions": _lifecycle(previous, now, (False, reason, message), False, False),
    }


def queued(
    previous: DeploymentStatus,
    now: datetime,
    queued_at: datetime,
    position: int,
    generation: int,
) -> StatusPatch:
    return {
        "phase": Phase.QUEUED.value,
        "reason": "WaitingForCapacity",
        "message": "waiting in the cluster's queue for capacity",
        "observedGeneration": generation,
        "queuedAt": format_time(queued_at),
        "queuePosition": position,
        "startedAt": None,
        "expiresAt": None,
        "allocated": None,
        "conditions": _lifecycle(previous, now, _FITS, False, False),
    }


def running(
    previous: DeploymentStatus,
    now: datetime,
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
        "queuedAt": format_time(previous.queued_at or now),
        "startedAt": format_time(now),
        "expiresAt": format_time(expires_at),
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
        "finishedAt": format_time(now),
        "retainedUntil": None if retained_until is None else format_time(retained_until),
        "allocated": None,
        "conditions": _lifecycle(previous, now, _FITS, False, True),
    }
