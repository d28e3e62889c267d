"""Loopback ports for the servers tests and benchmarks start."""

import socket
from contextlib import ExitStack


def free_port() -> int:
    """A port nothing listens on now (the kernel picks; the race until use is acceptable)."""
    (port,) = free_ports(1)
    return port


def free_ports(count: int) -> list[int]:
    """``count`` distinct ports nothing listens on now.

    Each probe stays bound until all are picked: probing one at a time, the kernel may hand the
    same port out twice (it did: one process's metrics and health servers then collide).
    """
    with ExitStack() as probes:
        ports = []
        for _ in range(count):
            probe = probes.enter_context(socket.socket())
            probe.bind(("127.0.0.1", 0))
            ports.append(int(probe.getsockname()[1]))
        return ports


def port_is_free(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) != 0
