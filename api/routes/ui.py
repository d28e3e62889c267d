"""``/ui`` and ``/docs``: the dashboard and the interactive API documentation, pages whose files
are shipped inside the package.

Nothing is loaded from elsewhere (Swagger UI is a pinned copy, `hack/vendor-swagger-ui.sh`), and
the Content-Security-Policy says so to the browser: a page may only load this API's files and
talk to this API. That matters beyond the pages themselves: the dashboard keeps its token in the
tab's storage, which any script of this origin could read, so no page of the origin runs script
from another.
"""

from importlib import resources

from fastapi import APIRouter, Response

from simplismart.api.errors import NotFoundError

router = APIRouter(include_in_schema=False)

ASSETS = resources.files("simplismart.api") / "ui"
HTML = "text/html; charset=utf-8"
JAVASCRIPT = "text/javascript; charset=utf-8"
CSS = "text/css; charset=utf-8"
#: What each page may fetch: its file in the package and its media type.
DASHBOARD = {"index.html": HTML, "app.js": JAVASCRIPT, "app.css": CSS}
DOCS = {
    "docs.html": HTML,
    "docs.js": JAVASCRIPT,
    "swagger-ui-bundle.js": JAVASCRIPT,
    "swagger-ui.css": CSS,
}
VENDORED = {"swagger-ui-bundle.js", "swagger-ui.css"}
#: Bars and Swagger UI's widgets are sized by style attributes; everything else is the page's
#: own files.
POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; style-src-attr 'unsafe-inline'; "
    "connect-src 'self'; img-src 'self' data:; form-action 'none'; frame-ancestors 'none'; "
    "base-uri 'none'"
)
HEADERS = {
    "Content-Security-Policy": POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}


def _asset(files: dict[str, str], name: str) -> Response:
    if name not in files:
        raise NotFoundError(f"no such file {name!r}")
    path = ASSETS / "vendor" / "swagger-ui" / name if name in VENDORED else ASSETS / name
    return Response(path.read_bytes(), media_type=files[name], headers=HEADERS)


@router.get("/ui")
@router.get("/ui/")
def dashboard() -> Response:
    """The dashboard's page; it logs in and reads everything else through the API."""
    return _asset(DASHBOARD, "index.html")


@router.get("/ui/{name}")
def dashboard_file(name: str) -> Response:
    return _asset(DASHBOARD, name)


@router.get("/docs")
def docs() -> Response:
    """Swagger UI over `/openapi.json`."""
    return _asset(DOCS, "docs.html")


@router.get("/docs/{name}")
def docs_file(name: str) -> Response:
    return _asset(DOCS, name)
