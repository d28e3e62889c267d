"""What `solve` answers: the candidates to start and how trustworthy that choice is."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from simplismart.scheduler.objective import Objective
from simplismart.scheduler.strategy import Strategy


@dataclass(frozen=True, slots=True)
class Selection:
    """The chosen candidate ids (in the problem's order) and the run that chose them.

    `strategy` is the one whose selection this is, never AUTO. `ran` lists every strategy
    that ran, in order (empty when there was nothing to search), and `reason` says in a
    sentence why those: the decision record an operator shows. `gap` is the relative
    distance to the best proven bound: 0.0 when `proven_optimal`, None when no bound is
    known.
    """

    selected: tuple[str, ...]
    strategy: Strategy
    objective: Objective
    duration_ms: float
    proven_optimal: bool
    gap: float | None
    ran: tuple[Strategy, ...]
    reason: str

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready view, as the CLI prints it."""
        return {
            "selected": list(self.selected),
            "strategy": self.strategy.value,
            "objective": self.objective.to_dict(),
            "duration_ms": self.duration_ms,
            "proven_optimal": self.proven_optimal,
            "gap": self.gap,
            "ran": [strategy.value for strategy in self.ran],
            "reason": self.reason,
        }
