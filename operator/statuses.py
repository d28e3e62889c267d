"""The Deployment status the operator writes for each phase, as JSON merge patches.

Each builder returns the whole picture of its phase: fields that do not belong to the phase are
set to None, which a merge patch turns into "remove", so no stale queuePosition or expiresAt
survives a transition.
"""

from datetime import datetime
from typing import Any

from simplismart.crds import Phase, Resources, format_time

StatusPatch = dict[str, Any]


def _conditions(
    now: datetime, schedulable: tuple[bool, str, str], running: bool, succeeded: bool
) -> list[dict[str, Any]]:
    stamp = format_time(now)
    ok, reason, message = schedulable
    return [
        {
            "type": "Schedulable",
            "status": str(ok),
            "reason": reason,
            "message": message,
            "lastTransitionTime": stamp,
        },
        {"type": "Running", "status": str(running), "reason": "Run", "lastTransitionTime": stamp},
        {
            "type": "Succeeded",
            "status": str(succeeded),
            "reason": "RunFinished" if succeeded else "NotFinished",
            "lastTransitionTime": stamp,
        },
    ]


def pending(now: datetime, reason: str, message: str, generation: int) -> StatusPatch:
    return {
        "phase": Phase.PENDING.value,
        "reason": reason,
        "message": message,
        "observedGeneration": generation,
        "queuePosition": None,
        "startedAt": None,
        "expiresAt": None,
        "allocated": None,
        "conditions": _conditions(now, (False, reason, message), False, False),
    }


def queued(now: datetime, queued_at: datetime, position: int, generation: int) -> StatusPatch:
    message = "waiting in the cluster's queue for capacity"
    return {
        "phase": Phase.QUEUED.value,
        "reason": "WaitingForCapacity",
        "message": message,
        "observedGeneration": generation,
        "queuedAt": format_time(queued_at),
        "queuePosition": position,
        "startedAt": None,
        "expiresAt": None,
        "allocated": None,
        "conditions": _conditions(now, (True, "Fits", "fits the cluster"), False, False),
    }


def running(
    now: datetime, queued_at: datetime, expires_at: datetime, held: Resources, generation: int
) -> StatusPatch:
    return {
        "phase": Phase.RUNNING.value,
        "reason": "Admitted",
        "message": f"running until {format_time(expires_at)}",
        "observedGeneration": generation,
        "queuePosition": None,
        "queuedAt": format_time(queued_at),
        "startedAt": format_time(now),
        "expiresAt": format_time(expires_at),
        "allocated": held.as_dict(),
        "conditions": _conditions(now, (True, "Fits", "fits the cluster"), True, False),
    }


def succeeded(now: datetime, generation: int) -> StatusPatch:
    return {
        "phase": Phase.SUCCEEDED.value,
        "reason": "RunFinished",
        "message": "the run finished and its resources were freed",
        "observedGeneration": generation,
        "queuePosition": None,
        "finishedAt": format_time(now),
        "allocated": None,
        "conditions": _conditions(now, (True, "Fits", "fits the cluster"), False, True),
    }
