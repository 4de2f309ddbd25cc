"""The SSRF policy enforced again at connect time, on the address actually dialled; and the
outbound proxy of a corporate network, with the policy still checking the *target*.

:meth:`SsrfPolicy.check` runs when a configuration is saved and before each use, but it resolves
the host *itself*; the HTTP client then resolves it again to connect. A host whose DNS answer
changes in between (DNS rebinding: public at check time, ``127.0.0.1`` a second later) would slip
through. This module closes that gap: the client's network backend resolves the host once with
the policy's resolver, refuses if any answer is blocked, and connects to exactly the addresses
it checked (TLS still verifies the certificate against the host name).

Wire it with ``ClientPool(transport_factory=connect_guard(policy))`` wherever an organization's
slots are called (the job runner, the server's "Test" endpoint). A refused connection becomes a
``network`` error of the slot whose message names the host, the address and the fix.

**Behind a proxy** (``HTTPS_PROXY``/``HTTP_PROXY``, not excluded by ``NO_PROXY``; the
:class:`~hunkwise.config.proxies.Network` passed in, never the environment): the transport still
resolves the *target* with the policy's resolver and refuses a blocked answer *before* anything
is sent to the proxy, so the proxy never sees a ``CONNECT`` to ``169.254.169.254``. Then it opens
a ``CONNECT`` tunnel through the proxy (an ``http://`` target is forwarded instead) and TLS
verifies the target's certificate through the tunnel. The proxy's own address is not checked
against the block list: the operator configured it, and it usually is a private address.

The trade-off, honestly: behind a proxy the address actually dialled for the target is the
*proxy's* resolution, not ours, so a name whose DNS answer changes between our check and the
proxy's lookup (DNS rebinding) is only caught as far as our check-time answer goes; a proxy
that resolves internal names differently from this machine can reach what the check did not see.
Without a proxy the guard dials exactly what it checked. A name this machine cannot resolve at
all (DNS only through the proxy) is refused, with a message saying how to allow it
(``HUNKWISE_ALLOW_PRIVATE_BASE_URLS`` exempts a trusted host from the check). Proxies should
themselves refuse link-local and internal destinations where the network allows it.

A proxy that cannot be reached, or that refuses the tunnel (``407`` proxy authentication
required, ``403``), raises :class:`~hunkwise.errors.ProxyUnreachable` or
:class:`~hunkwise.errors.ProxyRefused` naming the proxy (credentials masked), so a diagnosis
tells the proxy's failure from the target's.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable, Iterator
from typing import Any

import httpcore2
import httpx2

from hunkwise.config.proxies import Network, ProxyUrl
from hunkwise.config.ssrf import ALLOW_ENV, SsrfPolicy, blocked_reason
from hunkwise.errors import ProxyRefused, ProxyUnreachable
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


class ProxyBackend(httpcore2.AsyncNetworkBackend):
    """Dials the configured proxy: allowed by configuration, so not held to the block list; a
    failure to reach it is the proxy's (:class:`ProxyUnreachable`), never the target's."""

    def __init__(self, proxy: ProxyUrl, inner: httpcore2.AsyncNetworkBackend | None = None) -> None:
        self._proxy = proxy
        self._inner = inner or httpcore2.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore2 backend interface)
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore2.AsyncNetworkStream:
        try:
            return await self._inner.connect_tcp(
                host, port, timeout=timeout, local_address=local_address, socket_options=socket_options
            )
        except (httpcore2.ConnectError, httpcore2.ConnectTimeout, OSError) as exc:
            what = "did not accept a connection in time" if isinstance(exc, httpcore2.ConnectTimeout) else exc
            raise ProxyUnreachable(
                f"cannot connect to the proxy {self._proxy.masked} ({what}); check HTTPS_PROXY/HTTP_PROXY, "
                "or list the target in NO_PROXY if it is reachable directly",
                proxy=self._proxy.masked,
            ) from exc

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore2 backend interface)
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore2.AsyncNetworkStream:
        raise ProxyUnreachable(f"a proxy is dialled over TCP, not the unix socket {path}")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


def refused_by_proxy(proxy: ProxyUrl, target: str, status: int | None, detail: str) -> ProxyRefused:
    """The proxy answered but would not carry the request: what it said and what to change."""
    if status == 407:
        hint = (
            "the proxy wants credentials: put them in the proxy URL (http://user:password@proxy:3128; "
            "percent-encode special characters)"
        )
    elif status == 403:
        hint = f"the proxy's rules forbid {target}: ask its admins to allow it, or list it in NO_PROXY"
    else:
        hint = f"the proxy could not reach {target} (or refused to): check the target URL and the proxy"
    return ProxyRefused(
        f"the proxy {proxy.masked} refused to carry the request to {target}: {detail}; {hint}",
        proxy=proxy.masked,
        status=status,
    )


class OutboundTransport(httpx2.AsyncBaseTransport):
    """An httpx2 transport over httpcore2 pools of our own: direct connections through a
    :class:`GuardedBackend` (or a plain one when ``policy`` is None), and one proxy pool per proxy
    of ``network``, chosen per request by :meth:`Network.proxy_for_host` (``NO_PROXY`` applies).

    httpx2's own ``AsyncHTTPTransport`` takes no network backend, so this is the transport
    interface implemented over ``httpcore2.AsyncConnectionPool`` / ``AsyncHTTPProxy`` (HTTP/1.1,
    the SDK's limits, certificates verified as httpx2 does by default or against the network's CA
    bundle), translating the request, the streamed response and httpcore2's errors the way
    httpx2's transport does.
    """

    def __init__(
        self, policy: SsrfPolicy | None, *, network: Network | None = None, limits: httpx2.Limits = _LIMITS
    ) -> None:
        self._policy = policy
        self._network = network or Network()
        self._limits = limits
        self._ssl = self._network.ssl_context() or httpx2.create_ssl_context()
        self._connections = httpcore2.AsyncConnectionPool(
            ssl_context=self._ssl,
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=GuardedBackend(policy) if policy is not None else httpcore2.AnyIOBackend(),
        )
        self._proxied: dict[str, httpcore2.AsyncHTTPProxy] = {}

    def _through(self, proxy: ProxyUrl) -> httpcore2.AsyncHTTPProxy:
        pool = self._proxied.get(proxy.url)
        if pool is None:
            parsed = httpx2.Proxy(proxy.url)  # the URL without its credentials, and the credentials
            pool = httpcore2.AsyncHTTPProxy(
                proxy_url=str(parsed.url),
                proxy_auth=parsed.auth,
                proxy_headers=parsed.headers.raw,
                ssl_context=self._ssl,  # the target's certificate, verified through the tunnel
                proxy_ssl_context=self._ssl if parsed.url.scheme == "https" else None,
                max_connections=self._limits.max_connections,
                max_keepalive_connections=self._limits.max_keepalive_connections,
                keepalive_expiry=self._limits.keepalive_expiry,
                network_backend=ProxyBackend(proxy),
            )
            self._proxied[proxy.url] = pool
        return pool

    async def _check_target(self, host: str, port: int) -> None:
        """The policy on the target, before the proxy is asked anything (see the module docstring)."""
        if self._policy is None or self._policy.is_exempt(host):
            return
        try:
            await GuardedBackend(self._policy).addresses(host, port)
        except httpcore2.ConnectError as exc:
            raise ConnectBlocked(
                f"connection refused by the server's SSRF policy: {host} cannot be resolved on this "
                f"machine ({exc}), so it cannot be checked before the proxy connects to it; an admin "
                f"who trusts it can add {host!r} to {ALLOW_ENV}",
                host=host,
            ) from exc

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        if not isinstance(request.stream, httpx2.AsyncByteStream):
            raise TypeError("OutboundTransport sends only requests built by an httpx2.AsyncClient")
        url = request.url
        scheme = url.scheme
        port = url.port or (443 if scheme == "https" else 80)
        proxy = self._network.proxy_for_host(scheme, url.host, port)
        pool: httpcore2.AsyncConnectionPool | httpcore2.AsyncHTTPProxy = self._connections
        if proxy is not None:
            await self._check_target(url.host, port)
            pool = self._through(proxy)
        outgoing = httpcore2.Request(
            method=request.method,
            url=httpcore2.URL(scheme=url.raw_scheme, host=url.raw_host, port=url.port, target=url.raw_path),
            headers=request.headers.raw,
            content=request.stream,
            extensions=request.extensions,
        )
        target = f"{url.host}:{port}"
        with _httpx_errors():
            try:
                response = await pool.handle_async_request(outgoing)
            except httpcore2.ProxyError as exc:  # the CONNECT was answered with a refusal
                if proxy is None:
                    raise
                detail = str(exc)
                head = detail.split(" ", 1)[0]
                status = int(head) if head.isdigit() else None
                raise refused_by_proxy(proxy, target, status, detail) from exc
        if proxy is not None and scheme == "http" and response.status == 407:  # forwarded, not tunnelled
            await response.aclose()
            raise refused_by_proxy(proxy, target, 407, "407 Proxy Authentication Required")
        if not isinstance(response.stream, AsyncIterable):  # httpcore2's async pool streams
            raise TypeError(f"httpcore2 returned a {type(response.stream).__name__} body")
        return httpx2.Response(
            status_code=response.status,
            headers=response.headers,
            stream=_ResponseStream(response.stream),
            extensions=response.extensions,
        )

    async def aclose(self) -> None:
        pools, self._proxied = list(self._proxied.values()), {}
        with _httpx_errors():
            await self._connections.aclose()
            for pool in pools:
                await pool.aclose()


class GuardedTransport(OutboundTransport):
    """An :class:`OutboundTransport` whose every connection the SSRF ``policy`` allowed: direct
    ones dial only checked addresses, proxied ones go only to a checked target."""

    def __init__(
        self, policy: SsrfPolicy, *, network: Network | None = None, limits: httpx2.Limits = _LIMITS
    ) -> None:
        super().__init__(policy, network=network, limits=limits)


def connect_guard(
    policy: SsrfPolicy, network: Network | None = None
) -> Callable[[Slot], httpx2.AsyncBaseTransport]:
    """A ``ClientPool`` transport factory that enforces ``policy`` on every connection, through
    ``network``'s proxies where they apply."""

    def factory(slot: Slot) -> httpx2.AsyncBaseTransport:
        return GuardedTransport(policy, network=network)

    return factory


__all__ = [
    "GuardedBackend",
    "GuardedTransport",
    "OutboundTransport",
    "ProxyBackend",
    "connect_guard",
    "refused_by_proxy",
]
