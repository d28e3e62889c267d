"""The vectorised fill and drop against their one-item-at-a-time definitions."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simplismart.scheduler import Candidate, Problem
from simplismart.scheduler.greedy import drop, fill, ranking
from simplismart.scheduler.knapsack import Knapsack
from tests.scheduler.instances import problems

pytestmark = pytest.mark.unit


@settings(max_examples=100, deadline=None)
@given(problem=problems(max_candidates=12), data=st.data())
def test_fill_adds_exactly_what_first_fit_adds(problem: Problem, data: st.DataObject) -> None:
    knapsack = Knapsack.from_problem(problem)
    order = np.array(data.draw(st.permutations(range(knapsack.size))), dtype=np.intp)
    bits = knapsack.empty()
    fill(knapsack, bits, order)
    expected = knapsack.empty()
    for item in order:
        expected[item] = True
        if not knapsack.feasible(expected):
            expected[item] = False
    assert bits.tolist() == expected.tolist()


@settings(max_examples=100, deadline=None)
@given(problem=problems(max_candidates=12), data=st.data())
def test_drop_removes_the_worst_ranked_until_feasible(
    problem: Problem, data: st.DataObject
) -> None:
    knapsack = Knapsack.from_problem(problem)
    bits = np.array(
        data.draw(st.lists(st.booleans(), min_size=knapsack.size, max_size=knapsack.size)),
        dtype=bool,
    )
    order = ranking(knapsack)
    expected = bits.copy()
    for item in order[::-1]:
        if knapsack.feasible(expected):
            break
        expected[item] = False
    drop(knapsack, bits, order)
    assert bits.tolist() == expected.tolist()
    assert knapsack.feasible(bits)


def test_ranking_puts_high_demand_before_any_low_demand() -> None:
    problem = Problem(
        free={"cpu": 100},
        candidates=[
            Candidate(id="low-dense", requests={"cpu": 1}),
            Candidate(id="high-sparse", requests={"cpu": 90}, priority=1),
            Candidate(id="idle", requests={"cpu": 0}),
        ],
    )
    knapsack = Knapsack.from_problem(problem)
    assert [knapsack.ids[j] for j in ranking(knapsack)] == ["high-sparse", "low-dense", "idle"]
