"""``HEAD`` answered as ``GET`` without its body, as the original Flask API and HTTP ask.

FastAPI routes take only the methods they are declared with, so a monitor's ``HEAD /healthz``
got a 405. Declaring ``HEAD`` on every route would double each operation in the OpenAPI
document; instead the app sees a ``GET``, and the server, which still knows the request as
``HEAD``, sends the status and headers only (uvicorn drops the body of a ``HEAD`` response).
"""

from starlette.types import ASGIApp, Receive, Scope, Send


class HeadAsGet:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "HEAD":
            scope = {**scope, "method": "GET"}
        await self.app(scope, receive, send)
