"""Loopback ports for the servers tests and benchmarks start."""

import random
import socket
from contextlib import ExitStack
from pathlib import Path

#: The lowest port picked: below it lie the well-known and registered services' ports.
LOWEST = 20000


def free_port() -> int:
    """A port nothing listens on now (see free_ports; the race until use is acceptable)."""
    (port,) = free_ports(1)
    return port


def free_ports(count: int) -> list[int]:
    """``count`` distinct ports nothing listens on now, below the kernel's ephemeral range.

    A port the kernel picks (bind to 0) lies inside that range, where every outgoing
    connection takes its local port too: one did take a picked port in the seconds before its
    server started (`make up` starts the control plane first, with hundreds of connections).
    Each probe stays bound until all are picked, so that no port is picked twice.
    """
    first_ephemeral = _first_ephemeral_port()
    with ExitStack() as probes:
        ports: list[int] = []
        while len(ports) < count:
            probe = probes.enter_context(socket.socket())
            try:
                probe.bind(("127.0.0.1", random.randrange(LOWEST, first_ephemeral)))
            except OSError:
                continue  # in use: another one
            ports.append(int(probe.getsockname()[1]))
        return ports


def _first_ephemeral_port() -> int:
    """The start of Linux's ``ip_local_port_range`` (32768 unless configured)."""
    try:
        first = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768
    if first - LOWEST < 1000:
        raise RuntimeError(f"the ephemeral port range starts at {first}: too low to pick ports")
    return first


def port_is_free(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) != 0
