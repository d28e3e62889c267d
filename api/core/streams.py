"""The event streams each user holds open, so that no one user holds an unbounded number.

A stream counts while its body (the async generator the response iterates) exists: CPython
frees it when the response ends, however it ends (the client went away before the first byte,
the server ended it, the process is stopping), so nothing has to remember to give it back.
"""

import threading
import weakref
from collections.abc import AsyncIterator
from typing import Final

#: A dashboard tab or a `simplismart watch` holds one; a few dozen at once is a leak or abuse.
STREAMS_PER_USER: Final = 16


class OpenStreams:
    def __init__(self, per_user: int = STREAMS_PER_USER) -> None:
        self.per_user = per_user
        self._lock = threading.Lock()  # routes run on worker threads
        self._by_user: dict[int, weakref.WeakSet[AsyncIterator[bytes]]] = {}

    def open(self, user_id: int, body: AsyncIterator[bytes]) -> bool:
        """Count `body` as one of the user's streams; False if they hold `per_user` already."""
        with self._lock:
            streams = self._by_user.setdefault(user_id, weakref.WeakSet())
            if len(streams) >= self.per_user:
                return False
            streams.add(body)
            return True
