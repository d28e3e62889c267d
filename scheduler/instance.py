"""The JSON instance file the CLI reads, turned into a `Problem`.

The file says ``capacity`` where the API says ``free`` (a reservation's ``capacity`` is
its own); errors are reported in the file's vocabulary so the message points at what the
user wrote.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from simplismart.scheduler.problem import Candidate, Problem, ProblemError, Reservation

_TOP_FIELDS = {"capacity", "total", "aging_seconds", "candidates", "reservations"}
_CANDIDATE_FIELDS = {"id", "requests", "priority", "waited_seconds", "value", "max_seconds"}
_RESERVATION_FIELDS = {"in_seconds", "capacity"}


def load(path: Path) -> Problem:
    """Read and validate an instance file; every failure is a ProblemError."""
    try:
        text = path.read_text(encoding="utf-8-sig")  # editors may write a byte-order mark
    except (OSError, UnicodeDecodeError) as error:
        raise ProblemError(str(path), f"cannot read: {error}") from error
    try:
        document = json.loads(text, object_pairs_hook=_unique)
    except (ValueError, RecursionError) as error:
        # ValueError: JSONDecodeError, and integers of more digits than Python converts.
        raise ProblemError(str(path), f"not JSON: {error}") from error
    return parse(document)


def _unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object whose keys are unique: of two values for one key, neither is dropped
    silently (the parser would keep the last)."""
    seen: set[str] = set()
    for key, _ in pairs:
        if key in seen:
            raise ValueError(f"duplicate key {key!r}")
        seen.add(key)
    return dict(pairs)


def parse(document: Any) -> Problem:
    """Build the problem a decoded instance document describes."""
    _check_object("instance", document, _TOP_FIELDS, required=("capacity", "candidates"))
    entries = document["candidates"]
    if not isinstance(entries, list):
        raise ProblemError("candidates", "must be a list")
    candidates = []
    for index, entry in enumerate(entries):
        _check_object(f"candidates[{index}]", entry, _CANDIDATE_FIELDS, required=("id", "requests"))
        candidates.append(Candidate(**entry))
    entries = document.get("reservations", [])
    if not isinstance(entries, list):
        raise ProblemError("reservations", "must be a list")
    reservations = []
    for index, entry in enumerate(entries):
        _check_object(
            f"reservations[{index}]",
            entry,
            _RESERVATION_FIELDS,
            required=("in_seconds", "capacity"),
        )
        reservations.append(Reservation(**entry))
    try:
        return Problem(
            free=document["capacity"],
            candidates=candidates,
            total=document.get("total"),
            aging_seconds=document.get("aging_seconds"),
            reservations=reservations,
        )
    except ProblemError as error:
        if error.field == "free" or error.field.startswith("free."):
            raise ProblemError("capacity" + error.field[len("free") :], error.reason) from None
        raise


def _check_object(field: str, value: Any, allowed: set[str], *, required: tuple[str, ...]) -> None:
    if not isinstance(value, dict):
        raise ProblemError(field, "must be a JSON object")
    for name in required:
        if name not in value:
            raise ProblemError(f"{field}.{name}" if field != "instance" else name, "missing")
    for name in value:
        if name not in allowed:
            raise ProblemError(f"{field}.{name}" if field != "instance" else name, "unknown field")
