"""Choose which queued deployments to start: a 0/1 multidimensional knapsack.

Pure scheduling logic with no Kubernetes in it: the operator describes the free capacity
and the queue as a `Problem` and starts what `solve` selects. Time-aware, it describes the
cluster as a `ClusterState` (runs with their known ends, the queue, the capacity):
`plan_pass` orders the queue, reserves starts for the first blocked deployments and states
the `Problem` that backfills without delaying them; `forecast` gives every deployment still
queued its ETA and the reason it waits. When a cluster allows
preemption, it describes what runs and the HIGH deployments that could not start as a
`PreemptionProblem`, and evicts what `select_victims` chooses. See docs/scheduler.md for
the objective, the strategies and the preemption rules.
"""

from simplismart.scheduler.backfill import PassPlan, Reserved, plan_pass
from simplismart.scheduler.cluster_state import ClusterState, Running, Waiting
from simplismart.scheduler.forecast import Forecast, forecast
from simplismart.scheduler.objective import Objective
from simplismart.scheduler.preemption import (
    Preemption,
    PreemptionProblem,
    Preemptor,
    RunningDeployment,
    Shortfall,
    select_victims,
)
from simplismart.scheduler.problem import Candidate, Problem, ProblemError, Reservation
from simplismart.scheduler.selection import Selection
from simplismart.scheduler.solver import MAX_TIME_LIMIT, solve
from simplismart.scheduler.strategy import Strategy

__all__ = [
    "MAX_TIME_LIMIT",
    "Candidate",
    "ClusterState",
    "Forecast",
    "Objective",
    "PassPlan",
    "Preemption",
    "PreemptionProblem",
    "Preemptor",
    "Problem",
    "ProblemError",
    "Reservation",
    "Reserved",
    "Running",
    "RunningDeployment",
    "Selection",
    "Shortfall",
    "Strategy",
    "Waiting",
    "forecast",
    "plan_pass",
    "select_victims",
    "solve",
]
