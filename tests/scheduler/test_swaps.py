"""Local search: the trades it must find, and the ones it must refuse."""

from __future__ import annotations

import time

import numpy as np
import pytest
from hypothesis import given, settings

from simplismart.scheduler import Candidate, Problem
from simplismart.scheduler.greedy import greedy, ranking
from simplismart.scheduler.knapsack import Knapsack
from simplismart.scheduler.objective import compare
from simplismart.scheduler.swaps import improve
from tests.scheduler.instances import problems

pytestmark = pytest.mark.unit


def _knapsack(capacity: int, items: dict[str, tuple[int, float]]) -> Knapsack:
    return Knapsack.from_problem(
        Problem(
            free={"cpu": capacity},
            candidates=[
                Candidate(id=name, requests={"cpu": cpu}, value=value)
                for name, (cpu, value) in items.items()
            ],
        )
    )


def _improved(knapsack: Knapsack, start: list[str]) -> set[str]:
    bits = np.array([name in start for name in knapsack.ids])
    improve(knapsack, bits, ranking(knapsack), time.perf_counter() + 5.0)
    return set(knapsack.selected(bits))


def test_a_one_for_one_trade_takes_the_better_item() -> None:
    knapsack = _knapsack(10, {"a": (6, 5.0), "b": (6, 9.0), "c": (4, 1.0)})
    assert _improved(knapsack, ["a", "c"]) == {"b", "c"}


def test_a_two_for_one_trade_frees_room_no_single_item_does() -> None:
    knapsack = _knapsack(10, {"a": (5, 3.0), "b": (5, 3.0), "c": (10, 10.0)})
    assert _improved(knapsack, ["a", "b"]) == {"c"}


def test_an_optimum_is_left_alone() -> None:
    knapsack = _knapsack(10, {"a": (5, 6.0), "b": (5, 6.0), "c": (10, 10.0)})
    assert _improved(knapsack, ["a", "b"]) == {"a", "b"}


@settings(max_examples=60, deadline=None)
@given(problem=problems())
def test_local_search_keeps_feasibility_and_never_loses(problem: Problem) -> None:
    knapsack = Knapsack.from_problem(problem)
    order = ranking(knapsack)
    start = greedy(knapsack, order)
    bits = start.copy()
    improve(knapsack, bits, order, time.perf_counter() + 5.0)
    assert knapsack.feasible(bits)
    assert compare(knapsack.scores(bits), knapsack.scores(start)) >= 0
