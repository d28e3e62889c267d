"""``/ui``: the dashboard, a static page and its script and style shipped inside the package.

Nothing is loaded from elsewhere, and the Content-Security-Policy says so to the browser: the
page may only load its own files and talk to this API.
"""

from importlib import resources

from fastapi import APIRouter, Response

from simplismart.api.errors import NotFoundError

router = APIRouter(include_in_schema=False)

ASSETS = resources.files("simplismart.api") / "ui"
TYPES = {
    "index.html": "text/html; charset=utf-8",
    "app.js": "text/javascript; charset=utf-8",
    "app.css": "text/css; charset=utf-8",
}
HEADERS = {
    "Content-Security-Policy": (
        # Bars are sized by style attributes; everything else is the page's own files.
        "default-src 'none'; script-src 'self'; style-src 'self'; style-src-attr 'unsafe-inline'; "
        "connect-src 'self'; "
        "img-src 'self' data:; form-action 'none'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}


def _asset(name: str) -> Response:
    if name not in TYPES:
        raise NotFoundError(f"no such file {name!r} in the dashboard")
    return Response((ASSETS / name).read_bytes(), media_type=TYPES[name], headers=HEADERS)


@router.get("/ui")
@router.get("/ui/")
def dashboard() -> Response:
    """The dashboard's page; it logs in and reads everything else through the API."""
    return _asset("index.html")


@router.get("/ui/{name}")
def asset(name: str) -> Response:
    return _asset(name)
