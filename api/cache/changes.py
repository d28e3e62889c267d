"""The change feed behind ``GET /events``: a bounded ring of numbered changes.

Every change the cache makes is appended with the next number. A subscriber remembers the id
of the last change it received and, after a reconnect, asks for everything after it
(``Last-Event-ID``); while that id is still in the ring nothing is lost. An id the ring has
forgotten, or one from another process (ids carry a per-process epoch), is answered with a
reset: the subscriber reloads the lists and continues from the newest id.
"""

import asyncio
import itertools
import secrets
import threading
from collections import deque
from dataclasses import dataclass

#: Changes kept for resuming subscribers: minutes of a busy installation.
DEFAULT_CAPACITY = 10_000


@dataclass(frozen=True, slots=True)
class Change:
    sequence: int
    namespace: str
    #: ``deployment`` or ``cluster``: the SSE event name.
    kind: str
    #: ``ADDED``, ``MODIFIED`` or ``DELETED``.
    type: str
    #: The object's JSON: the cache entry's own bytes, shared rather than copied.
    body: bytes

    def data(self) -> bytes:
        """The event's data: ``{"type": "ADDED|MODIFIED|DELETED", "<kind>": {...}}``."""
        head = f'{{"type": "{self.type}", "{self.kind}": '.encode()
        return head + self.body + b"}"


@dataclass(frozen=True, slots=True)
class Resume:
    """Where a subscriber starts: after ``cursor``; ``reset`` if its history is lost."""

    cursor: int
    reset: bool


class ChangeFeed:
    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        self.epoch = secrets.token_hex(4)
        self._ring: deque[Change] = deque(maxlen=capacity)
        self._last = 0
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wakeup = asyncio.Event()

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        """The event loop whose subscribers are woken by :meth:`publish` (from any thread)."""
        self._loop = loop

    def event_id(self, sequence: int) -> str:
        return f"{self.epoch}-{sequence}"

    def publish(self, namespace: str, kind: str, change_type: str, body: bytes) -> None:
        with self._lock:
            self._last += 1
            self._ring.append(Change(self._last, namespace, kind, change_type, body))
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._wake)

    def _wake(self) -> None:
        """On the loop: wake every waiting subscriber and arm a fresh event for the next."""
        woken, self._wakeup = self._wakeup, asyncio.Event()
        woken.set()

    def resume(self, last_event_id: str | None) -> Resume:
        """Where a subscriber that last saw ``last_event_id`` (None: a new one) starts."""
        with self._lock:
            newest = self._last
            oldest = self._ring[0].sequence if self._ring else newest + 1
        if last_event_id is None:
            return Resume(newest, reset=False)
        epoch, _, number = last_event_id.partition("-")
        # ASCII digits only: isdigit() alone also accepts '²', which int() refuses.
        if (
            epoch != self.epoch
            or not number.isascii()
            or not number.isdigit()
            or int(number) > newest
        ):
            return Resume(newest, reset=True)
        sequence = int(number)
        return Resume(sequence, reset=sequence < oldest - 1)

    def after(self, cursor: int, namespace: str) -> tuple[list[Change], int]:
        """Changes in ``namespace`` after ``cursor``, and the new cursor."""
        with self._lock:
            newest = self._last
            if not self._ring or cursor >= newest:
                return [], newest
            start = max(0, cursor - self._ring[0].sequence + 1)
            changes = [
                change
                for change in itertools.islice(self._ring, start, None)
                if change.namespace == namespace
            ]
        return changes, newest

    def wakeup(self) -> asyncio.Event:
        """The event the next publish sets: take it *before* calling :meth:`after`."""
        return self._wakeup
