"""Rate limits for anonymous endpoints: login and registration.

Counts live in Redis so that every API replica shares them. Redis may be down (it is allowed to
lose everything); then each process counts for itself rather than let guessing run free.

Login is limited on three keys, so that no single one can be used against the account's owner:

* **client and account**: a few attempts per window. Guessing one account's password from one
  address stops here, and only that pair is blocked: the owner, from anywhere else, is not.
* **client**: more attempts per window, across all usernames: spraying one password over many
  accounts from one address stops here.
* **account**, from everywhere: a high limit that applies only to clients that have not logged in
  to that account successfully before. A botnet guessing one account from many addresses is
  refused once it passes the limit, while the owner, from an address they used before, still
  logs in.

The client is the connecting address, or with configured trusted proxies the address they
report (see :mod:`simplismart.api.core.clients`).
"""

import logging
import math
import threading
import time
from dataclasses import dataclass

import redis

log = logging.getLogger(__name__)

#: How long a successful login makes its client "known" to the account.
KNOWN_CLIENT_SECONDS = 30 * 24 * 3600
#: Entries kept per process when Redis is down, before finished windows are forgotten.
LOCAL_ENTRIES = 10_000


class FixedWindow:
    """Counts hits per key in fixed windows of ``window_seconds``."""

    def __init__(self, store: redis.Redis, prefix: str, window_seconds: int) -> None:
        self._store = store
        self._prefix = prefix
        self._window = window_seconds
        self._local: dict[str, tuple[float, int]] = {}
        self._lock = threading.Lock()

    def hit(self, key: str) -> tuple[int, int]:
        """Count one hit; the count so far in this window and the seconds until it ends."""
        full_key = f"{self._prefix}:{key}"
        try:
            pipe = self._store.pipeline()
            pipe.set(full_key, 0, ex=self._window, nx=True)
            pipe.incr(full_key)
            pipe.ttl(full_key)
            _created, count, ttl = pipe.execute()
        except redis.RedisError as error:
            log.warning("rate limiter: Redis unavailable (%s); counting in this process", error)
            return self._hit_local(full_key)
        return int(count), max(int(ttl), 1)

    def forget(self, key: str) -> None:
        full_key = f"{self._prefix}:{key}"
        with self._lock:
            self._local.pop(full_key, None)
        try:
            self._store.delete(full_key)
        except redis.RedisError as error:
            log.warning("rate limiter: Redis unavailable (%s)", error)

    def _hit_local(self, key: str) -> tuple[int, int]:
        now = time.monotonic()
        with self._lock:
            if len(self._local) > LOCAL_ENTRIES:  # forget finished windows before growing further
                self._local = {k: v for k, v in self._local.items() if v[0] > now}
            ends, count = self._local.get(key, (0.0, 0))
            if ends <= now:
                ends, count = now + self._window, 0
            self._local[key] = (ends, count + 1)
        return count + 1, max(math.ceil(ends - now), 1)


@dataclass(frozen=True, slots=True)
class LoginLimits:
    per_client_and_account: int
    per_client: int
    #: Applies only to clients that never logged in to the account.
    per_account: int
    window_seconds: int


class LoginLimiter:
    def __init__(self, limits: LoginLimits, store: redis.Redis, scope: str) -> None:
        """``scope`` names the installation, so that installations sharing a Redis never mix."""
        self._limits = limits
        self._store = store
        prefix = f"simplismart:{scope}:login"
        self._known_prefix = f"{prefix}:known"
        self._counts = FixedWindow(store, prefix, limits.window_seconds)
        self._known_local: dict[tuple[str, str], float] = {}
        self._lock = threading.Lock()

    def hit(self, client: str, account: str) -> int | None:
        """Count one attempt; the seconds to wait if any limit is passed, else None.

        ``account`` is the canonical username, so that case variants share one count.
        """
        limits = self._limits
        pair, pair_wait = self._counts.hit(f"pair:{client}:{account}")
        if pair > limits.per_client_and_account:
            return pair_wait
        per_client, client_wait = self._counts.hit(f"client:{client}")
        if per_client > limits.per_client:
            return client_wait
        per_account, account_wait = self._counts.hit(f"account:{account}")
        if per_account > limits.per_account and not self._is_known(client, account):
            return account_wait
        return None

    def succeeded(self, client: str, account: str) -> None:
        """A correct password: the pair starts afresh and the client becomes known."""
        self._counts.forget(f"pair:{client}:{account}")
        with self._lock:
            if len(self._known_local) > LOCAL_ENTRIES:
                now = time.monotonic()
                self._known_local = {k: v for k, v in self._known_local.items() if v > now}
            self._known_local[(client, account)] = time.monotonic() + KNOWN_CLIENT_SECONDS
        try:
            self._store.set(f"{self._known_prefix}:{account}:{client}", 1, ex=KNOWN_CLIENT_SECONDS)
        except redis.RedisError as error:
            log.warning("login limiter: Redis unavailable (%s)", error)

    def _is_known(self, client: str, account: str) -> bool:
        with self._lock:
            if self._known_local.get((client, account), 0.0) > time.monotonic():
                return True
        try:
            return bool(self._store.exists(f"{self._known_prefix}:{account}:{client}"))
        except redis.RedisError:
            return False
