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
import contextlib
import ipaddress
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable, Iterator
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


# httpcore2's exceptions as httpx2's, most specific first (the first match wins): what
# ``httpx2.AsyncHTTPTransport`` does, so the SDK above sees the same errors as with its own
# transport (``openai.APIConnectionError``, ``APITimeoutError``, ...). Anything else, such as
# :class:`ConnectBlocked`, passes through unchanged: the gateway finds it among the causes.
_HTTPCORE_ERRORS: tuple[tuple[type[Exception], type[httpx2.HTTPError]], ...] = (
    (httpcore2.ConnectTimeout, httpx2.ConnectTimeout),
    (httpcore2.ReadTimeout, httpx2.ReadTimeout),
    (httpcore2.WriteTimeout, httpx2.WriteTimeout),
    (httpcore2.PoolTimeout, httpx2.PoolTimeout),
    (httpcore2.TimeoutException, httpx2.TimeoutException),
    (httpcore2.ConnectError, httpx2.ConnectError),
    (httpcore2.ReadError, httpx2.ReadError),
    (httpcore2.WriteError, httpx2.WriteError),
    (httpcore2.NetworkError, httpx2.NetworkError),
    (httpcore2.ProxyError, httpx2.ProxyError),
    (httpcore2.UnsupportedProtocol, httpx2.UnsupportedProtocol),
    (httpcore2.RemoteProtocolError, httpx2.RemoteProtocolError),
    (httpcore2.LocalProtocolError, httpx2.LocalProtocolError),
    (httpcore2.ProtocolError, httpx2.ProtocolError),
)


@contextlib.contextmanager
def _httpx_errors() -> Iterator[None]:
    try:
        yield
    except Exception as exc:
        mapped = next((to for frm, to in _HTTPCORE_ERRORS if isinstance(exc, frm)), None)
        if mapped is None:
            raise
        raise mapped(str(exc)) from exc


class _ResponseStream(httpx2.AsyncByteStream):
    """The body as httpcore2 streams it, chunk by chunk, with its errors translated; closing it
    hands the connection back to the pool."""

    def __init__(self, stream: AsyncIterable[bytes]) -> None:
        self._stream = stream

    async def __aiter__(self) -> AsyncIterator[bytes]:
        with _httpx_errors():
            async for chunk in self._stream:
                yield chunk

    async def aclose(self) -> None:
        aclose = getattr(self._stream, "aclose", None)
        if aclose is not None:
            with _httpx_errors():
                await aclose()


class GuardedTransport(httpx2.AsyncBaseTransport):
    """An httpx2 transport whose connections go through a :class:`GuardedBackend`.

    httpx2's own ``AsyncHTTPTransport`` takes no network backend, so this is the transport
    interface implemented over an ``httpcore2.AsyncConnectionPool`` of our own (HTTP/1.1, the
    SDK's limits, certificates verified as httpx2 does by default, no proxy), translating the
    request, the streamed response and httpcore2's errors the way httpx2's transport does.
    """

    def __init__(self, policy: SsrfPolicy, *, limits: httpx2.Limits = _LIMITS) -> None:
        self._connections = httpcore2.AsyncConnectionPool(
            ssl_context=httpx2.create_ssl_context(),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=GuardedBackend(policy),
        )

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        if not isinstance(request.stream, httpx2.AsyncByteStream):
            raise TypeError("GuardedTransport sends only requests built by an httpx2.AsyncClient")
        outgoing = httpcore2.Request(
            method=request.method,
            url=httpcore2.URL(
                scheme=request.url.raw_scheme,
                host=request.url.raw_host,
                port=request.url.port,
                target=request.url.raw_path,
            ),
            headers=request.headers.raw,
            content=request.stream,
            extensions=request.extensions,
        )
        with _httpx_errors():
            response = await self._connections.handle_async_request(outgoing)
        if not isinstance(response.stream, AsyncIterable):  # httpcore2's async pool streams
            raise TypeError(f"httpcore2 returned a {type(response.stream).__name__} body")
        return httpx2.Response(
            status_code=response.status,
            headers=response.headers,
            stream=_ResponseStream(response.stream),
            extensions=response.extensions,
        )

    async def aclose(self) -> None:
        with _httpx_errors():
            await self._connections.aclose()


def connect_guard(policy: SsrfPolicy) -> Callable[[Slot], httpx2.AsyncBaseTransport]:
    """A ``ClientPool`` transport factory that enforces ``policy`` on every connection."""

    def factory(slot: Slot) -> httpx2.AsyncBaseTransport:
        return GuardedTransport(policy)

    return factory


__all__ = ["GuardedBackend", "GuardedTransport", "connect_guard"]
