"""Random preemption problems and two independent references for victim selection.

The references restate the rules from their definition, in plain Python and dictionaries,
sharing no code with `select_victims`: which preemptors queue order admits, what a set of
victims frees and loses, and the least loss over every set of victims, by enumerating all
subsets (small instances) or by a covering MILP solved by HiGHS (up to 30 running).
"""

from __future__ import annotations

from collections.abc import Collection

import highspy
import numpy as np
from hypothesis import strategies as st

from simplismart.scheduler import PreemptionProblem, Preemptor, RunningDeployment

RESOURCES = ("cpu", "ram", "gpu")

Loss = tuple[int, int]
"""Run time lost in whole milliseconds, then the number of victims."""


def eligible(problem: PreemptionProblem) -> list[RunningDeployment]:
    """The running deployments a preemptor may evict."""
    return [
        r for r in problem.running if r.priority == 0 and r.preemptions < problem.max_preemptions
    ]


def _fits(problem: PreemptionProblem, wanted: list[Preemptor], freed: Collection[str]) -> bool:
    """True when `wanted` fit together in the free capacity plus what `freed` hold."""
    names = {name for p in wanted for name in p.requests}
    for name in names:
        room = problem.free.get(name, 0) + sum(
            r.requests.get(name, 0) for r in problem.running if r.id in freed
        )
        if sum(p.requests.get(name, 0) for p in wanted) > room:
            return False
    return True


def queue_order(problem: PreemptionProblem) -> tuple[list[Preemptor], list[Preemptor]]:
    """(admitted, blocked): each preemptor in turn, admitted when it and those admitted
    before it would fit if every eligible deployment were evicted."""
    everyone = {r.id for r in eligible(problem)}
    admitted: list[Preemptor] = []
    blocked: list[Preemptor] = []
    for preemptor in problem.preemptors:
        if _fits(problem, [*admitted, preemptor], everyone):
            admitted.append(preemptor)
        else:
            blocked.append(preemptor)
    return admitted, blocked


def frees_enough(problem: PreemptionProblem, victims: Collection[str]) -> bool:
    """True when evicting `victims` makes room for every preemptor queue order admits."""
    return _fits(problem, queue_order(problem)[0], victims)


def loss(problem: PreemptionProblem, victims: Collection[str]) -> Loss:
    """What evicting `victims` loses."""
    lost = sum(round(r.used_seconds * 1000.0) for r in problem.running if r.id in victims)
    return lost, len(victims)


def brute_force(problem: PreemptionProblem) -> Loss:
    """The least loss over every subset of the eligible deployments that frees enough.

    All 2**k subsets at once as a 0/1 matrix, so that k = 16 takes milliseconds.
    """
    candidates = eligible(problem)
    admitted = queue_order(problem)[0]
    subsets = (np.arange(2 ** len(candidates))[:, None] >> np.arange(len(candidates))) & 1
    enough = np.ones(len(subsets), dtype=bool)
    for name in RESOURCES:
        lacking = sum(p.requests.get(name, 0) for p in admitted) - problem.free.get(name, 0)
        freed = subsets @ np.array([r.requests.get(name, 0) for r in candidates], dtype=np.int64)
        enough &= freed >= lacking
    lost = subsets @ np.array([round(r.used_seconds * 1000.0) for r in candidates], np.int64)
    counts = subsets.sum(axis=1)
    best = min(zip(lost[enough].tolist(), counts[enough].tolist(), strict=True))
    return int(best[0]), int(best[1])


def milp(problem: PreemptionProblem) -> Loss:
    """The least loss as an integer program: minimise the sum of (ms x M + 1) over the
    victims, M above any count, subject to covering what the admitted preemptors lack."""
    candidates = eligible(problem)
    admitted = queue_order(problem)[0]
    scale = len(candidates) + 1
    rows = []
    for name in RESOURCES:
        lacking = sum(p.requests.get(name, 0) for p in admitted) - problem.free.get(name, 0)
        if lacking > 0:
            rows.append(([r.requests.get(name, 0) for r in candidates], lacking))
    if not rows:
        return 0, 0
    highs = highspy.Highs()  # type: ignore[no-untyped-call]  # highspy leaves __init__ bare
    highs.setOptionValue("output_flag", False)
    highs.setOptionValue("mip_rel_gap", 0.0)
    highs.setOptionValue("mip_abs_gap", 0.5)  # integral costs: a gap below 1 is optimal
    for r in candidates:
        cost = round(r.used_seconds * 1000.0) * scale + 1
        highs.addVar(0.0, 1.0)
        highs.changeColCost(highs.getNumCol() - 1, float(cost))
    highs.changeColsIntegrality(
        len(candidates),
        np.arange(len(candidates), dtype=np.int32),
        np.full(len(candidates), highspy.HighsVarType.kInteger),
    )
    for amounts, lacking in rows:
        columns = np.arange(len(candidates), dtype=np.int32)
        highs.addRow(
            float(lacking), highspy.kHighsInf, len(columns), columns, np.array(amounts, float)
        )
    highs.run()
    assert highs.getModelStatus() == highspy.HighsModelStatus.kOptimal
    best = round(highs.getInfo().objective_function_value)
    return best // scale, best % scale


@st.composite
def preemption_problems(
    draw: st.DrawFn, *, min_running: int = 0, max_running: int = 16
) -> PreemptionProblem:
    """A cluster mostly full of runs, a few preemptors; ties in run time are common."""
    names = draw(st.lists(st.sampled_from(RESOURCES), min_size=1, max_size=3, unique=True))
    running = []
    held = dict.fromkeys(names, 0)
    for index in range(draw(st.integers(min_running, max_running))):
        requests = {name: draw(st.integers(0, 6)) for name in names}
        for name, amount in requests.items():
            held[name] += amount
        running.append(
            RunningDeployment(
                id=f"r{index}",
                requests=requests,
                priority=draw(st.sampled_from((0, 0, 0, 0, 0, 0, 0, 1))),
                # Half-second steps make equal losses, and so ties, frequent.
                used_seconds=draw(st.integers(0, 40)) / 2,
                preemptions=draw(st.sampled_from((0, 0, 0, 0, 1, 2, 3, 4))),
            )
        )
    free = {name: draw(st.integers(0, 4)) for name in names}
    capacity = {name: held[name] + free[name] + draw(st.integers(0, 3)) for name in names}
    preemptors = [
        Preemptor(
            id=f"p{index}",
            requests={
                name: draw(st.integers(0, 16))
                for name in draw(st.lists(st.sampled_from(names), min_size=1, unique=True))
            },
        )
        for index in range(draw(st.integers(1, 3)))
    ]
    return PreemptionProblem(
        capacity=capacity,
        free=free,
        running=running,
        preemptors=preemptors,
        max_preemptions=draw(st.sampled_from((3, 3, 3, 0, 1, 2, 4))),
    )
