"""``simplismart watch``: the organization's changes as they happen, from ``GET /events``."""

import json
import math
import os
import time
from datetime import datetime
from typing import Any

import typer
from rich.text import Text

from simplismart.api.cli import output
from simplismart.api.cli.client import CliError, StreamBrokenError
from simplismart.api.cli.clusters import usage
from simplismart.api.cli.context import Context, context_of
from simplismart.api.cli.output import Format, console


def watch(ctx: typer.Context) -> None:
    """Print your organization's changes as they happen (Ctrl-C to stop); reconnects by itself."""
    context = context_of(ctx)
    pause = _reconnect_seconds()
    last_event_id: str | None = None
    with context.client() as client:
        try:
            while True:
                wait = pause
                try:
                    for event_id, name, data in client.events(last_event_id):
                        last_event_id = event_id or last_event_id
                        _print_change(context, name, data, client.server)
                except StreamBrokenError as error:
                    wait = max(pause, error.retry_after or 0.0)
                    output.errors.print(
                        f"the stream broke ({output.escaped(str(error))}); reconnecting",
                        soft_wrap=True,
                    )
                time.sleep(wait)
        except KeyboardInterrupt:
            return


def _reconnect_seconds() -> float:
    text = os.environ.get("SIMPLISMART_RECONNECT_SECONDS", "2")
    try:
        seconds = float(text)
    except ValueError:
        seconds = -1.0
    if not 0 <= seconds < math.inf:
        raise CliError(f"SIMPLISMART_RECONNECT_SECONDS must be seconds (0 or more), got {text!r}")
    return seconds


def _print_change(context: Context, name: str, data: str, server: str) -> None:
    try:
        body = json.loads(data)
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise CliError(f"{server}/events sent a change that is not a JSON object: {data[:80]!r}")
    _show_change(context, name, body)
    # Each change as it happens, also into a pipe (which Python would otherwise buffer).
    console.file.flush()


def _show_change(context: Context, name: str, body: dict[str, Any]) -> None:
    if context.output is Format.JSON:
        # JSON Lines: one change per line, for `jq` or a pipe that reads line by line.
        console.out(json.dumps({"event": name, **body}), highlight=False)
        return
    now = datetime.now().strftime("%H:%M:%S")
    # One line per change, however wide, so that a pipe into grep sees each one whole.
    if name == "reset":
        message = output.escaped(str(body.get("message")))
        console.print(Text.assemble(f"{now} ", (message, "yellow")), soft_wrap=True)
    elif name in ("deployment", "cluster") and isinstance(item := body.get(name), dict):
        detail = item.get("phase", "") if name == "deployment" else _usage_line(item)
        words = (name, item.get("name"), str(body.get("type", "")).lower(), detail)
        console.print(now, *(output.escaped(str(word)) for word in words), soft_wrap=True)


def _usage_line(cluster: dict[str, Any]) -> str:
    return " ".join(f"{r}={usage(cluster, r)}" for r in ("cpu", "ram", "gpu"))
