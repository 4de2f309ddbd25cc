"""Resolved configuration -> a running gateway. The only place that knows that wiring.

CLI runs on one machine share circuit state through ``Settings.state_path`` (SQLite), so a spent
Coding Plan window discovered by one ``hunkwise review`` is skipped by the next without a call.
A cluster sets ``HUNKWISE_LIMITS_URL=redis://...`` (or ``HUNKWISE_REDIS_URL``) and every process
shares per-key concurrency leases, the adaptive limit and the circuits through Redis instead
(docs/cluster.md).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from hunkwise.config.resolve import ResolvedConfig

if TYPE_CHECKING:
    from hunkwise.config.settings import Settings
    from hunkwise.gateway import LimitsBackend, RetryPolicy, Router, RouterEvent


_REDIS_SCHEMES = ("redis://", "rediss://", "unix://")


def limits_backend(settings: Settings) -> LimitsBackend:
    """The limits backend the settings select; the caller closes it (``await b.aclose()``).

    ``HUNKWISE_LIMITS_URL`` (falling back to ``HUNKWISE_REDIS_URL``) = ``redis://host:6379/0``
    -> :class:`RedisBackend`, shared by every process of a cluster; ``HUNKWISE_LIMITS_NAMESPACE``
    (default ``hunkwise``) separates deployments sharing one Redis and
    ``HUNKWISE_LIMITS_LEASE_TTL`` (seconds, default 30) bounds how long a crashed worker's slot
    stays taken. Unset -> :class:`LocalBackend` with circuits in ``HUNKWISE_HOME/state.db``.
    """
    if settings.limits is None:
        from hunkwise.gateway import LocalBackend

        return LocalBackend(settings.state_path)
    name, url = settings.limits
    from hunkwise.errors import ConfigurationError
    from hunkwise.gateway import RedisBackend, redact_url

    if not url.startswith(_REDIS_SCHEMES):
        raise ConfigurationError(
            f"{name}={redact_url(url)!r} is not a Redis URL: use redis://host:6379/0 "
            "(rediss:// for TLS, unix:///path/redis.sock)",
            setting=name,
        )
    ttl = settings.limits_lease_ttl
    return RedisBackend(url, namespace=settings.limits_namespace, lease_ttl_s=ttl, heartbeat_s=ttl / 3)


@asynccontextmanager
async def open_router(
    resolved: ResolvedConfig,
    *,
    settings: Settings,
    policy: RetryPolicy | None = None,
    on_event: Callable[[RouterEvent], None] | None = None,
) -> AsyncIterator[Router]:
    """``async with open_router(cfg, settings=...) as router:`` over the resolved slots with the
    configured limits backend (:func:`limits_backend`), through the configured proxy and CA
    bundle (:mod:`hunkwise.config.outbound`); closes the clients and the backend."""
    from hunkwise.config.outbound import sdk_transports
    from hunkwise.gateway import ClientPool, Router

    factory = sdk_transports(settings.network)
    clients = ClientPool(transport_factory=factory) if factory is not None else None
    router = Router(
        resolved.slots, backend=limits_backend(settings), policy=policy, on_event=on_event, clients=clients
    )
    try:
        yield router
    finally:
        try:
            await router.aclose()
        finally:
            try:
                await router.backend.aclose()
            finally:
                if clients is not None:  # the router closes only the clients it made
                    await clients.aclose()
