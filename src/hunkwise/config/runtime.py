"""Resolved configuration -> a running gateway. The only place that knows that wiring.

CLI runs on one machine share circuit state through ``state_path()`` (SQLite), so a spent
Coding Plan window discovered by one ``hunkwise review`` is skipped by the next without a call.
A cluster sets ``HUNKWISE_LIMITS_URL=redis://...`` (or ``HUNKWISE_REDIS_URL``) and every process
shares per-key concurrency leases, the adaptive limit and the circuits through Redis instead
(docs/cluster.md).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from hunkwise.config.paths import state_path
from hunkwise.config.resolve import ResolvedConfig

if TYPE_CHECKING:
    from hunkwise.gateway.limits.base import LimitsBackend
    from hunkwise.gateway.policy import RetryPolicy, RouterEvent
    from hunkwise.gateway.router import Router


def build_router(
    resolved: ResolvedConfig,
    *,
    backend: LimitsBackend | None = None,
    policy: RetryPolicy | None = None,
    on_event: Callable[[RouterEvent], None] | None = None,
) -> Router:
    """A router over the resolved slots with the configured limits backend
    (:func:`limits_backend`: Redis when ``HUNKWISE_LIMITS_URL`` is set, else local + persistent).

    The caller owns the backend it gets (``router.backend``): close it after ``router.aclose()``,
    or use :func:`open_router`, which does both.
    """
    from hunkwise.gateway.router import Router

    return Router(
        resolved.slots,
        backend=backend if backend is not None else limits_backend(),
        policy=policy,
        on_event=on_event,
    )


LIMITS_URL_ENV = ("HUNKWISE_LIMITS_URL", "HUNKWISE_REDIS_URL")
_REDIS_SCHEMES = ("redis://", "rediss://", "unix://")


def limits_backend(environ: Mapping[str, str] | None = None) -> LimitsBackend:
    """The limits backend the environment selects; the caller closes it (``await b.aclose()``).

    ``HUNKWISE_LIMITS_URL`` (falling back to ``HUNKWISE_REDIS_URL``) = ``redis://host:6379/0``
    -> :class:`RedisBackend`, shared by every process of a cluster; ``HUNKWISE_LIMITS_NAMESPACE``
    (default ``hunkwise``) separates deployments sharing one Redis and
    ``HUNKWISE_LIMITS_LEASE_TTL`` (seconds, default 30) bounds how long a crashed worker's slot
    stays taken. Unset -> :class:`LocalBackend` with circuits in ``HUNKWISE_HOME/state.db``.
    """
    env = os.environ if environ is None else environ
    name, url = next(((n, env[n].strip()) for n in LIMITS_URL_ENV if env.get(n, "").strip()), ("", ""))
    if not url:
        from hunkwise.gateway.limits.local import LocalBackend

        return LocalBackend(state_path())
    from hunkwise.errors import ConfigurationError
    from hunkwise.gateway.limits.redis_backend import RedisBackend, redact_url

    if not url.startswith(_REDIS_SCHEMES):
        raise ConfigurationError(
            f"{name}={redact_url(url)!r} is not a Redis URL: use redis://host:6379/0 "
            "(rediss:// for TLS, unix:///path/redis.sock)",
            setting=name,
        )
    raw_ttl = env.get("HUNKWISE_LIMITS_LEASE_TTL", "").strip() or "30"
    try:
        ttl = float(raw_ttl)
        if not 1 <= ttl <= 3600:
            raise ValueError
    except ValueError:
        raise ConfigurationError(
            f"HUNKWISE_LIMITS_LEASE_TTL={raw_ttl!r}: expected seconds between 1 and 3600 (default 30)",
            setting="HUNKWISE_LIMITS_LEASE_TTL",
        ) from None
    namespace = env.get("HUNKWISE_LIMITS_NAMESPACE", "").strip() or "hunkwise"
    return RedisBackend(url, namespace=namespace, lease_ttl_s=ttl, heartbeat_s=ttl / 3)


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
