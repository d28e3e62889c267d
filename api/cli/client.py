"""HTTP calls to the API, with its error shape turned into one readable message."""

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import httpx

#: Seconds to wait for an answer; the stream waits forever between events.
TIMEOUT = 30.0


def path(*segments: str) -> str:
    """A URL path of ``segments``, each one segment whatever it holds: a name with '?', '#'
    or '/' must not reach another object (or drop its own tail)."""
    return "".join(f"/{quote(segment, safe='')}" for segment in segments)


#: Answers that waiting cures (the API busy, too many streams open): reconnect, not exit.
PASSING = frozenset({429, 503})


class CliError(Exception):
    """Something to tell the user and exit non-zero: the message says what and what to do."""


class Client:
    def __init__(self, server: str, token: str | None) -> None:
        self.server = server.rstrip("/")
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._http = httpx.Client(base_url=self.server, headers=headers, timeout=TIMEOUT)

    def call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.TransportError as error:
            raise CliError(f"cannot reach the API at {self.server}: {error}") from None
        return _answer(response)

    def get(self, path: str, **params: Any) -> dict[str, Any]:
        wanted = {key: value for key, value in params.items() if value is not None}
        return self.call("GET", path, params=wanted)

    def post(self, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        return self.call("POST", path, json=body)

    def pages(self, path: str, key: str, limit: int | None, **params: Any) -> list[Any]:
        """Every item of a paged list (or the first ``limit``), following ``continue``."""
        items: list[Any] = []
        token: str | None = None
        while True:
            size = 500 if limit is None else min(500, limit - len(items))
            page = self.get(path, limit=size, **{"continue": token}, **params)
            items.extend(page[key])
            token = page.get("continue")
            if not token or (limit is not None and len(items) >= limit):
                return items

    def events(self, last_event_id: str | None) -> Iterator[tuple[str, str, str]]:
        """``(id, event, data)`` of the stream until the server or the network ends it."""
        headers = {"Accept": "text/event-stream"}
        if last_event_id:
            headers["Last-Event-ID"] = last_event_id
        timeout = httpx.Timeout(TIMEOUT, read=None)
        try:
            with self._http.stream("GET", "/events", headers=headers, timeout=timeout) as stream:
                if stream.status_code != 200:
                    stream.read()
                    try:
                        _answer(stream)
                    except CliError as error:
                        if stream.status_code in PASSING:
                            raise ConnectionError(str(error).splitlines()[0]) from None
                        raise
                yield from _server_sent_events(stream.iter_lines())
        except httpx.TransportError as error:
            raise ConnectionError(str(error)) from None

    def close(self) -> None:
        self._http.close()


def _server_sent_events(lines: Iterator[str]) -> Iterator[tuple[str, str, str]]:
    event_id, name, data = "", "message", list[str]()
    for line in lines:
        if not line:
            if data:
                yield event_id, name, "\n".join(data)
            name, data = "message", []
            continue
        field, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if field == "id":
            event_id = value
        elif field == "event":
            name = value
        elif field == "data":
            data.append(value)


def _answer(response: httpx.Response) -> dict[str, Any]:
    try:
        body: Any = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        body = None
    if response.is_success:
        if not isinstance(body, dict) or "message" not in body:
            # Every answer of the API is a JSON object with a message: this is another server.
            raise CliError(
                f"{response.url} did not answer like a Simplismart API; is the server right?"
            )
        return body
    if body is None:
        body = {"message": response.text.strip() or response.reason_phrase}
    if not isinstance(body, dict):
        body = {"message": str(body)}
    message = str(body.get("message") or response.reason_phrase)
    fields = [f"  {e.get('field')}: {e.get('message')}" for e in body.get("errors") or []]
    if response.status_code == 401:
        message += "\n  (log in with: simplismart login)"
    raise CliError("\n".join([f"{message} [HTTP {response.status_code}]", *fields]))
