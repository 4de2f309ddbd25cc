"""The platform clients' proxy transport: ``httpx``'s, with the proxy's own failures named.

Built by :func:`hunkwise.config.outbound.platform_transport` only when a proxy is configured; kept
apart from that module so that importing it (every model-calling process does) does not load
``httpx``, which only the GitHub/GitLab/... clients use.
"""

from __future__ import annotations

import ssl

import httpx

from hunkwise.config.proxies import ProxyUrl
from hunkwise.config.ssrf_connect import refused_by_proxy
from hunkwise.errors import ProxyUnreachable, causes


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


__all__ = ["ProxiedPlatformTransport"]
