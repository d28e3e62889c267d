"""``GET /events``: changes of the caller's organization, resumed across a reconnect."""

import asyncio
import time
from collections.abc import Callable
from typing import Any, cast

import pytest
from harness.kube import wait_for

from simplismart.api.cache import ChangeFeed
from simplismart.api.core.streams import STREAMS_PER_USER
from simplismart.api.routes import events
from tests.api.live import Event, EventStream
from tests.api.support import Api, Org


def _names(events: list[Event]) -> list[tuple[str, str, str]]:
    return [(e.name, e.data["type"], e.data[e.name]["name"]) for e in events if "type" in e.data]


def _sequence(event: Event) -> int:
    return int(event.id.rsplit("-", 1)[1])


def test_the_stream_resumes_after_a_reconnect_without_losing_a_change(live: Api) -> None:
    org = live.organization()
    other = live.second_organization(org)
    live.cluster(org.developer, "c1")
    base = str(live.client.base_url)

    first = EventStream(base, org.viewer.token)
    assert first.next().name == "ready"
    live.deployment(org.developer, "d1", "c1")
    added = first.until(lambda seen: ("deployment", "ADDED", "d1") in _names(seen))
    assert added[-1].data["deployment"]["phase"] == "Pending"
    first.close()

    # While nobody listens: creations, an operator's status write, a cancel, another org's work.
    live.deployment(org.developer, "d2", "c1")
    live.deployment(org.developer, "d3", "c1")
    live.set_deployment_status(org, "d1", {"phase": "Queued", "queuePosition": 1})
    assert live.call("DELETE", "/deployments/d3", org.developer).status_code == 200
    live.cluster(other.developer, "theirs")
    live.deployment(other.developer, "secret", "theirs")

    second = EventStream(base, org.viewer.token, last_event_id=first.last_id)
    wanted = {
        ("deployment", "ADDED", "d2"),
        ("deployment", "ADDED", "d3"),
        ("deployment", "MODIFIED", "d1"),
        ("deployment", "DELETED", "d3"),
    }
    missed = second.until(lambda seen: wanted <= set(_names(seen)))
    second.close()
    assert missed[0].name == "ready"
    assert all(name != "theirs" and name != "secret" for _, _, name in _names(missed))
    assert len(_names(missed)) == len(set(_names(missed))), "a change was sent twice"
    ids = [_sequence(event) for event in missed[1:]]
    assert ids == sorted(ids)
    assert ids[0] > _sequence(added[-1])
    modified = next(e for e in missed if _names([e]) == [("deployment", "MODIFIED", "d1")])
    assert modified.data["deployment"]["queue_position"] == 1


def test_an_id_the_server_cannot_resume_from_gets_a_reset(live: Api) -> None:
    org = live.organization()
    stream = EventStream(str(live.client.base_url), org.viewer.token, last_event_id="feed-123")
    reset = stream.next()
    stream.close()
    assert reset.name == "reset"
    assert "reload" in reset.data["message"]


def test_cluster_changes_are_streamed_too(live: Api) -> None:
    org = live.organization()
    stream = EventStream(str(live.client.base_url), org.viewer.token)
    stream.next()
    live.cluster(org.developer, "c1")
    status: dict[str, Any] = {"allocated": {"cpu": 2, "ram": 1, "gpu": 0}, "running": 1}
    live.set_cluster_status(org, "c1", status)
    events = stream.until(lambda seen: ("cluster", "MODIFIED", "c1") in _names(seen))
    stream.close()
    assert events[-1].data["cluster"]["allocated"] == {"cpu": 2, "ram": 1, "gpu": 0}


def test_the_stream_needs_a_member(live: Api) -> None:
    base = str(live.client.base_url)
    assert EventStream(base, "not-a-token").status_code == 401
    loner = live.user()
    assert EventStream(base, loner.token).status_code == 403


def test_an_id_with_digits_int_cannot_read_gets_a_reset(live: Api) -> None:
    """'²' is a digit to str.isdigit() but not to int(): a reset, not a broken stream."""
    org = live.organization()
    base = str(live.client.base_url)
    ready = EventStream(base, org.viewer.token)
    epoch = ready.next().id.rsplit("-", 1)[0]
    ready.close()
    stream = EventStream(base, org.viewer.token, last_event_id=f"{epoch}-\u00b2")
    assert stream.status_code == 200
    assert stream.next().name == "reset"
    stream.close()


def _remove(live: Api, org: Org) -> None:
    removed = live.call("POST", "/remove_member", org.admin, json={"user_id": org.viewer.id})
    assert removed.status_code == 200, removed.text


def _log_out(live: Api, org: Org) -> None:
    assert live.call("POST", "/logout", org.viewer).status_code == 200


