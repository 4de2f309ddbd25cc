"""Concurrency leases and circuits behind one interface: in-process (local) or cluster-wide (Redis).

``RedisBackend`` imports ``redis`` only when constructed, so the local path never needs it.
"""

from __future__ import annotations

from patchwise.gateway.limits.base import Circuit, Lease, LimitsBackend
from patchwise.gateway.limits.limiter import ADAPTIVE_RAISE_AFTER, ConcurrencyLimiter
from patchwise.gateway.limits.local import LocalBackend
from patchwise.gateway.limits.redis_backend import RedisBackend

__all__ = [
    "ADAPTIVE_RAISE_AFTER",
    "Circuit",
    "ConcurrencyLimiter",
    "Lease",
    "LimitsBackend",
    "LocalBackend",
    "RedisBackend",
]
