"""What commands print: Rich tables for people, or the API's JSON with ``--output json``."""

import json
from collections.abc import Callable, Sequence
from datetime import datetime
from enum import StrEnum
from typing import Any

from rich.console import Console
from rich.table import Table

from simplismart.api.cli.clock import SERVER_CLOCK

# Text from the API (names, images, messages) is printed as given: never read as Rich markup
# ('[/x]' in an image would crash the table, '[red]' vanish) or emoji codes.
console = Console(markup=False, emoji=False)
errors = Console(stderr=True, markup=False, emoji=False)


#: Columns of names: folded onto more lines in a narrow terminal, never cut to "na…", since a
#: name is what the next command is given. The others are cut rather than make every row tall.
NAMES = frozenset({"name", "cluster", "username"})


class Format(StrEnum):
    TABLE = "table"
    JSON = "json"


def print_json(value: Any) -> None:
    console.print_json(json.dumps(value))


def table(
    title: str | None,
    rows: Sequence[dict[str, Any]],
    columns: dict[str, Callable[[dict[str, Any]], object]],
) -> None:
    """One row per item; each column is a heading and how to read it from the item."""
    shown = Table(title=_title(title), title_justify="left")
    for heading in columns:
        shown.add_column(heading, overflow="fold" if heading in NAMES else "ellipsis")
    for row in rows:
        shown.add_row(*(_text(read(row)) for read in columns.values()))
    console.print(shown)


def fields(
    title: str, item: dict[str, Any], names: dict[str, Callable[[dict[str, Any]], object]]
) -> None:
    """One item as heading: value lines."""
    shown = Table(title=_title(title), title_justify="left", show_header=False)
    shown.add_column(style="bold")
    shown.add_column(overflow="fold")
    for heading, read in names.items():
        shown.add_row(heading, _text(read(item)))
    console.print(shown)


def _title(title: str | None) -> str | None:
    """The API's message as a table's title: text, escaped like every cell."""
    return None if title is None else escaped(str(title))


def _text(value: object) -> str:
    """The value as a cell."""
    return "—" if value is None or value == "" else escaped(str(value))


def escaped(text: str) -> str:
    """``text`` with its control and format characters escaped (``\\x1b``, ``\\u202e``): written
    raw, text from the server (stored before the API refused it, or sent by something that is
    not the API) would run as escape sequences in the reader's terminal."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode() for c in text)


def ago(moment: object) -> str | None:
    """``3m 20s`` since an RFC 3339 moment; None if there is none (or it is not one)."""
    seconds = _parse(moment)
    return None if seconds is None else duration(_now() - seconds)


def until(moment: object, passed: str) -> str | None:
    """What is left until a moment (``1m 5s``); ``passed`` once it is less than a second away
    (an ETA is "due now", a run "ending"), as the dashboard says, rather than a frozen ``0s``."""
    seconds = _parse(moment)
    if seconds is None:
        return None
    left = seconds - _now()
    return duration(left) if left >= 1 else passed


def duration(seconds: float) -> str:
    whole = max(0, round(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h {minutes}m"
    return f"{minutes}m {secs}s" if minutes else f"{secs}s"


def priority(value: int) -> str:
    return "HIGH" if value == 1 else "LOW"


def _parse(moment: object) -> float | None:
    """The moment in POSIX seconds. Statuses are free-form to the API (another version of the
    operator may write them): what is not a moment is shown as none."""
    if not isinstance(moment, str):
        return None
    try:
        return datetime.fromisoformat(moment.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def _now() -> float:
    return SERVER_CLOCK.now()
