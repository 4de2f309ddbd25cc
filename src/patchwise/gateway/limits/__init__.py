"""Concurrency leases and circuits behind one interface (local now; Redis for a cluster later)."""

from __future__ import annotations

from patchwise.gateway.limits.base import Circuit, Lease, LimitsBackend
from patchwise.gateway.limits.limiter import ADAPTIVE_RAISE_AFTER, ConcurrencyLimiter
from patchwise.gateway.limits.local import LocalBackend

__all__ = ["ADAPTIVE_RAISE_AFTER", "Circuit", "ConcurrencyLimiter", "Lease", "LimitsBackend", "LocalBackend"]
