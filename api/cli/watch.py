"""``simplismart watch``: the organization's changes as they happen, from ``GET /events``."""

import json
import os
import time
from datetime import datetime
from typing import Any

import typer
from rich.text import Text

from simplismart.api.cli import output
from simplismart.api.cli.clusters import usage
from simplismart.api.cli.context import Context, context_of
from simplismart.api.cli.output import Format, console


def watch(ctx: typer.Context) -> None:
    """Print your organization's changes as they happen (Ctrl-C to stop); reconnects by itself."""
    context = context_of(ctx)
    last_event_id: str | None = None
    with context.client() as client:
        try:
            while True:
                try:
                    for event_id, name, data in client.events(last_event_id):
                        last_event_id = event_id or last_event_id
                        _print_change(context, name, data)
                except ConnectionError as error:
                    output.errors.print(f"the stream broke ({error}); reconnecting")
                _pause()
        except KeyboardInterrupt:
            return


def _pause() -> None:
    time.sleep(float(os.environ.get("SIMPLISMART_RECONNECT_SECONDS", "2")))


def _print_change(context: Context, name: str, data: str) -> None:
    _show_change(context, name, json.loads(data))
    # Each change as it happens, also into a pipe (which Python would otherwise buffer).
    console.file.flush()


def _show_change(context: Context, name: str, body: dict[str, Any]) -> None:
    if context.output is Format.JSON:
        console.print_json(json.dumps({"event": name, **body}))
        return
    now = datetime.now().strftime("%H:%M:%S")
    if name == "reset":
        console.print(Text.assemble(f"{now} ", (body["message"], "yellow")))
    elif name in ("deployment", "cluster"):
        item = body[name]
        detail = item.get("phase", "") if name == "deployment" else _usage_line(item)
        console.print(f"{now} {name} {item['name']} {body['type'].lower()} {detail}")


def _usage_line(cluster: dict[str, Any]) -> str:
    return " ".join(f"{r}={usage(cluster, r)}" for r in ("cpu", "ram", "gpu"))
