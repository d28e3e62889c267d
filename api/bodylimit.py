"""Read a request's whole body, at most a size limit (413 beyond it), before the app sees it.

Anonymous ``/login`` used to read and parse an 8 MiB body. A declared ``Content-Length`` over the
limit is refused before a byte of the body is read; a body without one (chunked) is counted as
it arrives and refused the moment it passes the limit, so no more than the limit is buffered.

The body is read here, in full, before the request goes further, so that a client sending it
slowly holds only its own connection and what it sent: `admission` lets a request in once its
body has arrived, and 32 clients trickling bodies would otherwise hold every slot and lock
everyone else out. One that has not sent it all within `BODY_SECONDS` gets a 408.
"""

import asyncio
from typing import Final

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from simplismart.api.errors import field_error, send_error

#: How long a client may take to send a body: one sending it slowly holds memory meanwhile.
BODY_SECONDS: Final = 30.0
TOO_SLOW = "the request body did not arrive within {:.0f} s"
#: The rest of a refused body is not read: the connection cannot carry another request.
CLOSE: Final = ((b"connection", b"close"),)


class BodySizeLimit:
    """The limit is ``SIMPLISMART_MAX_BODY_BYTES``, from the settings the app started with."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        max_bytes: int = scope["app"].state.services.settings.max_body_bytes
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > max_bytes):
            await _refuse(send, max_bytes)
            return
        chunks: list[bytes] = []
        received = 0
        try:
            async with asyncio.timeout(BODY_SECONDS):
                while True:
                    message = await receive()
                    if message["type"] == "http.disconnect":
                        return  # the client left before it finished sending
                    chunks.append(message.get("body", b""))
                    received += len(chunks[-1])
                    if received > max_bytes:
                        await _refuse(send, max_bytes)
                        return
                    if not message.get("more_body", False):
                        break
        except TimeoutError:
            await send_error(send, 408, TOO_SLOW.format(BODY_SECONDS), headers=CLOSE)
            return
        body: Message = {"type": "http.request", "body": b"".join(chunks)}
        del chunks  # one copy of the body, not two
        await self.app(scope, replaying(body, receive), send)


def replaying(message: Message, receive: Receive) -> Receive:
    """``receive`` as if ``message`` had not been taken from it yet (after a whole body, only
    a disconnect can come from it)."""
    unread: Message | None = message

    async def replay() -> Message:
        nonlocal unread
        if unread is None:
            return await receive()
        first, unread = unread, None
        return first

    return replay


async def _refuse(send: Send, max_bytes: int) -> None:
    await send_error(
        send,
        413,
        f"the request body is larger than {max_bytes} bytes",
        [field_error("body", f"must be at most {max_bytes} bytes")],
        CLOSE,
    )
