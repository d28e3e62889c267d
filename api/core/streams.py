"""The event streams each user holds open, and their access checks in flight.

A user holds at most `STREAMS_PER_USER` streams: a stream counts from its route until its
response ends, however it ends (the stream ended, the client went away, the process stops),
told by the response itself; a response that is never sent counts until it is collected.

Each open stream reads the database now and then to check its access (`routes.events`), on a
thread and outside admission: at most `ACCESS_CHECKS` at once, so that the database pool holds
a connection for each of them beside the requests admission lets in.
"""

import threading
import weakref
from collections import Counter
from collections.abc import Callable
from typing import Final

import anyio

#: A dashboard tab or a `simplismart watch` holds one; a few dozen at once is a leak or abuse.
STREAMS_PER_USER: Final = 16
#: Access checks on the database at once, over all streams.
ACCESS_CHECKS: Final = 8


class OpenStreams:
    def __init__(self, per_user: int = STREAMS_PER_USER) -> None:
        self.per_user = per_user
        #: The threads the checks run on: one a stream gave up waiting for (its client left)
        #: keeps its token, and its connection, until it is done.
        self.checks = anyio.CapacityLimiter(ACCESS_CHECKS)
        self._lock = threading.Lock()  # routes run on worker threads
        self._open: Counter[int] = Counter()

    def open(self, user_id: int, response: object) -> Callable[[], object] | None:
        """Count `response` as one of the user's streams, and return what to call when it
        ends (once; collecting the response calls it too); None if they hold enough."""
        with self._lock:
            if self._open[user_id] >= self.per_user:
                return None
            self._open[user_id] += 1
        return weakref.finalize(response, self._close, user_id)

    def _close(self, user_id: int) -> None:
        with self._lock:
            self._open[user_id] -= 1
            if not self._open[user_id]:
                del self._open[user_id]
