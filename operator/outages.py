"""Failures that mean a service is away, not that the operator is wrong: logged in one line.

While the API server or Redis is down, every pass, resync and trailing write fails the same
way, and a traceback each (forty lines of urllib3 internals) buried the log: a two-minute
API server outage wrote 4,000 lines. What a person needs is which service, what it said and
when the operator tries again; a traceback stays for everything else, where it is the clue.
"""

import logging
from typing import Final

from kubernetes.client.exceptions import ApiException
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from urllib3.exceptions import HTTPError, MaxRetryError

#: What a request to the API server raises when no answer came back: refused, reset, timed out
#: (urllib3's errors, or the socket's own; TimeoutError is an OSError).
NO_ANSWER = (OSError, HTTPError)

#: Seconds to connect, then to wait for each read, on every call the operator makes to the API
#: server: a connection that died without a reset would otherwise hold its caller (a pass, a
#: renewal of the Lease) for ever. kopf's own client waits as long for an answer.
REQUEST_TIMEOUT: Final = (5.0, 30.0)


def _root(error: BaseException) -> BaseException:
    """The innermost cause: "[Errno 111] Connection refused" rather than urllib3's wrapping."""
    while True:
        reason = error.reason if isinstance(error, MaxRetryError) else None
        inner: BaseException | None = reason or error.__cause__
        if inner is None:
            return error
        error = inner


def describe(error: BaseException) -> str | None:
    """One line for an unreachable or overloaded service; None for any other error."""
    if isinstance(error, ApiException) and (error.status == 429 or (error.status or 0) >= 500):
        return f"the Kubernetes API server answered {error.status} {error.reason}"
    if isinstance(error, HTTPError):
        return f"cannot reach the Kubernetes API server ({_root(error)})"
    if isinstance(error, RedisConnectionError | RedisTimeoutError):
        return f"cannot reach Redis ({error})"
    return None


def log_failure(logger: logging.Logger, error: BaseException, message: str, *args: object) -> None:
    """``message`` at ERROR: with the outage's one line, or with the traceback if it is none."""
    if (outage := describe(error)) is not None:
        logger.error(f"{message}: %s", *args, outage)
    else:
        logger.error(message, *args, exc_info=error)