@pytest.mark.parametrize("end_access", [_remove, _log_out], ids=["removed", "logged-out"])
def test_the_stream_ends_with_the_access_it_was_opened_with(
    live: Api, end_access: Callable[[Api, Org], None], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Check on every change rather than at most once a second, so that no wait is needed.
    monkeypatch.setattr(events, "ACCESS_CHECK_SECONDS", 0.0)
    org = live.organization()
    live.cluster(org.developer, "c1")
    stream = EventStream(str(live.client.base_url), org.viewer.token)
    assert stream.next().name == "ready"
    live.deployment(org.developer, "before", "c1")
    stream.until(lambda seen: ("deployment", "ADDED", "before") in _names(seen))
    end_access(live, org)
    live.deployment(org.developer, "after", "c1")
    assert stream.ended.wait(10), "the stream went on after the access ended"
    assert ("deployment", "ADDED", "after") not in _names(stream.received())
    stream.close()
    reconnect = EventStream(str(live.client.base_url), org.viewer.token)
    assert reconnect.status_code in (401, 403)
    reconnect.close()


def test_a_user_holds_a_bounded_number_of_streams(
    live: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The server notices a client gone when it next writes: a heartbeat at least this often.
    monkeypatch.setattr(events, "HEARTBEAT_SECONDS", 0.5)
    org = live.organization()
    base_url = str(live.client.base_url)
    held = [EventStream(base_url, org.viewer.token) for _ in range(STREAMS_PER_USER)]
    try:
        assert {stream.status_code for stream in held} == {200}
        refused = EventStream(base_url, org.viewer.token)
        assert refused.status_code == 429
        refused.close()
        other = EventStream(base_url, org.developer.token)  # the bound is per user
        assert other.status_code == 200
        other.close()
        held.pop().close()  # a stream closed by its client gives its place back

        def reopened() -> EventStream | None:
            stream = EventStream(base_url, org.viewer.token)
            if stream.status_code == 200:
                return stream
            stream.close()
            time.sleep(0.1)
            return None

        held.append(wait_for(reopened, timeout=10, what="a stream in the freed place"))
    finally:
        for stream in held:
            stream.close()


def test_a_quiet_organization_gets_its_heartbeats_while_others_change(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The feed wakes every stream at every organization's change; the heartbeat is counted per
    stream, so one with nothing to send still gets it (a proxy closes an idle stream) and its
    access is still checked, however busy the other organizations are."""
    monkeypatch.setattr(events, "HEARTBEAT_SECONDS", 0.3)
    checks: list[float] = []

    class Access:
        async def holds(self) -> bool:
            checks.append(time.monotonic())
            return True

    async def first_after_ready() -> bytes:
        feed = ChangeFeed()
        feed.bind(asyncio.get_running_loop())
        stream = events._stream(feed, "quiet", None, cast(events._Access, Access()))
        assert b"retry" in await anext(stream)
        assert b"event: ready" in await anext(stream)

        async def busy() -> None:
            while True:  # until cancelled: a change elsewhere every 50 ms
                feed.publish("busy", "deployment", "MODIFIED", b"{}")
                await asyncio.sleep(0.05)

        noise = asyncio.create_task(busy())
        try:
            return await asyncio.wait_for(anext(stream), 10)
        finally:
            noise.cancel()

    chunk = asyncio.run(first_after_ready())
    assert b": keep-alive" in chunk
    assert b"event:" not in chunk  # none of the other organization's changes
    assert checks, "the heartbeat came without an access check"


def test_event_ids_say_nothing_of_other_organizations(live: Api) -> None:
    org = live.organization()
    other = live.second_organization(org)
    stream = EventStream(str(live.client.base_url), org.viewer.token)
    ready = stream.next()
    assert ready.name == "ready"
    live.cluster(other.developer, "theirs")
    for index in range(5):
        live.deployment(other.developer, f"theirs-{index}", "theirs")
    live.cluster(org.developer, "ours")
    ours = stream.until(
        lambda seen: (
            ("cluster", "ADDED", "ours")
            in [(e.name, e.data.get("type"), e.data.get("cluster", {}).get("name")) for e in seen]
        )
    )
    stream.close()
    assert _sequence(ours[-1]) == _sequence(ready) + 1


def test_the_stream_ends_when_the_role_changes(live: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    """A client then reconnects with its new role (the dashboard shows that role's controls)."""
    monkeypatch.setattr(events, "ACCESS_CHECK_SECONDS", 0.0)
    org = live.organization()
    live.cluster(org.developer, "c1")
    stream = EventStream(str(live.client.base_url), org.viewer.token)
    assert stream.next().name == "ready"
    promoted = live.call(
        "POST", "/update_role", org.admin, json={"user_id": org.viewer.id, "role": "DEVELOPER"}
    )
    assert promoted.status_code == 200, promoted.text
    live.deployment(org.developer, "after", "c1")
    assert stream.ended.wait(10), "the stream went on with the old role"
    stream.close()
    reconnect = EventStream(str(live.client.base_url), org.viewer.token)
    assert reconnect.status_code == 200
    assert reconnect.next().name == "ready"
    reconnect.close()
