"""``GET /events``: your organization's changes as Server-Sent Events, resumable.

Each change is one event named ``deployment`` or ``cluster`` whose data is
``{"type": "ADDED|MODIFIED|DELETED", "<kind>": {...}}`` in the list endpoints' shape, and whose
id lets a reconnecting client resume with ``Last-Event-ID`` without losing a change. When that
is no longer possible (the id is too old, or from before the API restarted) the first event is
a ``reset``: reload the lists, then carry on from its id. The stream needs the same bearer token
as every other read, sent as a header, never in the URL (browsers: ``fetch`` with a readable
body rather than ``EventSource``, which cannot send one).
"""

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Header
from fastapi.responses import StreamingResponse

from simplismart.api.cache import ChangeFeed
from simplismart.api.deps import SessionDep, ViewerMember
from simplismart.api.routes.common import AUTHENTICATED, CacheDep, errors

router = APIRouter(tags=["events"])

#: A comment line at least this often keeps proxies from closing an idle stream.
HEARTBEAT_SECONDS = 15.0
#: How long a client waits before reconnecting (the SSE ``retry`` field).
RETRY_MILLISECONDS = 2000


@router.get(
    "/events",
    response_class=StreamingResponse,
    responses={
        200: {"content": {"text/event-stream": {}}, "description": "The stream of changes."},
        **errors(*AUTHENTICATED),
    },
)
def events(
    member: ViewerMember,
    session: SessionDep,
    cache: CacheDep,
    last_event_id: Annotated[
        str | None,
        Header(max_length=64, description="The id of the last event received, to resume."),
    ] = None,
) -> StreamingResponse:
    """Changes to your organization's clusters and deployments as they happen."""
    namespace = member.namespace
    # The stream may last hours: give the database connection back now, not when it ends.
    session.close()
    return StreamingResponse(
        _stream(cache.feed, namespace, last_event_id),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


async def _stream(
    feed: ChangeFeed, namespace: str, last_event_id: str | None
) -> AsyncIterator[bytes]:
    resume = feed.resume(last_event_id)
    cursor = resume.cursor
    yield f"retry: {RETRY_MILLISECONDS}\n\n".encode()
    if resume.reset:
        reason = {"message": "changes since the last event id are gone: reload the lists"}
        yield _event(feed.event_id(cursor), "reset", json.dumps(reason).encode())
    else:
        yield _event(feed.event_id(cursor), "ready", b'{"message": "streaming changes"}')
    while True:
        wakeup = feed.wakeup()
        changes, cursor = feed.after(cursor, namespace)
        for change in changes:
            yield _event(feed.event_id(change.sequence), change.kind, change.data())
        if changes:
            continue
        try:
            await asyncio.wait_for(wakeup.wait(), HEARTBEAT_SECONDS)
        except TimeoutError:
            # An id without data moves the client's Last-Event-ID past other organizations'
            # changes, so that a reconnect need not skip them again.
            yield f"id: {feed.event_id(cursor)}\n: keep-alive\n\n".encode()


def _event(event_id: str, name: str, data: bytes) -> bytes:
    return f"id: {event_id}\nevent: {name}\ndata: ".encode() + data + b"\n\n"
