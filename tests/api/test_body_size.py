"""Finding 6: oversized bodies are refused with 413 before they are read."""

import asyncio
import types
from collections.abc import Iterator

import pytest
from starlette.types import Message, Receive, Scope, Send

from simplismart.api import bodylimit
from tests.api.conftest import ApiFactory


def test_a_declared_oversized_body_is_refused(api_with: ApiFactory) -> None:
    api = api_with(max_body_bytes=4096)
    answer = api.call(
        "POST",
        "/login",
        content=b'{"username": "' + b"a" * 8192 + b'", "password": "x"}',
        headers={"Content-Type": "application/json"},
    )
    assert answer.status_code == 413
    assert answer.json()["errors"] == [{"field": "body", "message": "must be at most 4096 bytes"}]


def test_a_chunked_oversized_body_is_refused_once_it_passes_the_limit(
    api_with: ApiFactory,
) -> None:
    api = api_with(max_body_bytes=4096)
    sent: list[int] = []

    def chunks() -> Iterator[bytes]:
        for _ in range(64):
            sent.append(1)
            yield b" " * 1024

    answer = api.call(
        "POST", "/register", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert answer.status_code == 413
    assert "larger than 4096 bytes" in answer.json()["message"]
    assert answer.json()["errors"] == [{"field": "body", "message": "must be at most 4096 bytes"}]


def test_a_body_within_the_limit_is_served(api_with: ApiFactory) -> None:
    api = api_with(max_body_bytes=4096)
    assert api.call("POST", "/login", json={"username": "x", "password": "y"}).status_code == 401


def test_a_body_that_does_not_arrive_in_time_is_408(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bodylimit, "BODY_SECONDS", 0.1)

    async def scenario() -> list[Message]:
        async def app(_scope: Scope, _receive: Receive, _send: Send) -> None:
            raise AssertionError("the body never arrived: the app must not be called")

        sent: list[Message] = []
        first = [{"type": "http.request", "body": b"{", "more_body": True}]

        async def receive() -> Message:
            if first:
                return first.pop()
            await asyncio.Event().wait()  # the rest never comes
            raise AssertionError("unreachable")

        async def send(message: Message) -> None:
            sent.append(message)

        settings = types.SimpleNamespace(max_body_bytes=1024)
        state = types.SimpleNamespace(services=types.SimpleNamespace(settings=settings))
        scope = {"type": "http", "headers": [], "app": types.SimpleNamespace(state=state)}
        await bodylimit.BodySizeLimit(app)(scope, receive, send)
        return sent

    sent = asyncio.run(scenario())
    assert sent[0]["status"] == 408
    assert b"did not arrive within" in sent[1]["body"]
