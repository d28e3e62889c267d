"""One error shape for every failure: ``{"message": ..., "errors": [{"field", "message"}]}``.

Routes raise :class:`ApiError` (or a subclass); FastAPI's own validation errors, HTTP errors and
database outages are converted by the handlers installed here, so clients parse one shape.
"""

import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import InterfaceError, OperationalError
from starlette.exceptions import HTTPException
from starlette.types import Send

from simplismart.api.schemas.common import (
    DNS_LABEL,
    IMAGE_TEXT,
    STORED_TEXT,
    ErrorBody,
    FieldError,
)

log = logging.getLogger(__name__)

#: Friendlier words for pydantic's error types that clients hit most.
_MESSAGES = {
    "missing": "is required",
    "extra_forbidden": "is not a known field",
    "int_type": "must be an integer",
    "int_parsing": "must be an integer",
    "string_type": "must be a string",
    "json_invalid": "is not valid JSON",
    "model_attributes_type": "must be a JSON object",
    "dict_type": "must be a JSON object",
}

#: What each pattern of the schemas means, in words.
_PATTERNS = {
    DNS_LABEL: (
        "must be lowercase letters, digits and '-', starting and ending with a letter or digit"
    ),
    STORED_TEXT: "must not contain control characters",
    IMAGE_TEXT: (
        "must be an image reference or a URL: ASCII letters, digits and punctuation, no spaces"
    ),
}


class ApiError(Exception):
    status_code = 400

    def __init__(
        self,
        message: str,
        errors: Sequence[FieldError] = (),
        *,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.errors = list(errors)
        self.headers = dict(headers or {})


class UnauthorizedError(ApiError):
    status_code = 401

    def __init__(self, message: str) -> None:
        super().__init__(message, headers={"WWW-Authenticate": "Bearer"})


class ForbiddenError(ApiError):
    status_code = 403


class NotFoundError(ApiError):
    status_code = 404


class ConflictError(ApiError):
    status_code = 409


class UnprocessableError(ApiError):
    status_code = 422


class TooManyRequestsError(ApiError):
    status_code = 429


class UnavailableError(ApiError):
    status_code = 503


def field_error(field: str, message: str) -> FieldError:
    return FieldError(field=field, message=message)


async def send_error(
    send: Send,
    status: int,
    message: str,
    errors: Sequence[FieldError] = (),
    headers: Sequence[tuple[bytes, bytes]] = (),
) -> None:
    """The one error shape, sent by an ASGI middleware that answers before the app (and the
    handlers installed here) sees the request."""
    body = ErrorBody(message=message, errors=list(errors)).model_dump_json().encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def _response(
    status: int, body: ErrorBody, headers: Mapping[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(body.model_dump(mode="json"), status_code=status, headers=headers)


def _validation_field(error: Mapping[str, Any]) -> str:
    """``("body", "cpu")`` -> ``cpu``; a problem with the body as a whole is the field ``body``."""
    _where, *path = error["loc"]
    if error["type"] == "json_invalid":
        return "body"  # its location is a character offset, not a field
    return ".".join(str(part) for part in path) or "body"


def _validation_message(error: Mapping[str, Any]) -> str:
    kind = error["type"]
    if kind == "missing" and tuple(error["loc"]) == ("body",):
        return "a JSON object is required"
    if kind == "value_error":
        return str(error["ctx"]["error"])
    if kind == "string_pattern_mismatch":
        return _PATTERNS.get(error["ctx"]["pattern"], "has characters that are not allowed")
    return _MESSAGES.get(kind) or str(error["msg"]).replace("Input should be", "must be")


async def _on_api_error(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, ApiError)
    return _response(
        error.status_code, ErrorBody(message=error.message, errors=error.errors), error.headers
    )


def sent_as_json(request: Request) -> bool:
    """Whether the body says it is JSON: FastAPI parses it only then."""
    media = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    return media == "application/json" or (
        media.startswith("application/") and media.endswith("+json")
    )


async def _on_validation(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    errors = [
        field_error(_validation_field(item), _validation_message(item)) for item in error.errors()
    ]
    if not sent_as_json(request):
        # Without a JSON Content-Type the body is not parsed at all: whatever it holds, the
        # header is what to fix.
        errors = [
            field_error("body", "must be a JSON object sent with Content-Type: application/json")
            if e.field == "body"
            else e
            for e in errors
        ]
    return _response(422, ErrorBody(message="the request is invalid", errors=errors))


def _on_http(allowed: Callable[[str], set[str]]) -> Callable[..., Awaitable[JSONResponse]]:
    async def handle(request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, HTTPException)
        if error.status_code == 400:
            # FastAPI's one 400: a body it could not parse (not UTF-8, or nested too deep).
            errors = [field_error("body", "could not be read as JSON")]
            return _response(422, ErrorBody(message="the request is invalid", errors=errors))
        body = ErrorBody(message=str(error.detail))
        headers = error.headers
        if error.status_code == 405:
            # Starlette names the methods of the first route at the path only; GET and DELETE
            # of one path are two routes.
            headers = {**(headers or {}), "Allow": ", ".join(sorted(allowed(request.url.path)))}
        return _response(error.status_code, body, headers)

    return handle


async def _on_database(_request: Request, error: Exception) -> JSONResponse:
    log.error("database unavailable: %s", error)
    return _response(503, ErrorBody(message="the database is unavailable; try again later"))


async def _on_unexpected(_request: Request, error: Exception) -> JSONResponse:
    log.exception("unhandled error", exc_info=error)
    return _response(500, ErrorBody(message="internal error"))


def install_error_handlers(app: FastAPI, allowed: Callable[[str], set[str]]) -> None:
    """The one error shape for every failure; `allowed` names the methods a path takes."""
    app.add_exception_handler(ApiError, _on_api_error)
    app.add_exception_handler(RequestValidationError, _on_validation)
    app.add_exception_handler(HTTPException, _on_http(allowed))
    app.add_exception_handler(OperationalError, _on_database)
    app.add_exception_handler(InterfaceError, _on_database)
    app.add_exception_handler(Exception, _on_unexpected)
