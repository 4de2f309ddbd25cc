"""The limits interface: concurrency leases per credential and circuits per (credential, model).

Every method is async and every grant is a :class:`Lease` released explicitly, so a backend
shared across processes (Redis: a lease is a key with a TTL, refreshed while held) implements the
same contract as the in-process one. Time is epoch seconds from the caller's clock, so circuits
written by one process are read correctly by another.

Named like :mod:`hunkwise.gateway.adapters.base` on purpose: ``base`` is the interface of its
subpackage (limits backends here, adapters there).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable


@dataclass(frozen=True, slots=True)
class Circuit:
    """An open circuit: do not call ``model`` with ``credential_id`` before ``until``."""

    credential_id: str
    model: str
    until: float  # epoch seconds
    kind: str  # the ErrorKind value that opened it
    reason: str  # the provider's message, shown to operators

    def is_open(self, now: float) -> bool:
        """Whether the circuit still blocks calls at ``now``; time is passed in so
        every process judges it by the same clock.
        """
        return now < self.until


class Lease(Protocol):
    """One granted concurrency slot. ``waited_ms`` is the time spent queued for it."""

    @property
    def waited_ms(self) -> float:
        """Time spent queued for this slot, recorded with the call so waits show up in metrics."""

    async def release(self) -> None:
        """Give the slot back; explicit (not on garbage collection) so a shared backend frees it at once."""


@runtime_checkable
class LimitsBackend(Protocol):
    """Where concurrency leases and circuits live: in the process or in Redis, one contract, so the
    router is the same for one CLI run and a cluster.
    """

    async def acquire(self, credential_id: str, limit: int | None, *, adaptive: bool = False) -> Lease:
        """Wait (FIFO) for a slot; never fails for being busy. ``limit=None`` means no cap."""
        ...

    async def report_concurrency_error(self, credential_id: str) -> None:
        """The provider refused for concurrency (1302): adaptive limiters lower their limit."""
        ...

    async def report_success(self, credential_id: str) -> None:
        """A call succeeded: adaptive limiters slowly raise their limit back."""
        ...

    def effective_limit(self, credential_id: str) -> int | None:
        """The limit in force now (below the configured one after 1302s in adaptive mode)."""
        ...

    async def open_circuit(self, circuit: Circuit) -> None:
        """Stop calls to a (key, model) pair until the circuit's time, for
        every process sharing the backend.
        """

    async def circuit(self, credential_id: str, model: str, now: float) -> Circuit | None:
        """The open circuit for this pair at ``now``, or ``None``."""
        ...

    async def close_circuit(self, credential_id: str, model: str) -> None:
        """Lift a circuit early (a call through it succeeded), for every process sharing the backend."""

    async def circuits(self, now: float) -> list[Circuit]:
        """Every circuit open at ``now`` (for status pages)."""
        ...

    async def aclose(self) -> None:
        """Release what the backend holds (leases, connections, files) so
        shutting down leaves no slot taken.
        """
