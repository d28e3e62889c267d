"""Refuse request bodies over a size limit (413) before reading them.

Anonymous ``/login`` used to read and parse an 8 MiB body. A declared ``Content-Length`` over the
limit is refused before a byte of the body is read; a body without one (chunked) is counted as
it arrives and refused the moment it passes the limit, so no more than the limit is buffered.
"""

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from simplismart.api.errors import PayloadTooLargeError
from simplismart.api.schemas.common import ErrorBody


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
        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > max_bytes:
                    # The routes' error handler turns it into the usual error body.
                    raise PayloadTooLargeError(max_bytes)
            return message

        await self.app(scope, counting_receive, send)


async def _refuse(send: Send, max_bytes: int) -> None:
    error = PayloadTooLargeError(max_bytes)
    body = ErrorBody(message=error.detail, errors=error.errors).model_dump_json().encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
