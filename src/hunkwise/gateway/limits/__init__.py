"""Concurrency leases and circuits behind one interface: in-process (local) or cluster-wide (Redis).

``RedisBackend`` imports ``redis`` only when constructed, so the local path never needs it.
"""

from __future__ import annotations

from hunkwise.gateway.limits.base import Circuit, Lease, LimitsBackend
from hunkwise.gateway.limits.limiter import ADAPTIVE_RAISE_AFTER, ConcurrencyLimiter
from hunkwise.gateway.limits.local import LocalBackend
from hunkwise.gateway.limits.redis_backend import RedisBackend

__all__ = [
    "ADAPTIVE_RAISE_AFTER",
    "Circuit",
    "ConcurrencyLimiter",
    "Lease",
    "LimitsBackend",
    "LocalBackend",
    "RedisBackend",
]
