"""An in-process, FIFO-fair, cancellation-safe concurrency limiter with an adaptive mode.

Why not ``asyncio.Semaphore``: it lets a newcomer take a slot that was freed for a waiter
(no FIFO guarantee across releases), it cannot change its size while in use, and it reports no
wait time. Here a released slot is handed directly to the oldest waiter, so order is strict and
the in-flight count can never exceed the effective limit.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from dataclasses import dataclass, field

# Successes needed at the current effective limit before adaptive mode raises it by one.
ADAPTIVE_RAISE_AFTER = 20


class _NoLease:
    """The lease for an uncapped credential: nothing to wait for or give back."""

    __slots__ = ()
    waited_ms = 0.0

    async def release(self) -> None:
        return None


NO_LEASE = _NoLease()


@dataclass(slots=True)
class _State:
    configured: int
    effective: int
    in_flight: int = 0
    successes: int = 0
    waiters: deque[asyncio.Future[None]] = field(default_factory=deque)
    peak: int = 0


class _Lease:
    __slots__ = ("_key", "_limiter", "_released", "waited_ms")

    def __init__(self, limiter: ConcurrencyLimiter, key: str, waited_ms: float) -> None:
        self._limiter = limiter
        self._key = key
        self._released = False
        self.waited_ms = waited_ms

    async def release(self) -> None:
        if not self._released:  # idempotent: a double release must not free someone else's slot
            self._released = True
            self._limiter._release(self._key)


class ConcurrencyLimiter:
    """Per-key FIFO concurrency in one process, with an adaptive limit that backs off on the
    provider's concurrency refusals instead of hammering it.
    """

    def __init__(self) -> None:
        self._states: dict[str, _State] = {}

    def _state(self, key: str, limit: int) -> _State:
        state = self._states.get(key)
        if state is None:
            state = self._states[key] = _State(configured=limit, effective=limit)
        elif state.configured != limit:  # the configuration changed: follow it
            lowered = state.effective < state.configured
            state.configured = limit
            state.effective = min(state.effective, limit) if lowered else limit
            self._wake(state)
        return state

    async def acquire(self, key: str, limit: int | None, *, adaptive: bool = False) -> _Lease | _NoLease:
        """Wait for a slot under ``limit`` in arrival order, so no caller waits behind
        later arrivals however busy the key is.
        """
        if limit is None:
            return NO_LEASE
        state = self._state(key, max(1, limit))
        if not state.waiters and state.in_flight < state.effective:
            state.in_flight += 1
            state.peak = max(state.peak, state.in_flight)
            return _Lease(self, key, 0.0)
        started = time.perf_counter()
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        state.waiters.append(waiter)
        try:
            await waiter
        except BaseException:
            if waiter.done() and not waiter.cancelled():
                self._release(key)  # granted and cancelled in the same tick: pass the slot on
            else:
                with contextlib.suppress(ValueError):
                    state.waiters.remove(waiter)
            raise
        return _Lease(self, key, (time.perf_counter() - started) * 1000)

    def _release(self, key: str) -> None:
        state = self._states[key]
        state.in_flight -= 1
        self._wake(state)

    def _wake(self, state: _State) -> None:
        while state.waiters and state.in_flight < state.effective:
            waiter = state.waiters.popleft()
            if waiter.done():
                continue
            state.in_flight += 1
            state.peak = max(state.peak, state.in_flight)
            waiter.set_result(None)

    def lower(self, key: str) -> None:
        """A 1302: one fewer in flight from now on (never below one)."""
        state = self._states.get(key)
        if state is not None:
            state.effective = max(1, state.effective - 1)
            state.successes = 0

    def success(self, key: str) -> None:
        """Count a success; after ``ADAPTIVE_RAISE_AFTER`` of them the adaptive limit rises by one, so a
        passing squeeze does not cap the key for ever.
        """
        state = self._states.get(key)
        if state is None or state.effective >= state.configured:
            return
        state.successes += 1
        if state.successes >= ADAPTIVE_RAISE_AFTER:
            state.successes = 0
            state.effective += 1
            self._wake(state)

    def effective_limit(self, key: str) -> int | None:
        """The limit in force now, for status output and tests."""
        state = self._states.get(key)
        return state.effective if state else None

    def in_flight(self, key: str) -> int:
        """Calls holding a slot now, for status output and tests."""
        state = self._states.get(key)
        return state.in_flight if state else 0

    def queued(self, key: str) -> int:
        """Callers waiting for a slot of ``key`` (what a test or a status page waits on; the Redis
        backend has the same count cluster-wide)."""
        state = self._states.get(key)
        return sum(not w.done() for w in state.waiters) if state else 0

    def peak(self, key: str) -> int:
        """The most calls ever in flight at once, so benchmarks can show the limit held."""
        state = self._states.get(key)
        return state.peak if state else 0
