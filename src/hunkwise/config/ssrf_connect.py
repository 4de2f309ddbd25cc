"""The SSRF policy enforced again at connect time, on the address actually dialled.

:meth:`SsrfPolicy.check` runs when a configuration is saved and before each use, but it resolves
the host *itself*; the HTTP client then resolves it again to connect. A host whose DNS answer
changes in between (DNS rebinding: public at check time, ``127.0.0.1`` a second later) would slip
through. This module closes that gap: the client's network backend resolves the host once with
the policy's resolver, refuses if any answer is blocked, and connects to exactly the addresses
it checked (TLS still verifies the certificate against the host name).

Wire it with ``ClientPool(transport_factory=connect_guard(policy))`` wherever an organization's
slots are called (the job runner, the server's "Test" endpoint). A refused connection becomes a
``network`` error of the slot whose message names the host, the address and the fix.

Environment proxies (``HTTPS_PROXY``) are not used by a guarded client: the server connects
directly, because a proxy would make the dialled address invisible to the guard.
"""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import Callable, Iterable
from typing import Any

import httpcore2
import httpx2

from hunkwise.config.ssrf import ALLOW_ENV, SsrfPolicy, blocked_reason
from hunkwise.gateway import ConnectBlocked, Slot

# The openai SDK's defaults for its own pool, kept for the guarded one.
_LIMITS = httpx2.Limits(max_connections=1000, max_keepalive_connections=100)


class GuardedBackend(httpcore2.AsyncNetworkBackend):
    """A network backend that only dials addresses the policy allows."""

    def __init__(self, policy: SsrfPolicy, inner: httpcore2.AsyncNetworkBackend | None = None) -> None:
        self._policy = policy
        self._inner = inner or httpcore2.AnyIOBackend()

    async def addresses(self, host: str, port: int) -> list[str]:
        """The addresses to dial for ``host``, each already allowed; raises :class:`ConnectBlocked`."""
        host = host.strip("[]")
        try:
            addresses = [str(ipaddress.ip_address(host))]
        except ValueError:
            addresses = []
        if not addresses:
            # getaddrinfo blocks: off the event loop. A failure must look exactly like an unguarded
            # client's (httpcore's ConnectError caused by the resolver's error), so the gateway
            # diagnoses it as a network error ("DNS lookup failed for <host>") instead of a crash.
            try:
                addresses = await asyncio.to_thread(self._policy.resolver, host, port)
            except (OSError, UnicodeError) as exc:
                raise httpcore2.ConnectError(f"DNS lookup failed for {host}: {exc}") from exc
        if self._policy.is_exempt(host):
            return addresses
        for address in addresses:
            reason = blocked_reason(address)
            if reason:
                what = f"{host} is" if address == host else f"{host} resolves to {address},"
                raise ConnectBlocked(
                    f"connection refused by the server's SSRF policy: {what} {reason}; an admin can "
                    f"allow a self-hosted server by adding {host!r} to {ALLOW_ENV}",
                    host=host,
                    address=address,
                )
        return addresses

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore2 backend interface)
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore2.AsyncNetworkStream:
        addresses = await self.addresses(host, port)
        if not addresses:
            raise httpcore2.ConnectError(f"{host} has no address")
        last: Exception | None = None
        for address in addresses:  # in resolver order, like a plain client without happy eyeballs
            try:
                return await self._inner.connect_tcp(
                    address, port, timeout=timeout, local_address=local_address, socket_options=socket_options
                )
            except (httpcore2.ConnectError, httpcore2.ConnectTimeout) as exc:
                last = exc
        assert last is not None
        raise last

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore2 backend interface)
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore2.AsyncNetworkStream:
        raise ConnectBlocked(f"connection refused by the server's SSRF policy: unix socket {path}")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class GuardedTransport(httpx2.AsyncHTTPTransport):
    """``httpx2.AsyncHTTPTransport`` whose connections go through a :class:`GuardedBackend`."""

    def __init__(self, policy: SsrfPolicy, *, limits: httpx2.Limits = _LIMITS) -> None:
        super().__init__(limits=limits)
        # httpx2 does not expose the network backend: rebuild its pool with ours (same settings).
        self._pool = httpcore2.AsyncConnectionPool(
            ssl_context=httpx2.create_ssl_context(),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=GuardedBackend(policy),
        )


def connect_guard(policy: SsrfPolicy) -> Callable[[Slot], httpx2.AsyncBaseTransport]:
    """A ``ClientPool`` transport factory that enforces ``policy`` on every connection."""

    def factory(slot: Slot) -> httpx2.AsyncBaseTransport:
        return GuardedTransport(policy)

    return factory


__all__ = ["GuardedBackend", "GuardedTransport", "connect_guard"]
