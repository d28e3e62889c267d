"""The address a request comes from, trusting forwarded headers only from configured proxies.

Uvicorn by default believes ``X-Forwarded-For`` from loopback, so a client on the same host (or
behind a local sidecar) could name any address it liked and start every rate limit afresh. The
server runs with uvicorn's proxy handling off, and this module walks ``X-Forwarded-For`` from
the right, past the proxies the operator listed in ``SIMPLISMART_TRUSTED_PROXIES``, to the first
address no trusted proxy vouches for: the one an attacker cannot choose.

An IPv6 client counts as its /64: a host is usually given a whole /64, and counting its
addresses one by one would give it 2^64 fresh budgets.
"""

import ipaddress
from collections.abc import Sequence

from starlette.requests import Request

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def _trusted(address: str, proxies: Sequence[Network]) -> bool:
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        return False
    return any(ip in network for network in proxies)


def client_address(request: Request, proxies: Sequence[Network]) -> str:
    """Who the request comes from, as rate limits count clients."""
    return _counted(_origin(request, proxies))


def _origin(request: Request, proxies: Sequence[Network]) -> str:
    peer = request.client.host if request.client else "unknown"
    if not _trusted(peer, proxies):
        return peer
    forwarded = [
        hop.strip()
        for header in request.headers.getlist("x-forwarded-for")
        for hop in header.split(",")
        if hop.strip()
    ]
    for hop in reversed(forwarded):
        if not _trusted(hop, proxies):
            return hop
    return forwarded[0] if forwarded else peer


def _counted(address: str) -> str:
    """An IPv4 address as it is (unwrapped from IPv6), an IPv6 one as its /64."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)
