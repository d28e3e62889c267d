"""The state a time-aware pass decides from: capacity, runs with their ends, the queue.

Plain data the operator fills from its snapshot; validated on construction like a `Problem`,
so a bad field is named the way the caller wrote it (``waiting[2].max_seconds``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from simplismart.scheduler.preemption import DEFAULT_MAX_PREEMPTIONS
from simplismart.scheduler.problem import (
    HIGH,
    LOW,
    Candidate,
    Problem,
    ProblemError,
    check_amounts,
    check_seconds,
    is_int,
    is_number,
)


@dataclass(frozen=True, slots=True)
class Running:
    """A running deployment; `ends_at` is its known end (POSIX seconds), None if unknown.

    A run whose `ends_at` has passed holds its capacity until the next instant, when the
    caller's next pass is expected to end it.

    `priority` (its spec's, never aged), `preemptions` (times it was evicted) and `started_at`
    (POSIX seconds, None if unknown: counted as just started) matter only on a cluster that
    allows preemption: they say whether a HIGH deployment may evict it and what that costs.
    """

    id: str
    requests: Mapping[str, int]
    ends_at: float | None = None
    priority: int = LOW
    preemptions: int = 0
    started_at: float | None = None


@dataclass(frozen=True, slots=True)
class Waiting:
    """A queued deployment.

    `max_seconds` is the longest it can run once started (its declared duration, else the
    cluster's longest run): what backfilling must trust. `expected_seconds` is how long it
    will probably run (declared, else the middle of the run window): what the ETA uses.
    Either may be None when unknown: it then counts as running forever. `preemptions` is how
    many times it was evicted (on a cluster that allows preemption, a LOW deployment evicted
    `max_preemptions` times is not evicted again once it runs).
    """

    id: str
    requests: Mapping[str, int]
    priority: int = LOW
    waited_seconds: float = 0.0
    expected_seconds: float | None = None
    max_seconds: float | None = None
    preemptions: int = 0


@dataclass(frozen=True, slots=True)
class ClusterState:
    """The state one pass decides from: capacity, runs, queue and the cluster's settings.

    `capacity` is the cluster's total per resource; a resource missing from it has none.
    `aging_seconds` promotes a LOW deployment that waited longer to HIGH (None: never).
    `reservations` is how many of the first blocked deployments get a reservation.
    `preemption` is True on a cluster whose HIGH deployments (priority 1 by spec) may evict
    running LOW ones preempted fewer than `max_preemptions` times (docs/scheduler.md,
    "Preemption and reservations").
    """

    capacity: Mapping[str, int]
    running: Sequence[Running]
    waiting: Sequence[Waiting]
    now: float
    reservations: int = 1
    aging_seconds: float | None = None
    preemption: bool = False
    max_preemptions: int = DEFAULT_MAX_PREEMPTIONS

    def __post_init__(self) -> None:
        check_amounts("capacity", self.capacity)
        if not is_number(self.now):
            raise ProblemError("now", "must be a finite number")
        if not isinstance(self.reservations, int) or self.reservations < 0:
            raise ProblemError("reservations", "must be a non-negative integer")
        if not isinstance(self.preemption, bool):
            raise ProblemError("preemption", "must be a boolean")
        if not is_int(self.max_preemptions) or self.max_preemptions < 0:
            raise ProblemError("max_preemptions", "must be a non-negative integer")
        if self.aging_seconds is not None:
            check_seconds("aging_seconds", self.aging_seconds)
        seen: set[str] = set()
        for index, run in enumerate(self.running):
            field = f"running[{index}]"
            if not isinstance(run, Running):
                raise ProblemError(field, "must be a Running")
            _check_id(f"{field}.id", run.id, seen)
            check_amounts(f"{field}.requests", run.requests)
            if run.ends_at is not None and not is_number(run.ends_at):
                raise ProblemError(f"{field}.ends_at", "must be a finite number or None")
            if run.started_at is not None and not is_number(run.started_at):
                raise ProblemError(f"{field}.started_at", "must be a finite number or None")
            if run.priority not in (LOW, HIGH) or not is_int(run.priority):
                raise ProblemError(f"{field}.priority", "must be 0 (LOW) or 1 (HIGH)")
            _check_preemptions(f"{field}.preemptions", run.preemptions)
        for index, waiting in enumerate(self.waiting):
            field = f"waiting[{index}]"
            if not isinstance(waiting, Waiting):
                raise ProblemError(field, "must be a Waiting")
            _check_id(f"{field}.id", waiting.id, seen)
            if waiting.expected_seconds is not None:
                check_seconds(f"{field}.expected_seconds", waiting.expected_seconds)
            _check_preemptions(f"{field}.preemptions", waiting.preemptions)
        try:
            # The candidates' own checks, reported in this class's vocabulary.
            Problem(free={}, candidates=[candidate(w) for w in self.waiting])
        except ProblemError as error:
            raise ProblemError(
                error.field.replace("candidates", "waiting", 1), error.reason
            ) from None

    def effective_priority(self, waiting: Waiting, moment: float) -> int:
        """HIGH for HIGH, and for LOW once it will have waited past `aging_seconds` at `moment`."""
        if waiting.priority == HIGH:
            return HIGH
        waited = waiting.waited_seconds + (moment - self.now)
        aged = self.aging_seconds is not None and waited > self.aging_seconds
        return HIGH if aged else LOW

    def preemptible(self, item: Running | Waiting) -> bool:
        """Whether a HIGH deployment may evict `item` while (or once) it runs.

        The rule of `PreemptionProblem.preemptible`, on this cluster's setting.
        """
        return self.preemption and item.priority == LOW and item.preemptions < self.max_preemptions

    def preempts(self, waiting: Waiting) -> bool:
        """Whether `waiting` may evict preemptible runs to start (HIGH by spec, never aged)."""
        return self.preemption and waiting.priority == HIGH

    def order(self, moment: float) -> list[Waiting]:
        """The queue at `moment`: HIGH before LOW, then the longest waiting, then by id."""
        return sorted(
            self.waiting,
            key=lambda w: (-self.effective_priority(w, moment), -w.waited_seconds, w.id),
        )


def _check_preemptions(field: str, preemptions: object) -> None:
    if not is_int(preemptions) or preemptions < 0:
        raise ProblemError(field, "must be a non-negative integer")


def _check_id(field: str, identifier: object, seen: set[str]) -> None:
    if not isinstance(identifier, str) or not identifier:
        raise ProblemError(field, "must be a non-empty string")
    if identifier in seen:
        raise ProblemError(field, f"duplicate id {identifier!r}")
    seen.add(identifier)


def candidate(waiting: Waiting) -> Candidate:
    """`waiting` as a candidate of the selection problem."""
    return Candidate(
        id=waiting.id,
        requests=waiting.requests,
        priority=waiting.priority,
        waited_seconds=waiting.waited_seconds,
        max_seconds=waiting.max_seconds,
    )
