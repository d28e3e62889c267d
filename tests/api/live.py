"""The app served by a real uvicorn on a loopback port, and a reader of its event stream.

The TestClient cannot hold a stream open while the test makes other calls; a real server can,
and it is what browsers and the CLI talk to.
"""

import json
import queue
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI
from harness.ports import free_port


@contextmanager
def serve(app: FastAPI) -> Iterator[str]:
    """``app`` on http://127.0.0.1:<free port> until the block ends."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            app, host="127.0.0.1", port=port, log_level="warning", timeout_graceful_shutdown=1
        )
    )
    thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


@dataclass(frozen=True)
class Event:
    id: str
    name: str
    data: dict[str, Any]


class EventStream:
    """``GET /events`` read on a thread; :meth:`next` waits for the next event."""

    def __init__(self, base_url: str, token: str, last_event_id: str | None = None) -> None:
        headers = {b"Authorization": f"Bearer {token}".encode()}
        if last_event_id is not None:
            headers[b"Last-Event-ID"] = last_event_id.encode()  # may hold what ASCII does not
        self._client = httpx.Client(base_url=base_url, timeout=httpx.Timeout(10, read=None))
        self._response = self._client.send(
            self._client.build_request("GET", "/events", headers=headers), stream=True
        )
        self.status_code = self._response.status_code
        self.last_id: str | None = None
        #: Set when the server ends the stream (not when the test closes it).
        self.ended = threading.Event()
        self._events: queue.Queue[Event] = queue.Queue()
        self._thread = threading.Thread(target=self._read, daemon=True)
        if self.status_code == 200:
            self._thread.start()

    def _read(self) -> None:
        event_id, name, data = "", "message", list[str]()
        try:
            for line in self._response.iter_lines():
                if line.startswith("id:"):
                    event_id = line[3:].strip()
                elif line.startswith("event:"):
                    name = line[6:].strip()
                elif line.startswith("data:"):
                    data.append(line[5:].strip())
                elif not line:
                    if data:
                        self._events.put(Event(event_id, name, json.loads("\n".join(data))))
                    name, data = "message", []
        except httpx.HTTPError:
            return  # closed by the test
        self.ended.set()

    def next(self, timeout: float = 10) -> Event:
        event = self._events.get(timeout=timeout)
        self.last_id = event.id
        return event

    def received(self) -> list[Event]:
        """The events received and not yet taken, without waiting for more."""
        events: list[Event] = []
        while not self._events.empty():
            events.append(self._events.get_nowait())
        return events

    def until(self, done: Any, timeout: float = 15) -> list[Event]:
        """Events until ``done(events so far)`` is true."""
        seen: list[Event] = []
        deadline = time.monotonic() + timeout
        while not done(seen):
            seen.append(self.next(max(0.01, deadline - time.monotonic())))
        return seen

    def close(self) -> None:
        self._response.close()
        self._client.close()
