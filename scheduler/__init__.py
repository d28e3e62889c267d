"""Choose which queued deployments to start: a 0/1 multidimensional knapsack.

Pure scheduling logic with no Kubernetes in it: the operator describes the free capacity
and the queue as a `Problem` and starts what `solve` selects. See docs/scheduler.md for
the objective and the strategies.
"""

from simplismart.scheduler.objective import Objective
from simplismart.scheduler.problem import Candidate, Problem, ProblemError
from simplismart.scheduler.selection import Selection
from simplismart.scheduler.solver import solve
from simplismart.scheduler.strategy import Strategy

__all__ = [
    "Candidate",
    "Objective",
    "Problem",
    "ProblemError",
    "Selection",
    "Strategy",
    "solve",
]
