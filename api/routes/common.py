"""What routes share: the object-name path parameter, the cache, page parameters, errors."""

from typing import Annotated, Any

from fastapi import Depends, Path, Query

from simplismart.api.cache import WatchCache
from simplismart.api.cache.pages import MAX_LIMIT
from simplismart.api.deps import ServicesDep
from simplismart.api.schemas.common import DNS_LABEL, ErrorBody

#: A cluster's or deployment's name in a path; it is a Kubernetes object name.
ObjectName = Annotated[
    str, Path(min_length=1, max_length=63, pattern=DNS_LABEL, description="The object's name.")
]


def get_cache(services: ServicesDep) -> WatchCache:
    """The watch cache, once it holds every object (503 while it is still loading)."""
    services.cache.ready()
    return services.cache


CacheDep = Annotated[WatchCache, Depends(get_cache)]

#: ``limit``: at most this many items; unset, the whole list (the original API's answer).
Limit = Annotated[
    int | None,
    Query(ge=1, le=MAX_LIMIT, description="At most this many items; unset: all of them."),
]
#: ``continue``: the token of the previous page.
ContinueToken = Annotated[
    str | None,
    Query(
        alias="continue",
        min_length=1,
        max_length=1024,
        description="The `continue` of the previous page, to get the next one.",
    ),
]
JSON = "application/json"


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for ``codes``, all in the one error shape; 422 is always possible."""
    words = {
        401: "Missing, invalid or expired token",
        403: "The caller's role or organization does not allow this",
        404: "No such object in the caller's organization",
        409: "Conflicts with existing state, or a quota is reached",
        413: "The request body is too large",
        422: "The request is invalid; `errors` names each field",
        429: "Too many attempts or open streams; see Retry-After",
        503: "The database or the Kubernetes API is unreachable, or the API is busy",
    }
    return {code: {"model": ErrorBody, "description": words[code]} for code in (*codes, 422)}


#: What every route that needs a token can answer, besides its own cases.
AUTHENTICATED = (401, 403, 503)
