"""Every outbound client built from one :class:`~hunkwise.config.proxies.Network`: the model SDKs'
transports, the platform clients' transport.

The composition roots (``jobs/runtime.py`` for ``serve`` and ``worker``, each CLI command) read
``Settings.network`` once and hand it here; the clients never look at ``HTTPS_PROXY`` or
``SSL_CERT_FILE`` themselves (each transport built here has the libraries' ``trust_env`` reading
replaced by the explicit network). When the network is not configured (no proxy, no CA bundle) the
functions return ``None`` and the libraries' defaults stand, exactly as before proxies existed.

Two HTTP stacks are in play: the model SDKs speak ``httpx2`` (their transports are
:class:`~hunkwise.config.ssrf_connect.OutboundTransport`, guarded or not), the GitHub and GitLab
clients ``httpx`` (:func:`platform_transport`). A proxy's own failure becomes a
:class:`~hunkwise.errors.ProxyUnreachable` or :class:`~hunkwise.errors.ProxyRefused` in both.
"""

from __future__ import annotations

import ssl
from collections.abc import Callable
from typing import TYPE_CHECKING

import httpx
import httpx2

from hunkwise.config.proxies import Network, ProxyUrl
from hunkwise.config.ssrf_connect import OutboundTransport, connect_guard, refused_by_proxy
from hunkwise.errors import ProxyUnreachable, causes

if TYPE_CHECKING:
    from hunkwise.config.ssrf import SsrfPolicy
    from hunkwise.gateway import Slot


def sdk_transports(
    network: Network, policy: SsrfPolicy | None = None
) -> Callable[[Slot], httpx2.AsyncBaseTransport] | None:
    """A ``ClientPool`` / ``QuotaMonitor`` transport factory for ``network``: through the SSRF
    guard when ``policy`` is given (organizations' slots), plain otherwise (the admin's or the
    CLI user's own slots); None when there is nothing to configure (the SDK's defaults)."""
    if policy is not None:
        return connect_guard(policy, network)
    if not network.configured:
        return None
    return lambda slot: OutboundTransport(None, network=network)


def platform_transport(network: Network, api_url: str) -> httpx.AsyncBaseTransport | None:
    """The transport of a GitHub/GitLab client on ``api_url``: through the proxy ``network``
    chooses for that root, trusting its CA bundle; None when nothing is configured."""
    if not network.configured:
        return None
    proxy = network.proxy_for(api_url)
    context = network.ssl_context()
    # The bundle is trusted for an https:// proxy's own certificate too: httpx.Proxy's default
    # context for the proxy is its library's bundle, which knows no corporate CA.
    inner = httpx.AsyncHTTPTransport(
        verify=context or True,
        trust_env=False,
        proxy=httpx.Proxy(proxy.url, ssl_context=context) if proxy is not None else None,
    )
    return inner if proxy is None else ProxiedPlatformTransport(inner, proxy)


class ProxiedPlatformTransport(httpx.AsyncBaseTransport):
    """httpx's proxy transport, with the proxy's failures named as the proxy's: a refused
    ``CONNECT`` (``407``, ``403``) is :class:`ProxyRefused`, a proxy that cannot be connected to
    :class:`ProxyUnreachable`; a TLS failure after the tunnel is the target's and passes through."""

    def __init__(self, inner: httpx.AsyncBaseTransport, proxy: ProxyUrl) -> None:
        self._inner = inner
        self._proxy = proxy

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        target = f"{request.url.host}:{request.url.port or (443 if request.url.scheme == 'https' else 80)}"
        try:
            response = await self._inner.handle_async_request(request)
        except httpx.ProxyError as exc:
            head = str(exc).split(" ", 1)[0]
            raise refused_by_proxy(
                self._proxy, target, int(head) if head.isdigit() else None, str(exc)
            ) from exc
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            if any(isinstance(c, ssl.SSLError) for c in causes(exc)) or "ssl" in str(exc).lower():
                raise  # the tunnel was open: the target's certificate failed
            what = "did not accept a connection in time" if isinstance(exc, httpx.ConnectTimeout) else exc
            raise ProxyUnreachable(
                f"cannot connect to the proxy {self._proxy.masked} ({what}); check HTTPS_PROXY/HTTP_PROXY, "
                "or list the target in NO_PROXY if it is reachable directly",
                proxy=self._proxy.masked,
            ) from exc
        if request.url.scheme == "http" and response.status_code == 407:  # forwarded, not tunnelled
            await response.aclose()
            raise refused_by_proxy(self._proxy, target, 407, "407 Proxy Authentication Required")
        return response

    async def aclose(self) -> None:
        await self._inner.aclose()


__all__ = ["ProxiedPlatformTransport", "platform_transport", "sdk_transports"]
