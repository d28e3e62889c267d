"""The scheduling problem as the operator states it: free capacity and the candidates.

A `Problem` validates itself on construction, so every strategy can trust its input and
the error names the offending field the way the caller wrote it
(``candidates[3].requests.cpu``), not the way a solver happens to read it.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final, TypeGuard

HIGH: Final = 1
LOW: Final = 0
#: The largest amount of a resource: sums over 90,000 candidates stay exact in the solvers'
#: arithmetic (64-bit integers, and HiGHS's doubles, exact up to 2**53).
MAX_AMOUNT: Final = 10**11
#: The largest value or waited time of a candidate, so that sums over them stay finite.
MAX_WEIGHT: Final = 10**15


class ProblemError(ValueError):
    """A problem that cannot be scheduled; `field` is the path of the culprit."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Candidate:
    """One queued deployment: what it requests, how urgent it is, how long it has waited.

    A resource missing from `requests` is requested at 0. Setting `value` on every
    candidate of a problem replaces the priority policy by a plain knapsack on `value`.
    """

    id: str
    requests: Mapping[str, int]
    priority: int = LOW
    waited_seconds: float = 0.0
    value: float | None = None
    max_seconds: float | None = None
    """The longest it can run once started; None: unbounded, so it outlives every reservation."""

    def outlives(self, reservation: Reservation) -> bool:
        """True when, started now, it may still hold its requests when `reservation` begins."""
        return self.max_seconds is None or self.max_seconds > reservation.in_seconds


@dataclass(frozen=True, slots=True)
class Reservation:
    """A start promised to a queued deployment, as a limit on what may start now.

    `in_seconds` from now the reserved deployment starts; `capacity` is what is left at that
    moment, beside it and whatever else will hold capacity then, for the candidates started
    now that outlive that moment (see `Candidate.outlives`). Honouring it is what keeps
    backfilling from delaying the reserved start.
    """

    in_seconds: float
    capacity: Mapping[str, int]


@dataclass(frozen=True, slots=True)
class Problem:
    """Free capacity now, the candidates, and what the demand shares are measured against.

    `total` is the cluster's total capacity per resource (demand = request / total); it
    defaults to `free` and, when given, must name every resource `free` names. A resource
    missing from `free` has nothing free, so a candidate requesting it never starts.
    `aging_seconds` promotes a LOW candidate that has waited longer than it to HIGH; None
    disables aging. Each of `reservations` is one more capacity constraint, on the candidates
    that outlive it.
    """

    free: Mapping[str, int]
    candidates: Sequence[Candidate]
    total: Mapping[str, int] | None = None
    aging_seconds: float | None = None
    reservations: Sequence[Reservation] = ()

    def __post_init__(self) -> None:
        check_amounts("free", self.free)
        if self.total is not None:
            check_amounts("total", self.total)
            for name, amount in self.total.items():
                if amount < self.free.get(name, 0):
                    raise ProblemError(f"total.{name}", f"must be at least free.{name}")
            for name in self.free:
                # A fallback to the free amount would hide a typo in the resource name.
                if name not in self.total:
                    raise ProblemError(f"total.{name}", "missing while free has it")
        if self.aging_seconds is not None:
            check_seconds("aging_seconds", self.aging_seconds)
        candidates: object = self.candidates  # typed, but callers may pass anything
        if isinstance(candidates, str | bytes) or not isinstance(candidates, Sequence):
            raise ProblemError("candidates", "must be a sequence of Candidate")
        seen: set[str] = set()
        for index, candidate in enumerate(self.candidates):
            _check_candidate(f"candidates[{index}]", candidate, seen)
        reservations: object = self.reservations
        if isinstance(reservations, str | bytes) or not isinstance(reservations, Sequence):
            raise ProblemError("reservations", "must be a sequence of Reservation")
        known = set(self.free) | set(self.total or ())
        for index, reservation in enumerate(self.reservations):
            _check_reservation(f"reservations[{index}]", reservation)
            for name in reservation.capacity:
                # As in `total`: a resource nobody else names is a typo, which would count the
                # resource it meant as 0 left and hold back every candidate that outlives it.
                if name not in known:
                    raise ProblemError(
                        f"reservations[{index}].capacity.{name}", "not a resource of free or total"
                    )
        with_value = [c.value is not None for c in self.candidates]
        if any(with_value) and not all(with_value):
            index = with_value.index(False)
            raise ProblemError(
                f"candidates[{index}].value", "must be set on every candidate or on none"
            )

    @property
    def explicit_values(self) -> bool:
        """True when every candidate carries `value`, which bypasses the priority policy."""
        return bool(self.candidates) and all(c.value is not None for c in self.candidates)

    def effective_priority(self, candidate: Candidate) -> int:
        """HIGH for HIGH candidates and for LOW ones that waited past `aging_seconds`."""
        if candidate.priority == HIGH:
            return HIGH
        aged = self.aging_seconds is not None and candidate.waited_seconds > self.aging_seconds
        return HIGH if aged else LOW


