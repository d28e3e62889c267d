"""Admission: a burst of requests is served or turned away, never left to jam the database pool."""

import asyncio
import socket
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from simplismart.api import admission
from simplismart.api.admission import Admission
from simplismart.api.app import create_app
from simplismart.api.bodylimit import BodySizeLimit
from tests.api.conftest import make_settings
from tests.api.fake_kube import FakeKube
from tests.api.live import serve
from tests.api.support import Api

BURST = 300


def test_a_burst_of_members_requests_is_served(live: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    # 300 at once used to leave the 40 worker threads waiting for pooled connections held by
    # requests waiting for a worker thread: nothing answered until the pool's 30 s timeouts.
    # However slow the machine, each waits its turn here rather than being turned away.
    monkeypatch.setattr(admission, "WAIT_SECONDS", 120.0)
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
    """An app that reads the body, then holds each request until `respond`, and its response
    (started) until `finish`."""

    def __init__(self) -> None:
        self.inside = 0
        self.respond = asyncio.Event()
        self.finish = asyncio.Event()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        while (await receive()).get("more_body", False):
            pass
        self.inside += 1
        await self.respond.wait()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await self.finish.wait()
        await send({"type": "http.response.body", "body": b"{}"})

    def release(self) -> None:
        self.respond.set()
        self.finish.set()


class _Settings:
    api_concurrency = 1
    max_body_bytes = 1024


class _State:
    class services:  # noqa: N801 - stands for the app's `state.services`
        settings = _Settings


class _App:
    state = _State


async def _request(
    gate: ASGIApp, path: str = "/me", body: list[Message] | None = None
) -> list[Message]:
    """The messages the app sent back; `body` are what the client sends (then it hangs)."""
    sent: list[Message] = []
    arriving = list(body or [{"type": "http.request", "body": b""}])

    async def receive() -> Message:
        if arriving:
            return arriving.pop(0)
        await asyncio.Event().wait()  # a client that never sends the rest
        raise AssertionError("unreachable")

    async def send(message: Message) -> None:
        sent.append(message)

    scope: dict[str, Any] = {"type": "http", "path": path, "headers": [], "app": _App}
    await gate(scope, receive, send)
    return sent


async def _settle() -> None:
    await asyncio.sleep(0.05)


@pytest.mark.unit
def test_a_request_leaves_when_its_response_starts_and_only_once() -> None:
    async def scenario() -> None:
        app = _Held()
        gate = Admission(app)
        first, second = (asyncio.create_task(_request(gate)) for _ in range(2))
        await _settle()
        assert app.inside == 1  # one slot: the second waits
        app.respond.set()
        await _settle()
        assert app.inside == 2  # the first's response started: the second is in
        app.finish.set()
        await asyncio.gather(first, second)
        # Both left once: one slot still.
        app.inside, app.respond, app.finish = 0, asyncio.Event(), asyncio.Event()
        third, fourth = (asyncio.create_task(_request(gate)) for _ in range(2))
        await _settle()
        assert app.inside == 1
        app.release()
        await asyncio.gather(third, fourth)

    asyncio.run(scenario())


@pytest.mark.unit
def test_a_body_sent_slowly_holds_no_slot() -> None:
    async def scenario() -> None:
        app = _Held()
        gate = BodySizeLimit(Admission(app))
        trickle: list[Message] = [{"type": "http.request", "body": b"{", "more_body": True}]
        slow = asyncio.create_task(_request(gate, "/login", trickle))
        await _settle()
        fast = asyncio.create_task(_request(gate))
        await _settle()
        assert app.inside == 1  # the one whose body arrived
        app.release()
        assert (await asyncio.wait_for(fast, 1))[0]["status"] == 200
        slow.cancel()

    asyncio.run(scenario())


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
        await _settle()
        assert app.inside == 1  # one slot: the others wait in line
        refused = await asyncio.wait_for(_request(gate), 1)
        assert refused[0]["status"] == 503
        assert (b"retry-after", b"1") in refused[0]["headers"]
        assert b"the API is busy" in refused[1]["body"]
        app.release()
        for task in (first, *waiting):
            assert (await asyncio.wait_for(task, 1))[0]["status"] == 200
        assert app.inside == 3

    asyncio.run(scenario())


@pytest.mark.unit
def test_probes_are_let_in_past_a_full_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(admission, "WAITING_PER_SLOT", 0)

    async def scenario() -> None:
        app = _Held()
        gate = Admission(app)
        first = asyncio.create_task(_request(gate))
        await _settle()
        assert (await asyncio.wait_for(_request(gate), 1))[0]["status"] == 503
        probes = [asyncio.create_task(_request(gate, path)) for path in ("/healthz", "/readyz")]
        await _settle()
        assert app.inside == 3  # both in, beside the one holding the only slot
        app.release()
        await asyncio.gather(first, *probes)

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
        app.release()
        await first
        assert app.inside == 1

    asyncio.run(scenario())


@pytest.mark.unit
def test_a_request_whose_client_hangs_up_while_it_waits_is_not_served() -> None:
    async def scenario() -> None:
        app = _Held()
        gate = Admission(app)
        first = asyncio.create_task(_request(gate))
        await _settle()
        hung_up: list[Message] = [
            {"type": "http.request", "body": b""},
            {"type": "http.disconnect"},
        ]
        gone = await asyncio.wait_for(_request(gate, body=hung_up), 1)
        assert gone == []  # no answer to a client that is not there
        app.release()
        await first
        # Its place in line went with it, and the one slot is still there.
        assert (await asyncio.wait_for(_request(gate), 1))[0]["status"] == 200
        assert app.inside == 2

    asyncio.run(scenario())


@pytest.mark.unit
def test_over_http_a_request_whose_client_left_the_line_never_runs(tmp_path: Path) -> None:
    # What a client that timed out and retried leaves behind: the real server must tell the
    # waiting request that its connection closed, or the API serves it once its turn comes.
    settings = make_settings(f"sqlite:///{tmp_path / 'api.db'}", api_concurrency=1)
    app = create_app(settings, FakeKube())
    release = threading.Event()
    ran: list[str] = []

    async def held() -> dict[str, str]:
        await asyncio.to_thread(release.wait, 30)
        return {}

    async def counted(who: str) -> dict[str, str]:
        ran.append(who)
        return {}

    app.add_api_route("/held", held)
    app.add_api_route("/counted/{who}", counted)
    with serve(app) as url, httpx.Client(base_url=url, timeout=30) as client:
        holder = threading.Thread(target=client.get, args=("/held",))
        holder.start()
        time.sleep(0.3)  # /held has the slot
        port = int(url.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port)) as leaving:
            leaving.sendall(b"GET /counted/gone HTTP/1.1\r\nHost: api\r\n\r\n")
            time.sleep(0.3)  # in line behind /held
        time.sleep(0.3)  # the server saw it close
        release.set()
        holder.join(10)
        # It would have come in first, before this one, had it stayed in line.
        assert client.get("/counted/stayed").status_code == 200
    assert ran == ["stayed"]
