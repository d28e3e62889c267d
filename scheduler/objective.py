"""The score of a selection and the one lexicographic comparison every strategy shares.

Scores are float sums (demand shares are fractions), so two selections that are equal in
exact arithmetic can differ in the last bits depending on the summation order. Comparing
with a relative tolerance everywhere keeps the strategies, the tests and the brute force
in agreement on what a tie is.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

REL_TOL: Final = 1e-9
"""Scores closer than this (relative, floor 1.0) are equal: one byte out of a gibibyte."""


def tolerance(score: float) -> float:
    """The absolute slack under which `score` is not told apart from another score."""
    return REL_TOL * max(1.0, abs(score))


def relative_gap(score: float, bound: float) -> float:
    """How far `score` falls short of an upper `bound`, relative as HiGHS measures its gap."""
    return max(0.0, bound - score) / max(1.0, abs(score))


def compare(a: Sequence[float], b: Sequence[float]) -> int:
    """Compare score vectors lexicographically with tolerance: 1 if a is better, -1, or 0."""
    for x, y in zip(a, b, strict=True):
        if abs(x - y) > tolerance(max(abs(x), abs(y))):
            return 1 if x > y else -1
    return 0


@dataclass(frozen=True, slots=True)
class Objective:
    """What a selection scores, most important first.

    Under the priority policy: `high` and `low` are the demand started at each priority (a
    candidate's demand is the sum over resources of request / cluster total), and
    `waited_seconds` is the total wait of the started candidates, which only separates
    selections whose demands tie: between otherwise interchangeable deployments it starts
    those that waited longest. With explicit values only `value` is set and it is all that
    counts.
    """

    high: float = 0.0
    low: float = 0.0
    waited_seconds: float = 0.0
    value: float | None = None

    @property
    def key(self) -> tuple[float, ...]:
        """The scores in lexicographic order, as `compare` takes them."""
        if self.value is not None:
            return (self.value,)
        return (self.high, self.low, self.waited_seconds)

    def to_dict(self) -> dict[str, float]:
        """The meaningful scores by name, for JSON."""
        if self.value is not None:
            return {"value": self.value}
        return {"high": self.high, "low": self.low, "waited_seconds": self.waited_seconds}
