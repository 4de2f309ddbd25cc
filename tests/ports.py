"""Ports for servers a test starts, stops and starts again on the same port (a Redis outage).

A port picked by binding port 0 comes from the kernel's ephemeral range, so between the test
closing its probe socket and the server binding (or while the server is down for a restart),
any other process's ``bind(("127.0.0.1", 0))``, or any outgoing connection, can be handed the
same port: the restarted server then fails to bind and the test talks to a stranger, with no
timeout. With several test processes at once (pytest-xdist) that stopped being rare. Ports below
the ephemeral range are never handed out that way; one is taken only if nothing listens on it.
"""

from __future__ import annotations

import random
import socket


def _ephemeral_range() -> tuple[int, int]:
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as fh:
            low, high = (int(x) for x in fh.read().split())
            return low, high
    except (OSError, ValueError):
        return 32768, 60999


def restartable_port() -> int:
    """A free port outside the ephemeral range, to start a server on again and again."""
    low, high = _ephemeral_range()
    candidates = [p for p in range(20000, 32000) if not low <= p <= high]
    for port in random.sample(candidates, 200):
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise AssertionError("no free port between 20000 and 32000")
