"""The command line, run as a user would: a separate process reading a file."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.unit

INSTANCE: dict[str, Any] = {
    "capacity": {"cpu": 16, "ram": 64, "gpu": 4},
    "aging_seconds": 600,
    "candidates": [
        {
            "id": "d1",
            "requests": {"cpu": 2, "ram": 8, "gpu": 1},
            "priority": 1,
            "waited_seconds": 12.5,
        },
        {"id": "d2", "requests": {"cpu": 16}, "waited_seconds": 700},
        {"id": "d3", "requests": {"cpu": 4, "ram": 8}},
    ],
}


def _run(tmp_path: Path, document: Any, *options: str) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "instance.json"
    path.write_text(document if isinstance(document, str) else json.dumps(document))
    # From tmp_path: the repository root holds folders named like standard modules.
    return subprocess.run(
        [sys.executable, "-m", "simplismart.scheduler", "solve", str(path), *options],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
        timeout=120,
    )


@pytest.mark.parametrize("strategy", ["auto", "combinations", "genetic", "optimal"])
def test_solves_an_instance(tmp_path: Path, strategy: str) -> None:
    result = _run(tmp_path, INSTANCE, "--strategy", strategy, "--seed", "1", "--time-limit", "5")
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    # d2 waited past aging_seconds, so it is HIGH, and its whole-CPU demand beats d1's.
    assert answer["selected"] == ["d2"]
    assert answer["strategy"] == ("combinations" if strategy == "auto" else strategy)
    assert answer["objective"] == {"high": 1.0, "low": 0.0, "waited_seconds": 700.0}
    assert answer["proven_optimal"] is (strategy != "genetic")
    assert {"duration_ms", "gap", "ran", "reason"} <= answer.keys()


def test_explicit_values_make_a_plain_knapsack(tmp_path: Path) -> None:
    document = {
        "capacity": {"cpu": 10},
        "candidates": [
            {"id": "a", "requests": {"cpu": 6}, "value": 10, "priority": 1},
            {"id": "b", "requests": {"cpu": 5}, "value": 7},
            {"id": "c", "requests": {"cpu": 5}, "value": 7},
        ],
    }
    answer = json.loads(_run(tmp_path, document).stdout)
    assert answer["selected"] == ["b", "c"]
    assert answer["objective"] == {"value": 14.0}


def test_a_reservation_keeps_what_outlives_it_out(tmp_path: Path) -> None:
    """8 CPU free now, but in 10 s a reserved start leaves 2 for what still runs then."""
    document = {
        "capacity": {"cpu": 8},
        "reservations": [{"in_seconds": 10, "capacity": {"cpu": 2}}],
        "candidates": [
            {"id": "long", "requests": {"cpu": 6}, "priority": 1, "max_seconds": 60},
            {"id": "short", "requests": {"cpu": 6}, "max_seconds": 10},
            {"id": "small", "requests": {"cpu": 2}},
        ],
    }
    for strategy in ("combinations", "genetic", "optimal"):
        answer = json.loads(_run(tmp_path, document, "--strategy", strategy, "--seed", "1").stdout)
        assert answer["selected"] == ["short", "small"], strategy


@pytest.mark.parametrize(
    ("document", "named"),
    [
        ("{not json", "not JSON"),
        ([], "instance: must be a JSON object"),
        ({"candidates": []}, "capacity: missing"),
        ({"capacity": {"cpu": -1}, "candidates": []}, "capacity.cpu: must be a non-negative"),
        ({"capacity": {}, "candidates": {}}, "candidates: must be a list"),
        ({"capacity": {}, "candidates": [], "extra": 1}, "extra: unknown field"),
        ({"capacity": {}, "candidates": [{"id": "a"}]}, "candidates[0].requests: missing"),
        (
            {"capacity": {}, "candidates": [{"id": "a", "requests": {}, "priority": "high"}]},
            "candidates[0].priority",
        ),
        (
            {"capacity": {}, "candidates": [{"id": "a", "requests": {"cpu": 2.5}}]},
            "candidates[0].requests.cpu",
        ),
        (
            {"capacity": {}, "candidates": [{"id": "a", "requests": {}, "max_seconds": -1}]},
            "candidates[0].max_seconds",
        ),
        ({"capacity": {}, "candidates": [], "reservations": {}}, "reservations: must be a list"),
        (
            {"capacity": {}, "candidates": [], "reservations": [{"in_seconds": 1}]},
            "reservations[0].capacity: missing",
        ),
        (
            {"capacity": {}, "candidates": [], "reservations": [{"in_seconds": 1, "capacity": []}]},
            "reservations[0].capacity: must be a mapping",
        ),
        (
            {
                "capacity": {},
                "candidates": [],
                "reservations": [{"in_seconds": 1, "capacity": {"cpu": -2}}],
            },
            "reservations[0].capacity.cpu",
        ),
        (
            {
                "capacity": {},
                "candidates": [],
                "reservations": [{"in_seconds": "soon", "capacity": {}}],
            },
            "reservations[0].in_seconds",
        ),
        (
            {
                "capacity": {"cpu": 4},
                "candidates": [{"id": "a", "requests": {"cpu": 2}}],
                "reservations": [{"in_seconds": 1, "capacity": {"cpuu": 100}}],
            },
            "reservations[0].capacity.cpuu: not a resource of free or total",
        ),
    ],
)
def test_a_bad_instance_exits_2_naming_the_field(tmp_path: Path, document: Any, named: str) -> None:
    result = _run(tmp_path, document)
    assert result.returncode == 2
    assert named in result.stderr
    assert result.stdout == ""


@pytest.mark.parametrize(
    ("options", "named"),
    [
        (("--time-limit", "nan"), "time_limit"),
        (("--time-limit", "inf"), "time_limit"),
        (("--strategy", "optimal", "--time-limit", "1e10"), "time_limit"),
        (("--strategy", "genetic", "--seed", "-5"), "seed"),
    ],
)
def test_a_bad_option_exits_2_naming_it(
    tmp_path: Path, options: tuple[str, ...], named: str
) -> None:
    result = _run(tmp_path, INSTANCE, *options)
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith(f"error: {named}: ")


@pytest.mark.parametrize(
    "text",
    [
        '{"capacity": {"cpu": 1' + "0" * 5000 + "}, " + '"candidates": []}',  # too many digits
        "[" * 100_000,  # nested deeper than the parser goes
    ],
)
def test_json_python_cannot_read_exits_2(tmp_path: Path, text: str) -> None:
    result = _run(tmp_path, text)
    assert result.returncode == 2
    assert "not JSON" in result.stderr


def test_a_key_given_twice_exits_2_naming_it(tmp_path: Path) -> None:
    result = _run(tmp_path, '{"capacity": {"cpu": 4, "cpu": 1}, "candidates": []}')
    assert result.returncode == 2
    assert "duplicate key 'cpu'" in result.stderr


def test_a_byte_order_mark_is_read_past(tmp_path: Path) -> None:
    result = _run(tmp_path, "\ufeff" + json.dumps(INSTANCE))
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["selected"]


def test_an_unreadable_file_exits_2(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "simplismart.scheduler", "solve", str(tmp_path / "absent.json")],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
        timeout=120,
    )
    assert result.returncode == 2
    assert "absent.json: cannot read" in result.stderr


def test_help_documents_the_format(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "simplismart.scheduler", "solve", "--help"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=True,
        timeout=120,
    )
    assert "--strategy" in result.stdout
    assert '"capacity"' in result.stdout
