"""Rolling figures over a cluster's recently finished runs, for its status.

Finished deployments leave the operator's memory at once (and etcd after their TTL), so what
users want from history is kept here, small: the waits and run times of the runs that ended in
the last window, from which the status reports counts, means and 90th percentiles.
"""

import math
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

#: The window the figures cover.
WINDOW = timedelta(minutes=15)


@dataclass
class RunHistory:
    """(finished at, seconds waited, seconds run) of the runs that ended within `WINDOW`."""

    runs: deque[tuple[datetime, float, float]] = field(default_factory=deque)

    def record(self, finished: datetime, waited: float, ran: float) -> None:
        self.runs.append((finished, waited, ran))

    def figures(self, now: datetime) -> dict[str, Any]:
        while self.runs and self.runs[0][0] < now - WINDOW:
            self.runs.popleft()
        waits = sorted(w for _, w, _ in self.runs)
        lengths = sorted(r for _, _, r in self.runs)
        figures: dict[str, Any] = {
            "windowSeconds": int(WINDOW.total_seconds()),
            "runsFinished": len(self.runs),
        }
        if self.runs:
            figures |= {
                "meanWaitSeconds": round(sum(waits) / len(waits), 3),
                "p90WaitSeconds": round(_p90(waits), 3),
                "meanRunSeconds": round(sum(lengths) / len(lengths), 3),
                "p90RunSeconds": round(_p90(lengths), 3),
            }
        return figures


def _p90(ordered: list[float]) -> float:
    """Nearest-rank 90th percentile of a sorted, non-empty list."""
    return ordered[max(math.ceil(0.9 * len(ordered)) - 1, 0)]
