"""The route class of the API's areas: it refuses what FastAPI would take silently.

A body's unknown fields are refused (`schemas.common`) so that a typo does not pass as a
default; the same holds for the rest of a request:

- a query parameter the route does not take (``?cluster_name=c1`` would list every
  deployment of the organization, unfiltered);
- a JSON key given twice (the last would win, where a proxy or an audit log may read the
  first);
- an integer of more digits than Python reads (FastAPI answers "not JSON", naming nothing).

The static pages and the health probes keep FastAPI's route: browsers and probes may add
parameters of their own.
"""

import contextlib
import json
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from simplismart.api.errors import UnprocessableError, field_error, sent_as_json


class StrictRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()
        known = _query_names(self.dependant)

        async def strict(request: Request) -> Response:
            unknown = sorted(set(request.query_params) - known)
            if unknown:
                raise UnprocessableError(
                    "the request is invalid",
                    [
                        field_error(name, "is not a query parameter of this route")
                        for name in unknown
                    ],
                )
            if sent_as_json(request):
                _check_json(await request.body())  # kept by the request for FastAPI to parse
            return await handle(request)

        return strict


def _query_names(dependant: Dependant) -> frozenset[str]:
    """The query parameters the route and its dependencies declare, by the name sent."""
    names = {parameter.alias for parameter in dependant.query_params}
    for dependency in dependant.dependencies:
        names |= _query_names(dependency)
    return frozenset(names)


class _LongInteger:
    """An integer of more digits than `int()` reads (`sys.get_int_max_str_digits`)."""


def _integer(digits: str) -> int | _LongInteger:
    try:
        return int(digits)
    except ValueError:
        return _LongInteger()


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object, refused when a key is given twice or holds an unreadable integer."""
    seen: dict[str, Any] = {}
    for key, value in pairs:
        if key in seen:
            raise UnprocessableError(
                "the request is invalid", [field_error(key, "is given more than once")]
            )
        if isinstance(value, _LongInteger):
            raise UnprocessableError(
                "the request is invalid",
                [field_error(key, "is a number of too many digits to read")],
            )
        seen[key] = value
    return seen


def _check_json(body: bytes) -> None:
    """Refuse the body for a repeated key or an unreadable integer; whatever else is wrong
    with it (not JSON, not an object, a bad value) FastAPI and the schema answer, as always."""
    # Not JSON (ValueError), or nested too deep: FastAPI's own parse says so.
    with contextlib.suppress(ValueError, RecursionError):
        json.loads(body, object_pairs_hook=_object, parse_int=_integer)
