"""The ASGI application, for ``uvicorn simplismart.api.main:app``."""

from simplismart.api.app import create_app

app = create_app()
