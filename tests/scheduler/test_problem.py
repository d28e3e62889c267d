"""Validation: a bad problem is refused at construction, naming the field."""

from __future__ import annotations

from typing import Any

import pytest

from simplismart.scheduler import Candidate, Problem, ProblemError

pytestmark = pytest.mark.unit


def _problem(**changes: Any) -> Problem:
    fields: dict[str, Any] = {
        "free": {"cpu": 4},
        "candidates": [Candidate(id="a", requests={"cpu": 1})],
    }
    return Problem(**(fields | changes))


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"free": {"cpu": -1}}, "free.cpu"),
        ({"free": {"cpu": 1.5}}, "free.cpu"),
        ({"free": {"gpu": True}}, "free.gpu"),
        ({"free": ["cpu"]}, "free"),
        ({"total": {"cpu": 3}}, "total.cpu"),
        ({"total": {"ram": 3}}, "total.cpu"),
        ({"aging_seconds": -5.0}, "aging_seconds"),
        ({"aging_seconds": float("nan")}, "aging_seconds"),
        ({"candidates": "ab"}, "candidates"),
        ({"candidates": [{"id": "a"}]}, "candidates[0]"),
        ({"candidates": [Candidate(id="", requests={})]}, "candidates[0].id"),
        (
            {"candidates": [Candidate(id="a", requests={}), Candidate(id="a", requests={})]},
            "candidates[1].id",
        ),
        (
            {
                "candidates": [
                    Candidate(id="a", requests={}),
                    Candidate(id="b", requests={"cpu": 1}),
                    Candidate(id="c", requests={}),
                    Candidate(id="d", requests={"cpu": -2}),
                ]
            },
            "candidates[3].requests.cpu",
        ),
        ({"candidates": [Candidate(id="a", requests={"": 1})]}, "candidates[0].requests."),
        ({"candidates": [Candidate(id="a", requests={}, priority=2)]}, "candidates[0].priority"),
        (
            {"candidates": [Candidate(id="a", requests={}, priority=True)]},
            "candidates[0].priority",
        ),
        (
            {"candidates": [Candidate(id="a", requests={}, waited_seconds=-1.0)]},
            "candidates[0].waited_seconds",
        ),
        ({"candidates": [Candidate(id="a", requests={}, value=-1.0)]}, "candidates[0].value"),
        # Past what the solvers' arithmetic holds: an overflowed sum would pass as feasible.
        ({"free": {"cpu": 2**63 - 1}, "candidates": []}, "free.cpu"),
        (
            {"candidates": [Candidate(id="a", requests={"cpu": 2**62})]},
            "candidates[0].requests.cpu",
        ),
        ({"candidates": [Candidate(id="a", requests={}, value=1e308)]}, "candidates[0].value"),
        (
            {"candidates": [Candidate(id="a", requests={}, waited_seconds=10**400)]},
            "candidates[0].waited_seconds",
        ),
        (
            {
                "candidates": [
                    Candidate(id="a", requests={}, value=1.0),
                    Candidate(id="b", requests={}),
                ]
            },
            "candidates[1].value",
        ),
    ],
)
def test_a_bad_field_is_named(changes: dict[str, Any], field: str) -> None:
    with pytest.raises(ProblemError) as raised:
        _problem(**changes)
    assert raised.value.field == field
    assert str(raised.value).startswith(f"{field}: ")
    assert isinstance(raised.value, ValueError)


def test_the_message_says_what_is_expected() -> None:
    with pytest.raises(ProblemError, match=r"^free\.cpu: must be a non-negative integer$"):
        _problem(free={"cpu": -1})


def test_explicit_values_need_every_candidate_to_carry_one() -> None:
    assert not _problem().explicit_values
    assert not _problem(candidates=[]).explicit_values
    valued = _problem(candidates=[Candidate(id="a", requests={}, value=0.0)])
    assert valued.explicit_values


@pytest.mark.parametrize(
    ("priority", "waited", "aging", "high"),
    [
        (1, 0.0, None, True),
        (0, 1e9, None, False),
        (0, 601.0, 600.0, True),
        (0, 600.0, 600.0, False),
    ],
)
def test_effective_priority_ages_low_candidates(
    priority: int, waited: float, aging: float | None, *, high: bool
) -> None:
    candidate = Candidate(id="a", requests={}, priority=priority, waited_seconds=waited)
    problem = _problem(candidates=[candidate], aging_seconds=aging)
    assert (problem.effective_priority(candidate) == 1) is high
