"""The knapsack as a linear program for HiGHS, binary or relaxed.

HiGHS's default relative gap (1e-4) would stop a hundredth of a percent short of the
optimum and call it optimal, and its default feasibility tolerance (1e-6) would let a
pinned objective row of a lexicographic stage slip by that much. Both are set to the
comparison tolerance the rest of the scheduler uses.

HiGHS checks its time limit and its interrupt callbacks only between steps of its own
(presolve, the root LP, cut rounds, nodes): 10 to 20 ms apart on a thousand candidates, and
so much further apart on ten thousand that a 1 s limit used to end after up to 3.3 s. So a
solve runs on a thread of its own and the caller waits for it only until its deadline.
HiGHS's time limit is set a margin short of the deadline and the interrupt callbacks ask it
to stop at the deadline; if it has not returned by then, `run_until` says so and the caller
goes on with what it has (for a MILP, the incumbents `Incumbents` recorded), leaving HiGHS
to stop at its next check, alone on a program nobody reads again.
"""

from __future__ import annotations

import threading
import time
from typing import Final

import highspy
import numpy as np
import numpy.typing as npt

from simplismart.scheduler.knapsack import Knapsack
from simplismart.scheduler.objective import REL_TOL

MARGIN: Final = 0.003
"""Seconds HiGHS's own time limit stops short of the deadline, for the solution it then
hands back and the drop-and-fill after it."""


def program(
    knapsack: Knapsack,
    *,
    integral: bool,
    deadline: float,
    seed: int | None = None,
    upper: npt.NDArray[np.int64] | None = None,
) -> highspy.Highs:
    """``max c @ x, weights @ x <= capacity, 0 <= x <= upper``; the caller sets the costs c.

    `upper` defaults to 1 (take an item or not); `run_until` solves the program, and any
    solve stops at `deadline` (perf_counter).
    """
    items, resources = knapsack.size, len(knapsack.capacity)
    lp = highspy.HighsLp()
    lp.num_col_ = items
    lp.num_row_ = resources
    lp.sense_ = highspy.ObjSense.kMaximize
    lp.col_cost_ = np.zeros(items)
    lp.col_lower_ = np.zeros(items)
    lp.col_upper_ = np.ones(items) if upper is None else upper.astype(np.float64)
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
        # HiGHS's seed is a C int: it refuses larger ones and keeps its default.
        highs.setOptionValue("random_seed", seed % 2**31)
    highs.passModel(lp)

    def interrupt(event: highspy.HighsCallbackEvent) -> None:
        if time.perf_counter() >= deadline:
            event.interrupt()

    highs.cbSimplexInterrupt += interrupt
    highs.cbIpmInterrupt += interrupt
    highs.cbMipInterrupt += interrupt
    return highs


def run_until(highs: highspy.Highs, deadline: float) -> bool:
    """Solve until `deadline` at the latest; False when HiGHS had not returned by then.

    Only when it returned may the caller read its status and solution, or solve again.
    """
    highs.setOptionValue("time_limit", max(deadline - time.perf_counter() - MARGIN, 1e-3))
    # Our own thread, not highspy's startSolve: that one guards every Highs object with one
    # lock shared by the class, so an abandoned solve would block all later ones. Not a
    # daemon: the interpreter waits for an abandoned solve to stop at exit rather than
    # destroy HiGHS's threads under it (which aborts the process).
    worker = threading.Thread(target=highs.run, name="highs")
    worker.start()
    worker.join(timeout=max(deadline - time.perf_counter(), 0.0))
    return not worker.is_alive()


class Incumbents:
    """HiGHS's improving MILP solutions as it finds them, readable while it still runs."""

    def __init__(self, highs: highspy.Highs) -> None:
        self.latest: npt.NDArray[np.float64] | None = None
        self.gap: float | None = None
        self.bound: float | None = None
        highs.cbMipImprovingSolution += self._record

    def _record(self, event: highspy.HighsCallbackEvent) -> None:
        self.latest = np.array(event.data_out.mip_solution)
        self.gap = float(event.data_out.mip_gap)
        self.bound = float(event.data_out.mip_dual_bound)

    def clear(self) -> None:
        """Forget the solutions of an earlier stage."""
        self.latest = self.gap = self.bound = None


def set_costs(highs: highspy.Highs, costs: np.ndarray) -> None:
    """Make `costs` the objective to maximise."""
    highs.changeColsCost(len(costs), np.arange(len(costs), dtype=np.int32), costs)
