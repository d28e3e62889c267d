"""The change feed behind ``GET /events``: a bounded ring of numbered changes.

Every change the cache makes is appended to one ring, in order, and numbered within its
namespace: event ids carry that number, so that they tell an organization nothing of how busy
the others are. A subscriber remembers the id of the last change it received and, after a
reconnect, asks for everything after it (``Last-Event-ID``); while its namespace's next change is
still in the ring nothing is lost. An id the ring has forgotten, or one from another process (ids
carry a per-process epoch), is answered with a reset: the subscriber reloads the lists and
continues from the newest id. So is a subscriber that reads so slowly that its namespace's
changes leave the ring before it sends them.
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
    #: Its place in the ring, over all namespaces.
    sequence: int
    #: Its number in its namespace: the event id's.
    number: int
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
    """Where a subscriber starts: after ``cursor`` (a sequence), where its namespace's changes
    had reached ``number``; ``reset`` if its history is lost."""

    cursor: int
    number: int
    reset: bool


@dataclass(frozen=True, slots=True)
class Batch:
    """What a subscriber sends next: ``changes``, then it is at ``cursor``, its namespace at
    ``number``; ``lost`` if some of the namespace's changes left the ring before it read them
    (it then sends a reset, not them)."""

    changes: list[Change]
    cursor: int
    number: int
    lost: bool


class ChangeFeed:
    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        self.epoch = secrets.token_hex(4)
        self._ring: deque[Change] = deque(maxlen=capacity)
        self._last = 0
        # Per namespace, the number of its last change.
        self._numbers: dict[str, int] = {}
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wakeup = asyncio.Event()

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        """The event loop whose subscribers are woken by :meth:`publish` (from any thread)."""
        self._loop = loop

    def event_id(self, number: int) -> str:
        return f"{self.epoch}-{number}"

    def publish(self, namespace: str, kind: str, change_type: str, body: bytes) -> None:
        with self._lock:
            self._last += 1
            number = self._numbers[namespace] = self._numbers.get(namespace, 0) + 1
            self._ring.append(Change(self._last, number, namespace, kind, change_type, body))
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._wake)

    def _wake(self) -> None:
        """On the loop: wake every waiting subscriber and arm a fresh event for the next."""
        woken, self._wakeup = self._wakeup, asyncio.Event()
        woken.set()

    def resume(self, namespace: str, last_event_id: str | None) -> Resume:
        """Where a subscriber to ``namespace`` that last saw ``last_event_id`` (None: a new
        one) starts."""
        seen = self._number(last_event_id)
        with self._lock:
            newest, latest = self._last, self._numbers.get(namespace, 0)
            if last_event_id is None or seen == latest:
                return Resume(newest, latest, reset=False)
            if seen is not None and seen < latest:
                # Nothing is lost while the namespace's next change is still in the ring.
                for change in self._ring:
                    if change.namespace == namespace and change.number == seen + 1:
                        return Resume(change.sequence - 1, seen, reset=False)
            return Resume(newest, latest, reset=True)

    def _number(self, event_id: str | None) -> int | None:
        """The number in one of this process's event ids; None for anything else."""
        epoch, _, number = (event_id or "").partition("-")
        # ASCII digits only: isdigit() alone also accepts '²', which int() refuses.
        if epoch != self.epoch or not number.isascii() or not number.isdigit():
            return None
        return int(number)

    def after(self, cursor: int, namespace: str, number: int) -> Batch:
        """Changes in ``namespace`` after ``cursor``, for a subscriber whose last one had
        ``number``."""
        with self._lock:
            newest, latest = self._last, self._numbers.get(namespace, 0)
            start = max(0, cursor - self._ring[0].sequence + 1) if self._ring else 0
            changes = [
                change
                for change in itertools.islice(self._ring, start, None)
                if change.namespace == namespace
            ]
        # The ring holds the namespace's changes in order, numbered one by one: a gap is what
        # fell out of it while this subscriber was slow to read.
        return Batch(changes, newest, latest, lost=latest != number + len(changes))

    def wakeup(self) -> asyncio.Event:
        """The event the next publish sets: take it *before* calling :meth:`after`."""
        return self._wakeup
