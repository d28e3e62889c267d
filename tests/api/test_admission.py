"""Admission: a burst of requests is served or turned away, never left to jam the database pool."""

import asyncio
from collections import Counter
from typing import Any

import httpx
import pytest
from starlette.types import Message, Receive, Scope, Send

from simplismart.api import admission
from simplismart.api.admission import Admission
from tests.api.support import Api

BURST = 300


def test_a_burst_of_members_requests_is_served(live: Api) -> None:
    # 300 at once used to leave the 40 worker threads waiting for pooled connections held by
    # requests waiting for a worker thread: nothing answered until the pool's 30 s timeouts.
    org = live.organization()
    base_url = str(live.client.base_url)

    async def burst() -> Counter[int]:
        limits = httpx.Limits(max_connections=BURST)
        async with httpx.AsyncClient(base_url=base_url, timeout=60, limits=limits) as client:
            answers = await asyncio.gather(
                *(
                    client.get(path, headers=caller.headers)
                    for _ in range(BURST // 3)
                    for path, caller in (
                        ("/me", org.viewer),
                        ("/clusters", org.developer),
                        ("/members", org.admin),
                    )
                )
            )
        return Counter(answer.status_code for answer in answers)

    assert asyncio.run(burst()) == {200: BURST}
    assert live.call("GET", "/healthz").status_code == 200


class _Held:
    """An app whose requests stay inside until released; optionally an event stream."""

    def __init__(self, stream: bool = False) -> None:
        self.inside = 0
        self.release = asyncio.Event()
        self._content_type = b"text/event-stream" if stream else b"application/json"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.inside += 1
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", self._content_type)],
            }
        )
        await self.release.wait()
        await send({"type": "http.response.body", "body": b"{}"})


class _Settings:
    api_concurrency = 1


class _State:
    class services:  # noqa: N801 - stands for the app's `state.services`
        settings = _Settings


class _App:
    state = _State


async def _request(gate: Admission, path: str = "/me") -> list[Message]:
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b""}

    async def send(message: Message) -> None:
        sent.append(message)

    scope: dict[str, Any] = {"type": "http", "path": path, "app": _App}
    await gate(scope, receive, send)
    return sent


@pytest.mark.unit
def test_past_a_full_line_a_request_is_turned_away_at_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(admission, "WAITING_PER_SLOT", 2)

    async def scenario() -> None:
        app = _Held()
        gate = Admission(app)
        first = asyncio.create_task(_request(gate))
        waiting = [asyncio.create_task(_request(gate)) for _ in range(2)]
        await asyncio.sleep(0.05)
        assert app.inside == 1  # one slot: the others wait in line
        refused = await asyncio.wait_for(_request(gate), 1)
        assert refused[0]["status"] == 503
        assert (b"retry-after", b"1") in refused[0]["headers"]
        assert b"the API is busy" in refused[1]["body"]
        app.release.set()
        for task in (first, *waiting):
            assert (await asyncio.wait_for(task, 1))[0]["status"] == 200
        assert app.inside == 3

    asyncio.run(scenario())


@pytest.mark.unit
def test_the_liveness_probe_is_answered_past_a_full_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(admission, "WAITING_PER_SLOT", 0)

    async def scenario() -> None:
        app = _Held()
        gate = Admission(app)
        first = asyncio.create_task(_request(gate))
        await asyncio.sleep(0.05)
        assert (await asyncio.wait_for(_request(gate), 1))[0]["status"] == 503
        live = asyncio.create_task(_request(gate, "/healthz"))
        await asyncio.sleep(0.05)
        assert app.inside == 2  # let in beside the one holding the only slot
        app.release.set()
        await asyncio.gather(first, live)

    asyncio.run(scenario())


@pytest.mark.unit
def test_a_request_that_waited_too_long_is_turned_away(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(admission, "WAIT_SECONDS", 0.1)

    async def scenario() -> None:
        app = _Held()
        gate = Admission(app)
        first = asyncio.create_task(_request(gate))
        late = await asyncio.wait_for(_request(gate), 1)
        assert late[0]["status"] == 503
        app.release.set()
        await first
        assert app.inside == 1

    asyncio.run(scenario())


@pytest.mark.unit
def test_an_event_stream_gives_its_slot_back_when_it_starts() -> None:
    async def scenario() -> None:
        stream = _Held(stream=True)
        gate = Admission(stream)
        streams = [asyncio.create_task(_request(gate)) for _ in range(3)]
        await asyncio.sleep(0.05)
        assert stream.inside == 3  # one slot, three streams open at once
        stream.release.set()
        await asyncio.gather(*streams)

    asyncio.run(scenario())
