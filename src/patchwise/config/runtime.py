"""Resolved configuration -> a running gateway. The only place that knows that wiring.

CLI runs on one machine share circuit state through ``state_path()`` (SQLite), so a spent
Coding Plan window discovered by one ``patchwise review`` is skipped by the next without a call.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from patchwise.config.paths import state_path
from patchwise.config.resolve import ResolvedConfig

if TYPE_CHECKING:
    from patchwise.gateway.limits.base import LimitsBackend
    from patchwise.gateway.policy import RetryPolicy, RouterEvent
    from patchwise.gateway.router import Router


def build_router(
    resolved: ResolvedConfig,
    *,
    backend: LimitsBackend | None = None,
    policy: RetryPolicy | None = None,
    on_event: Callable[[RouterEvent], None] | None = None,
) -> Router:
    """A router over the resolved slots with the local, persistent limits backend.

    The caller owns the backend it gets (``router.backend``): close it after ``router.aclose()``,
    or use :func:`open_router`, which does both.
    """
    from patchwise.gateway.limits.local import LocalBackend
    from patchwise.gateway.router import Router

    return Router(
        resolved.slots,
        backend=backend if backend is not None else LocalBackend(state_path()),
        policy=policy,
        on_event=on_event,
    )


@asynccontextmanager
async def open_router(
    resolved: ResolvedConfig,
    *,
    policy: RetryPolicy | None = None,
    on_event: Callable[[RouterEvent], None] | None = None,
) -> AsyncIterator[Router]:
    """``async with open_router(cfg) as router:`` closes the clients and the state store."""
    router = build_router(resolved, policy=policy, on_event=on_event)
    try:
        yield router
    finally:
        try:
            await router.aclose()
        finally:
            await router.backend.aclose()
