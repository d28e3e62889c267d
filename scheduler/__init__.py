"""Choose which queued deployments to start: a 0/1 multidimensional knapsack.

Pure scheduling logic with no Kubernetes in it: the operator describes the free capacity
and the queue as a `Problem` and starts what `solve` selects. When a cluster allows
preemption, it describes what runs and the HIGH deployments that could not start as a
`PreemptionProblem`, and evicts what `select_victims` chooses. See docs/scheduler.md for
the objective, the strategies and the preemption rules.
"""

from simplismart.scheduler.objective import Objective
from simplismart.scheduler.preemption import (
    Preemption,
    PreemptionProblem,
    Preemptor,
    RunningDeployment,
    select_victims,
)
from simplismart.scheduler.problem import Candidate, Problem, ProblemError
from simplismart.scheduler.selection import Selection
from simplismart.scheduler.solver import solve
from simplismart.scheduler.strategy import Strategy

__all__ = [
    "Candidate",
    "Objective",
    "Preemption",
    "PreemptionProblem",
    "Preemptor",
    "Problem",
    "ProblemError",
    "RunningDeployment",
    "Selection",
    "Strategy",
    "select_victims",
    "solve",
]
