"""``GET /events``: your organization's changes as Server-Sent Events, resumable.

Each change is one event named ``deployment`` or ``cluster`` whose data is
``{"type": "ADDED|MODIFIED|DELETED", "<kind>": {...}}`` in the list endpoints' shape, and whose
id lets a reconnecting client resume with ``Last-Event-ID`` without losing a change. When that
is no longer possible (the id is too old, or from before the API restarted) the first event is
a ``reset``: reload the lists, then carry on from its id. The stream needs the same bearer token
as every other read, sent as a header, never in the URL (browsers: ``fetch`` with a readable
body rather than ``EventSource``, which cannot send one).

A user holds at most `STREAMS_PER_USER` streams at once (429 past that); one whose client went
away counts until the server notices, at its next event or heartbeat. The stream ends when the
access it was opened with does: the token expires or is revoked, the caller leaves or is removed
from the organization, or their role changes. It checks before it sends anything and at every
heartbeat, at most once per `ACCESS_CHECK_SECONDS`; the client's reconnect then gets the 401 or
403 that says why, or (a new role) a stream opened with it.
"""

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Annotated

import anyio
from fastapi import APIRouter, Header
from fastapi.responses import StreamingResponse
from sqlalchemy.orm import Session, sessionmaker
from starlette.types import Receive, Scope, Send

from simplismart.api.cache import ChangeFeed
from simplismart.api.core.security import TokenSubject
from simplismart.api.deps import (
    Member,
    ServicesDep,
    Token,
    ViewerMember,
    get_current_user,
)
from simplismart.api.errors import TooManyRequestsError, UnauthorizedError
from simplismart.api.routes.common import AUTHENTICATED, CacheDep, errors
from simplismart.api.routes.strict import StrictRoute

router = APIRouter(tags=["events"], route_class=StrictRoute)

#: A comment line at least this often keeps proxies from closing an idle stream.
HEARTBEAT_SECONDS = 15.0
#: How long a client waits before reconnecting (the SSE ``retry`` field).
RETRY_MILLISECONDS = 2000
#: How stale the stream's view of the caller's access may be: a database read per stream per
#: period, however many changes it sends.
ACCESS_CHECK_SECONDS = 1.0


class _Access:
    """Whether the caller may still read the organization's changes, read again when stale."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        checks: anyio.CapacityLimiter,
        member: Member,
        token: TokenSubject,
    ) -> None:
        self._sessions = sessions
        self._checks = checks
        self._organization_id = member.organization.id
        self._role = member.user.role
        self._token = token
        self._checked = time.monotonic()

    async def holds(self) -> bool:
        if datetime.now(UTC) >= self._token.expires_at:
            return False
        if time.monotonic() - self._checked < ACCESS_CHECK_SECONDS:
            return True
        self._checked = time.monotonic()
        return await anyio.to_thread.run_sync(self._read, limiter=self._checks)

    def _read(self) -> bool:
        """The same check as every request's (`get_current_user`), the same organization, and
        the same role: a client whose role changed reconnects and reads it again (the dashboard
        then shows the controls the new role has)."""
        with self._sessions() as session:
            try:
                user = get_current_user(session, self._token)
            except UnauthorizedError:
                return False
            return user.organization_id == self._organization_id and user.role == self._role


@router.get(
    "/events",
    response_class=StreamingResponse,
    responses={
        200: {"content": {"text/event-stream": {}}, "description": "The stream of changes."},
        **errors(*AUTHENTICATED, 429),
    },
)
def events(
    member: ViewerMember,
    token: Token,
    services: ServicesDep,
    cache: CacheDep,
    last_event_id: Annotated[
        str | None,
        Header(max_length=64, description="The id of the last event received, to resume."),
    ] = None,
) -> StreamingResponse:
    """Changes to your organization's clusters and deployments as they happen."""
    access = _Access(services.sessions, services.streams.checks, member, token)
    response = _EventStream(
        _stream(cache.feed, member.namespace, last_event_id, access),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )
    ended = services.streams.open(member.user.id, response)
    if ended is None:
        raise TooManyRequestsError(
            f"you have {services.streams.per_user} event streams open already: close one",
            headers={"Retry-After": str(RETRY_MILLISECONDS // 1000)},
        )
    response.ended = ended
    return response


class _EventStream(StreamingResponse):
    """A stream that says when it ends, for the count of the user's open streams."""

    ended: Callable[[], object]  # set by the route, from `OpenStreams.open`

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self.ended()


async def _stream(
    feed: ChangeFeed, namespace: str, last_event_id: str | None, access: _Access
) -> AsyncIterator[bytes]:
    resume = feed.resume(namespace, last_event_id)
    cursor, number = resume.cursor, resume.number
    yield f"retry: {RETRY_MILLISECONDS}\n\n".encode()
    if resume.reset:
        yield _reset(feed.event_id(number))
    else:
        yield _event(feed.event_id(number), "ready", b'{"message": "streaming changes"}')
    loop = asyncio.get_running_loop()
    # When this stream is next due a heartbeat: counted per stream, since the feed also wakes
    # it for every other organization's change, which it does not send.
    heartbeat = loop.time() + HEARTBEAT_SECONDS
    while True:
        wakeup = feed.wakeup()
        batch = feed.after(cursor, namespace, number)
        cursor, number = batch.cursor, batch.number
        if batch.changes or batch.lost:
            if not await access.holds():
                return
            if batch.lost:
                yield _reset(feed.event_id(number))
            else:
                for change in batch.changes:
                    yield _event(feed.event_id(change.number), change.kind, change.data())
            heartbeat = loop.time() + HEARTBEAT_SECONDS
            continue
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(wakeup.wait(), max(heartbeat - loop.time(), 0.0))
            continue
        if not await access.holds():
            return
        yield b": keep-alive\n\n"
        heartbeat = loop.time() + HEARTBEAT_SECONDS


def _reset(event_id: str) -> bytes:
    reason = {"message": "changes since the last event id are gone: reload the lists"}
    return _event(event_id, "reset", json.dumps(reason).encode())


def _event(event_id: str, name: str, data: bytes) -> bytes:
    return f"id: {event_id}\nevent: {name}\ndata: ".encode() + data + b"\n\n"
