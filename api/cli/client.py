"""HTTP calls to the API, with its error shape turned into one readable message."""

import json
import math
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import httpx

from simplismart.api.cli.clock import SERVER_CLOCK

#: Seconds to wait for an answer.
TIMEOUT = 30.0
#: The longest Retry-After obeyed: a server asking for an hour (or for ever) is not left to
#: stop `watch` silently; past this, it is asked again.
MAX_RETRY_AFTER = 60.0
#: Seconds the event stream may stay silent: three of the server's heartbeats (15 s). A
#: connection that died without a word (a laptop's sleep, a proxy's idle drop) sends nothing,
#: and only this ends the wait for it.
STREAM_SILENCE = 45.0


def path(*segments: str) -> str:
    """A URL path of ``segments``, each one segment whatever it holds: a name with '?', '#'
    or '/' must not reach another object (or drop its own tail), nor may '.' or '..', which
    URLs resolve away (``/clusters/.`` is ``/clusters``)."""
    return "".join(f"/{quote(segment, safe='').replace('.', '%2E')}" for segment in segments)


def passing(status: int) -> bool:
    """Whether waiting cures an answer (the API busy or restarting behind its proxy, too many
    streams open): a stream reconnects, rather than exit."""
    return status in (408, 429) or status >= 500


class CliError(Exception):
    """Something to tell the user and exit non-zero: the message says what and what to do."""


class StreamBrokenError(ConnectionError):
    """The event stream ended or was refused for now: reconnect, after ``retry_after`` seconds
    if the server asked for that."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Client:
    def __init__(self, server: str, token: str | None) -> None:
        self.server = server.rstrip("/")
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._http = httpx.Client(
            base_url=self.server,
            headers=headers,
            timeout=TIMEOUT,
            event_hooks={"response": [_learn_clock]},
        )

    def call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.TransportError as error:
            raise CliError(f"cannot reach the API at {self.server}: {error}") from None
        except httpx.HTTPError as error:  # an answer that cannot be read (its encoding)
            raise CliError(f"{self.server} sent an answer that cannot be read: {error}") from None
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
        seen: set[str] = set()
        while True:
            size = 500 if limit is None else min(500, limit - len(items))
            page = self.get(path, limit=size, **{"continue": token}, **params)
            if not isinstance(page.get(key), list):
                raise CliError(f"{self.server}{path} did not answer like a Simplismart API")
            items.extend(page[key])
            token = page.get("continue")
            if not token or (limit is not None and len(items) >= limit):
                return items if limit is None else items[:limit]
            # A token again, or an empty page that goes on, would page for ever.
            if not isinstance(token, str) or token in seen or not page[key]:
                raise CliError(f"{self.server}{path} pages without end (continue {token!r})")
            seen.add(token)

    def events(self, last_event_id: str | None) -> Iterator[tuple[str, str, str]]:
        """``(id, event, data)`` of the stream until the server or the network ends it."""
        headers = {"Accept": "text/event-stream"}
        if last_event_id:
            headers["Last-Event-ID"] = last_event_id
        timeout = httpx.Timeout(TIMEOUT, read=STREAM_SILENCE)
        try:
            with self._http.stream("GET", "/events", headers=headers, timeout=timeout) as stream:
                if stream.status_code != 200:
                    stream.read()
                    try:
                        _answer(stream)
                    except CliError as error:
                        if passing(stream.status_code):
                            first = str(error).splitlines()[0]
                            raise StreamBrokenError(first, _retry_after(stream)) from None
                        raise
                kind = stream.headers.get("content-type", "")
                if not kind.startswith("text/event-stream"):
                    raise CliError(f"{stream.url} did not answer like a Simplismart API")
                yield from _server_sent_events(stream.iter_lines())
        except httpx.TimeoutException:
            raise StreamBrokenError(f"nothing heard for {STREAM_SILENCE:.0f} s") from None
        except httpx.HTTPError as error:
            raise StreamBrokenError(str(error)) from None

    def close(self) -> None:
        self._http.close()


def _learn_clock(response: httpx.Response) -> None:
    SERVER_CLOCK.learn(response.headers.get("date"))


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


def _retry_after(response: httpx.Response) -> float | None:
    try:
        seconds = float(response.headers.get("retry-after", ""))
    except ValueError:
        return None  # absent, or an HTTP date: the usual pause then
    return None if math.isnan(seconds) else min(MAX_RETRY_AFTER, max(0.0, seconds))


def _answer(response: httpx.Response) -> dict[str, Any]:
    try:
        body: Any = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        body = None
    status = response.status_code
    if response.is_redirect and "location" in response.headers:
        # Not followed: the token would go with it. Mostly http:// answered by https://.
        raise CliError(
            f"{response.url} redirects to {response.headers['location']} [HTTP {status}]; "
            "give that server with --server (and log in there)"
        )
    if not isinstance(body, dict) or "message" not in body:
        # Every answer of the API is a JSON object with a message: this is another server (a
        # proxy's error page, a web server on that port).
        kind = response.headers.get("content-type", "no content type").split(";")[0]
        if status >= 500:
            raise CliError(
                f"{response.url} answered HTTP {status} ({kind}) without the API's answer: the "
                "API, or a proxy in front of it, is failing; try again later"
            )
        raise CliError(
            f"{response.url} did not answer like a Simplismart API (HTTP {status}, {kind}); "
            "is the server right?"
        )
    if response.is_success:
        return body
    lines = [f"{body['message'] or response.reason_phrase} [HTTP {status}]"]
    errors = body.get("errors")
    for error in errors if isinstance(errors, list) else []:
        if isinstance(error, dict):
            lines.append(f"  {error.get('field')}: {error.get('message')}")
    if status == 401 and response.url.path != "/login":
        lines.append("  (log in with: simplismart login)")
    raise CliError("\n".join(lines))
