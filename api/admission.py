"""Admission: at most ``SIMPLISMART_API_CONCURRENCY`` requests inside the app at once.

Why: every sync dependency and route runs on one of AnyIO's worker threads (40), and a request
holds its database session, and so a pooled connection, from its first dependency until its
route returns, across several hops between those threads. A burst of a few hundred requests
used to leave every worker thread blocked waiting for a connection while every connection
belonged to a request waiting for a worker thread: the API answered nothing, ``/healthz``
included, until the pool's 30 s checkout timeouts broke the cycle one request at a time, for
minutes after the burst. The database pool holds a connection for every request let in (see
`services`), so a request inside never waits for one that only a waiting request could give
back.

The others wait their turn without a thread or a connection, first come first served, for up
to `WAIT_SECONDS`; past that, or when `WAITING_PER_SLOT` times as many already wait, they are
turned away at once with a 503 and ``Retry-After``, which a client or a load balancer can act
on. A request comes in once its body has arrived (`bodylimit` reads it first) and goes out when
its response starts, when its session is already closed (`deps.SessionDep`): a client that
sends or reads slowly, or an event stream open for hours, holds no slot. One whose client hangs
up while it waits leaves the line: a client that gave up and retried would otherwise have the
API serve both, and an overloaded API spend its slots on answers no one reads.

Probes are always let in, so that a kubelet does not restart an API that sheds load or take it
out of its Service: ``/healthz`` touches no database and runs on the event loop, and
``/readyz`` checks on one worker thread with one connection at most, whatever the load (it
answers from its last check, at most a second old; `routes.health`).
"""

import asyncio
from typing import Final

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from simplismart.api.bodylimit import replaying
from simplismart.api.errors import send_error

WAIT_SECONDS: Final = 10.0
WAITING_PER_SLOT: Final = 16
#: Let in whatever the load, and the database connections they hold at once (the readiness
#: check's).
PROBES: Final = frozenset({"/healthz", "/readyz"})
PROBE_CONNECTIONS: Final = 1
BUSY = "the API is busy; retry in a second"


class _Gate:
    """Slots for the requests inside, and a bounded line for the others."""

    def __init__(self, slots: int) -> None:
        self._slots = asyncio.Semaphore(slots)
        self._max_waiting = WAITING_PER_SLOT * slots
        self._waiting = 0

    async def enter(self) -> bool:
        """Take a slot; False when the line is full or the wait too long."""
        if self._slots.locked() and self._waiting >= self._max_waiting:
            return False
        self._waiting += 1
        try:
            async with asyncio.timeout(WAIT_SECONDS):
                await self._slots.acquire()
        except TimeoutError:
            return False
        finally:
            self._waiting -= 1
        return True

    def leave(self) -> None:
        self._slots.release()


class Admission:
    """Lets requests into ``app`` a bounded number at a time; the gate is made when the first
    request arrives, with the settings the app started with."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._gate: _Gate | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in PROBES:
            await self.app(scope, receive, send)
            return
        if self._gate is None:
            self._gate = _Gate(scope["app"].state.services.settings.api_concurrency)
        gate = self._gate
        request = await receive()  # the whole body: `bodylimit` has read it
        if request["type"] == "http.disconnect":
            return
        entered = await _enter_unless_gone(gate, receive)
        if entered is None:
            return
        if not entered:
            await send_error(send, 503, BUSY, headers=((b"retry-after", b"1"),))
            return
        inside = True

        def leave() -> None:
            nonlocal inside
            if inside:
                inside = False
                gate.leave()

        async def send_leaving(message: Message) -> None:
            if message["type"] == "http.response.start":
                leave()
            await send(message)

        try:
            await self.app(scope, replaying(request, receive), send_leaving)
        finally:
            leave()


async def _enter_unless_gone(gate: _Gate, receive: Receive) -> bool | None:
    """`gate.enter`, or None as soon as the client hangs up (after the body, the only message
    that can come); a slot taken at that very moment goes back."""
    entering = asyncio.ensure_future(gate.enter())
    hanging_up = asyncio.ensure_future(receive())
    try:
        await asyncio.wait((entering, hanging_up), return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in (entering, hanging_up):
            waiter.cancel()
        # Cancelling a done task does nothing: `entering` may have a slot to give back.
        await asyncio.gather(entering, hanging_up, return_exceptions=True)
    if not hanging_up.cancelled():
        if entering.done() and not entering.cancelled() and entering.result():
            gate.leave()
        return None
    return entering.result()
