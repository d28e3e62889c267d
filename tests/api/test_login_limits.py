"""Finding 3: the login limiter counts per client and account, per client, and per account for
unknown clients, and believes forwarded addresses only from configured proxies."""

import ipaddress

import pytest
from starlette.requests import Request

from simplismart.api.core.clients import client_address
from tests.api.conftest import ApiFactory
from tests.api.support import PASSWORD, Api

WRONG = "wrong-wrong"
PROXY = "10.0.0.2"
PROXIES = (ipaddress.ip_network("10.0.0.0/8"),)


def _login(api: Api, username: str, password: str, client: str | None = None) -> int:
    headers = {"X-Forwarded-For": client} if client else {}
    answer = api.call(
        "POST", "/login", json={"username": username, "password": password}, headers=headers
    )
    return answer.status_code


def test_one_client_spraying_many_usernames_is_stopped(api_with: ApiFactory) -> None:
    api = api_with(login_client_limit=5)
    statuses = [_login(api, f"someone{index}", WRONG) for index in range(6)]
    assert statuses == [401] * 5 + [429]


def test_a_stranger_guessing_cannot_lock_the_owner_out(api_with: ApiFactory) -> None:
    """Behind a trusted proxy, guesses from many addresses block themselves, not the owner."""
    api = api_with(peer=PROXY, trusted_proxies=PROXIES, login_account_limit=20)
    api.user("owner")
    assert _login(api, "owner", PASSWORD, "203.0.113.5") == 200  # the owner's usual address
    guesses = [
        _login(api, "owner", WRONG, f"198.51.100.{attacker}")
        for attacker in range(1, 4)
        for _ in range(11)
    ]
    # Each attacking address is stopped after 10 guesses...
    assert guesses.count(429) >= 3
    # ...the account, guessed at from everywhere, now refuses addresses it has never seen...
    assert _login(api, "owner", PASSWORD, "198.51.100.99") == 429
    # ...and the owner, from an address they logged in from before, still gets in.
    assert _login(api, "owner", PASSWORD, "203.0.113.5") == 200


def test_a_forwarded_address_from_an_untrusted_peer_is_ignored(api_with: ApiFactory) -> None:
    api = api_with(peer="192.0.2.1")  # no trusted proxies: the default
    api.user("dave")
    statuses = [_login(api, "dave", WRONG, f"198.51.100.{index}") for index in range(11)]
    assert statuses == [401] * 10 + [429]


def _request(peer: str, forwarded: list[str]) -> Request:
    headers = [(b"x-forwarded-for", value.encode()) for value in forwarded]
    return Request({"type": "http", "client": (peer, 1), "headers": headers})


@pytest.mark.unit
@pytest.mark.parametrize(
    ("peer", "forwarded", "expected"),
    [
        ("192.0.2.1", ["198.51.100.7"], "192.0.2.1"),  # not a proxy: its header is a lie
        (PROXY, ["198.51.100.7"], "198.51.100.7"),
        # A client's own X-Forwarded-For is to the left of what the proxy appended.
        (PROXY, ["6.6.6.6, 198.51.100.7"], "198.51.100.7"),
        (PROXY, ["6.6.6.6", "198.51.100.7, 10.0.0.3"], "198.51.100.7"),
        (PROXY, [], PROXY),
        (PROXY, ["not-an-address"], "not-an-address"),
        ("testclient", ["198.51.100.7"], "testclient"),
        # A host holds a whole /64: each of its addresses would be a fresh budget.
        ("2001:db8:1:2::1", [], "2001:db8:1:2::/64"),
        ("2001:db8:1:2:ffff::9", [], "2001:db8:1:2::/64"),
        (PROXY, ["2001:db8:1:3::1"], "2001:db8:1:3::/64"),
        ("::ffff:192.0.2.1", [], "192.0.2.1"),
    ],
)
def test_client_address_walks_back_past_trusted_proxies_only(
    peer: str, forwarded: list[str], expected: str
) -> None:
    assert client_address(_request(peer, forwarded), PROXIES) == expected
