"""The server's clock, as the Date header of its answers tells it.

Ages and ETAs are moments the server wrote: counted from this machine's clock, a laptop a
minute off would show every ETA a minute off. The dashboard reads the same header.
"""

import time
from datetime import UTC
from email.utils import parsedate_to_datetime


class ServerClock:
    def __init__(self) -> None:
        self._offset = 0.0  # seconds the server is ahead of this machine

    def learn(self, date: str | None) -> None:
        """Take in an answer's Date header.

        It counts whole seconds: the server's time lies in the second after it. A move under a
        second is that rounding, not a change of clock, and would only make the counters jump.
        """
        try:
            told = parsedate_to_datetime(date or "")
        except (TypeError, ValueError):
            return
        # HTTP dates are GMT; the asctime form and a "-0000" zone parse without one.
        offset = told.replace(tzinfo=told.tzinfo or UTC).timestamp() + 0.5 - time.time()
        if abs(offset - self._offset) > 1:
            self._offset = offset

    def now(self) -> float:
        """The server's time now, in POSIX seconds."""
        return time.time() + self._offset


#: One per process: every answer from the one server the command talks to sets it.
SERVER_CLOCK = ServerClock()
