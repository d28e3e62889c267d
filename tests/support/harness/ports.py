"""Loopback ports for the servers tests and benchmarks start."""

import socket


def free_port() -> int:
    """A port nothing listens on now (the kernel picks; the race until use is acceptable)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def port_is_free(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) != 0
