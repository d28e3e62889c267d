"""The knapsack as a linear program for HiGHS, binary or relaxed.

HiGHS's default relative gap (1e-4) would stop a hundredth of a percent short of the
optimum and call it optimal, and its default feasibility tolerance (1e-6) would let a
pinned objective row of a lexicographic stage slip by that much. Both are set to the
comparison tolerance the rest of the scheduler uses.
"""

from __future__ import annotations

import highspy
import numpy as np

from simplismart.scheduler.knapsack import Knapsack
from simplismart.scheduler.objective import REL_TOL


def program(knapsack: Knapsack, *, integral: bool, seed: int | None = None) -> highspy.Highs:
    """``max c @ x, weights @ x <= capacity, 0 <= x <= 1``; the caller sets the costs c."""
    items, resources = knapsack.size, len(knapsack.capacity)
    lp = highspy.HighsLp()
    lp.num_col_ = items
    lp.num_row_ = resources
    lp.sense_ = highspy.ObjSense.kMaximize
    lp.col_cost_ = np.zeros(items)
    lp.col_lower_ = np.zeros(items)
    lp.col_upper_ = np.ones(items)
    lp.row_lower_ = np.full(resources, -highspy.kHighsInf)
    lp.row_upper_ = knapsack.capacity.astype(np.float64)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = np.arange(0, resources * items + 1, max(resources, 1), dtype=np.int32)
    lp.a_matrix_.index_ = np.tile(np.arange(resources, dtype=np.int32), items)
    lp.a_matrix_.value_ = knapsack.weights.T.reshape(-1).astype(np.float64)
    if integral:
        lp.integrality_ = [highspy.HighsVarType.kInteger] * items
    highs = highspy.Highs()  # type: ignore[no-untyped-call]  # highspy leaves __init__ bare
    highs.setOptionValue("output_flag", False)
    highs.setOptionValue("mip_rel_gap", REL_TOL)
    highs.setOptionValue("mip_abs_gap", REL_TOL)
    highs.setOptionValue("mip_feasibility_tolerance", REL_TOL)
    highs.setOptionValue("primal_feasibility_tolerance", REL_TOL)
    if seed is not None:
        highs.setOptionValue("random_seed", seed)
    highs.passModel(lp)
    return highs


def set_costs(highs: highspy.Highs, costs: np.ndarray) -> None:
    """Make `costs` the objective to maximise."""
    highs.changeColsCost(len(costs), np.arange(len(costs), dtype=np.int32), costs)