def is_int(value: object) -> TypeGuard[int]:
    # bool is an int subclass, but `"gpu": true` is a mistake, not one GPU.
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value: object) -> TypeGuard[float]:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    # An int past a double's range is refused (isfinite() would raise on it): every time and
    # weight is computed in doubles.
    if isinstance(value, int):
        return abs(value) <= sys.float_info.max
    return math.isfinite(value)


def check_amounts(field: str, amounts: object) -> None:
    if not isinstance(amounts, Mapping):
        raise ProblemError(field, "must be a mapping of resource name to integer")
    for name, amount in amounts.items():
        if not isinstance(name, str) or not name:
            raise ProblemError(f"{field}.{name}", "resource name must be a non-empty string")
        if not is_int(amount) or amount < 0:
            raise ProblemError(f"{field}.{name}", "must be a non-negative integer")
        if amount > MAX_AMOUNT:
            raise ProblemError(f"{field}.{name}", f"must be at most {MAX_AMOUNT:,}")


def check_seconds(field: str, seconds: object) -> None:
    if not is_number(seconds) or seconds < 0:
        raise ProblemError(field, "must be a non-negative finite number")


def _check_candidate(field: str, candidate: object, seen: set[str]) -> None:
    if not isinstance(candidate, Candidate):
        raise ProblemError(field, "must be a Candidate")
    if not isinstance(candidate.id, str) or not candidate.id:
        raise ProblemError(f"{field}.id", "must be a non-empty string")
    if candidate.id in seen:
        raise ProblemError(f"{field}.id", f"duplicate id {candidate.id!r}")
    seen.add(candidate.id)
    check_amounts(f"{field}.requests", candidate.requests)
    if candidate.priority not in (LOW, HIGH) or not is_int(candidate.priority):
        raise ProblemError(f"{field}.priority", "must be 0 (LOW) or 1 (HIGH)")
    check_seconds(f"{field}.waited_seconds", candidate.waited_seconds)
    if candidate.waited_seconds > MAX_WEIGHT:
        raise ProblemError(f"{field}.waited_seconds", f"must be at most {MAX_WEIGHT:,}")
    if candidate.value is not None and (not is_number(candidate.value) or candidate.value < 0):
        raise ProblemError(f"{field}.value", "must be a non-negative finite number")
    if candidate.value is not None and candidate.value > MAX_WEIGHT:
        raise ProblemError(f"{field}.value", f"must be at most {MAX_WEIGHT:,}")
    if candidate.max_seconds is not None:
        check_seconds(f"{field}.max_seconds", candidate.max_seconds)


def _check_reservation(field: str, reservation: object) -> None:
    if not isinstance(reservation, Reservation):
        raise ProblemError(field, "must be a Reservation")
    check_seconds(f"{field}.in_seconds", reservation.in_seconds)
    check_amounts(f"{field}.capacity", reservation.capacity)
