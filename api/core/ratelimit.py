"""Login rate limiting: a fixed window of attempts per client address and username.

The count lives in Redis so that every API replica shares it. Redis may be down (it is allowed
to lose everything); then each process counts for itself rather than let guessing run free.
"""

import logging
import math
import threading
import time

import redis

log = logging.getLogger(__name__)


class LoginLimiter:
    def __init__(self, limit: int, window_seconds: int, store: redis.Redis, scope: str) -> None:
        """``scope`` names the installation, so that installations sharing a Redis never mix."""
        self._limit = limit
        self._scope = scope
        self._window = window_seconds
        self._store = store
        self._local: dict[str, tuple[float, int]] = {}
        self._lock = threading.Lock()

    def hit(self, client: str, username: str) -> int | None:
        """Count one attempt; the seconds to wait if it is over the limit, else None."""
        key = f"simplismart:{self._scope}:login:{client}:{username.lower()}"
        count, retry_after = self._count_shared(key)
        return retry_after if count > self._limit else None

    def _count_shared(self, key: str) -> tuple[int, int]:
        try:
            pipe = self._store.pipeline()
            pipe.set(key, 0, ex=self._window, nx=True)
            pipe.incr(key)
            pipe.ttl(key)
            _created, count, ttl = pipe.execute()
        except redis.RedisError as error:
            log.warning("login limiter: Redis unavailable (%s); counting in this process", error)
            return self._count_local(key)
        return int(count), max(int(ttl), 1)

    def _count_local(self, key: str) -> tuple[int, int]:
        now = time.monotonic()
        with self._lock:
            if len(self._local) > 10_000:  # forget finished windows before growing further
                self._local = {k: v for k, v in self._local.items() if v[0] > now}
            ends, count = self._local.get(key, (0.0, 0))
            if ends <= now:
                ends, count = now + self._window, 0
            self._local[key] = (ends, count + 1)
        return count + 1, max(math.ceil(ends - now), 1)
