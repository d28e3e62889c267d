"""The no-starvation guarantee, over random arrival streams replayed in simulated time.

docs/scheduler.md argues it: with reservations on, once a deployment is first in queue
order its start is promised and backfilling never delays it; nothing of its tier that
arrived after it ever goes ahead of it; so it waits at most for the runs in front of it
(and for aging, when LOW). Each run lasts at most the longest run `LONGEST`, which gives
the bounds checked here.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from simulation import Arrival, Record, Settings, backfilling, simulate

from simplismart.scheduler.problem import HIGH, LOW

pytestmark = pytest.mark.unit

CAPACITY = {"cpu": 8, "gpu": 2}
LONGEST = 30.0
WINDOW = (5.0, LONGEST)


@st.composite
def streams(
    draw: st.DrawFn, priorities: tuple[int, ...] = (LOW, HIGH), declared: bool | None = None
) -> list[Arrival]:
    """Up to 25 arrivals: sizes up to the whole cluster, durations declared when ``declared``
    (None: some are, some not)."""
    count = draw(st.integers(1, 25))
    gaps = draw(
        st.lists(st.sampled_from((0.0, 0.5, 1.0, 3.0, 10.0)), min_size=count, max_size=count)
    )
    arrivals = []
    now = 0.0
    for index, gap in enumerate(gaps):
        now += gap
        seconds = float(draw(st.integers(int(WINDOW[0]), int(WINDOW[1]))))
        says = draw(st.booleans()) if declared is None else declared
        arrivals.append(
            Arrival(
                id=f"d{index}",
                at=now,
                requests={
                    "cpu": draw(st.integers(1, CAPACITY["cpu"])),
                    "gpu": draw(st.integers(0, CAPACITY["gpu"])),
                },
                priority=draw(st.sampled_from(priorities)),
                runs_seconds=seconds,
                declared_seconds=seconds if says else None,
            )
        )
    return arrivals


def _replay(arrivals: list[Arrival], reservations: int, aging: float | None) -> list[Record]:
    cluster = Settings(capacity=CAPACITY, aging_seconds=aging, window=WINDOW, time_limit=1.0)
    return simulate(arrivals, cluster, backfilling(reservations, estimate=False))


@settings(max_examples=60, deadline=None)
@given(arrivals=streams(priorities=(HIGH,)), reservations=st.integers(1, 3))
def test_one_tier_waits_only_for_the_runs_in_front(
    arrivals: list[Arrival], reservations: int
) -> None:
    """Each deployment becomes first within one longest run per deployment queued ahead of
    it when it arrived, and starts within one longest run of becoming first."""
    for record in _replay(arrivals, reservations, aging=None):
        assert record.started is not None
        bound = (record.queued_ahead + 1) * LONGEST
        assert record.started - record.arrival.at <= bound + 1e-6, record


@settings(max_examples=60, deadline=None)
@given(arrivals=streams(priorities=(HIGH,)), reservations=st.integers(1, 3))
def test_the_first_reservation_is_kept(arrivals: list[Arrival], reservations: int) -> None:
    """With one tier, a deployment starts no later than the first start it was promised:
    only what arrived before it can go ahead of it, and backfilling delays no promise."""
    for record in _replay(arrivals, reservations, aging=None):
        assert record.started is not None
        if record.first_promise is not None:
            assert record.started <= record.first_promise + 1e-6, record


@settings(max_examples=60, deadline=None)
@given(arrivals=streams(), reservations=st.integers(1, 3))
def test_aging_bounds_a_low_wait(arrivals: list[Arrival], reservations: int) -> None:
    """With aging, a LOW deployment turns HIGH after `aging` and is then behind only what
    arrived before it: each of those goes ahead at most once by starting and once by aging."""
    aging = 20.0
    for record in _replay(arrivals, reservations, aging=aging):
        assert record.started is not None
        waited = record.started - record.arrival.at
        promoted = aging if record.arrival.priority == LOW else 0.0
        assert waited <= promoted + (2 * record.queued_ahead + 1) * LONGEST + 1e-6, record


def test_arrivals_of_one_moment_wait_in_id_order_and_count_as_ahead() -> None:
    """Equal waits are ordered by id, so "d8" waits behind "d10", "d11" and "d12", which
    arrived with it: the bound counts them as queued ahead (it once counted only what was
    queued before that moment, and a random stream found a d8 over its bound)."""
    arrivals = [Arrival(f"r{n}", 0.0, {"cpu": 1}, HIGH, 5.0) for n in range(8)]
    arrivals += [
        Arrival("d8", 0.5, {"cpu": 1}, HIGH, 5.0),
        Arrival("d10", 0.5, {"cpu": 6}, HIGH, 26.0),
        Arrival("d11", 0.5, {"cpu": 1}, HIGH, 5.0),
        Arrival("d12", 0.5, {"cpu": 1}, HIGH, 5.0),
    ]
    records = {r.arrival.id: r for r in _replay(arrivals, 1, aging=None)}
    assert [records[n].queued_ahead for n in ("d10", "d11", "d12", "d8")] == [0, 1, 2, 3]
    assert [records[n].started for n in ("d10", "d11", "d12", "d8")] == [5.0, 5.0, 5.0, 10.0]


def _issue_scenario() -> list[Arrival]:
    """8 CPU: four 2-CPU HIGH runs of 3 s, then an 8-CPU HIGH, then a 2-CPU HIGH every 0.6 s."""
    arrivals = [Arrival(f"first-{n}", 0.0, {"cpu": 2}, HIGH, 3.0, 3.0) for n in range(4)]
    arrivals.append(Arrival("large", 0.1, {"cpu": 8}, HIGH, 3.0, 3.0))
    arrivals += [
        Arrival(f"stream-{n}", 0.2 + 0.6 * n, {"cpu": 2}, HIGH, 3.0, 3.0) for n in range(150)
    ]
    return arrivals


@pytest.mark.parametrize(("reservations", "starts_by"), [(1, 3.0), (3, 3.0)])
def test_a_large_request_starts_when_the_runs_ahead_end(
    reservations: int, starts_by: float
) -> None:
    records = {r.arrival.id: r for r in _replay(_issue_scenario(), reservations, aging=None)}
    assert records["large"].started == starts_by
    assert records["large"].first_promise == starts_by


def test_without_reservations_the_stream_starves_a_large_request() -> None:
    records = {r.arrival.id: r for r in _replay(_issue_scenario(), 0, aging=None)}
    large = records["large"]
    assert large.started is not None
    overtaken = [
        r
        for r in records.values()
        if r.arrival.at > large.arrival.at and r.started is not None and r.started < large.started
    ]
    assert len(overtaken) >= 20
    assert large.started > 15.0
