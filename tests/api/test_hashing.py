"""Finding 2: Argon2 at OWASP's parameters, and a bound on hashes in flight.

The memory and latency this buys under a flood of logins is measured in bench/api_bench.py.
"""

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from simplismart.api.core import security
from tests.api.conftest import ApiFactory
from tests.api.support import PASSWORD


@pytest.mark.unit
def test_passwords_are_hashed_with_owasp_argon2id_parameters() -> None:
    # m=19 MiB, t=2, p=1 (OWASP Password Storage Cheat Sheet), not the library's 64 MiB.
    assert security.owasp_argon2().hash("a password").startswith("$argon2id$v=19$m=19456,t=2,p=1$")


@pytest.mark.unit
def test_unknown_users_cost_a_hash_of_the_same_parameters() -> None:
    # The dummy hash is made by the same hasher at import (the test fixture swaps in a cheap
    # one, so rebuild it as the module does).
    dummy = security.owasp_argon2().hash("not a real password")
    assert dummy.split("$")[3] == "m=19456,t=2,p=1"


class _InFlight:
    """Wraps the hasher to record how many hashes run at the same time."""

    def __init__(self, hasher: object) -> None:
        self._hasher = hasher
        self._lock = threading.Lock()
        self.now = 0
        self.most = 0

    def _enter(self) -> None:
        with self._lock:
            self.now += 1
            self.most = max(self.most, self.now)
        time.sleep(0.05)  # long enough for the others to pile up if nothing stops them

    def _leave(self) -> None:
        with self._lock:
            self.now -= 1

    def hash(self, password: str) -> str:
        self._enter()
        try:
            return str(self._hasher.hash(password))  # type: ignore[attr-defined]
        finally:
            self._leave()

    def verify(self, password: str, password_hash: str) -> bool:
        self._enter()
        try:
            return bool(self._hasher.verify(password, password_hash))  # type: ignore[attr-defined]
        finally:
            self._leave()


def test_concurrent_logins_hash_at_most_hash_concurrency_at_once(
    api_with: ApiFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    api = api_with(hash_concurrency=2, login_client_limit=1000)
    api.user("owner")
    spy = _InFlight(security._hasher)
    monkeypatch.setattr(security, "_hasher", spy)
    barrier = threading.Barrier(12)

    def login(index: int) -> int:
        # Half unknown users: they must queue for a slot like everyone else.
        username = "owner" if index % 2 else f"stranger{index}"
        barrier.wait()
        answer = api.call("POST", "/login", json={"username": username, "password": PASSWORD})
        return answer.status_code

    with ThreadPoolExecutor(12) as pool:
        statuses = sorted(pool.map(login, range(12)))
    assert statuses == [200] * 6 + [401] * 6
    assert spy.most == 2
