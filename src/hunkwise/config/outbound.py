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

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import httpx
    import httpx2

    from hunkwise.config.proxies import Network
    from hunkwise.config.ssrf import SsrfPolicy
    from hunkwise.gateway import Slot


def sdk_transports(
    network: Network, policy: SsrfPolicy | None = None
) -> Callable[[Slot], httpx2.AsyncBaseTransport] | None:
    """A ``ClientPool`` / ``QuotaMonitor`` transport factory for ``network``: through the SSRF
    guard when ``policy`` is given (organizations' slots), plain otherwise (the admin's or the
    CLI user's own slots); None when there is nothing to configure (the SDK's defaults).

    The transports' module (``httpcore2``, the SSRF guard) is imported only when one is built: a
    CLI review on a plain network, the common case, never loads it."""
    if policy is not None:
        from hunkwise.config.ssrf_connect import connect_guard

        return connect_guard(policy, network)
    if not network.configured:
        return None
    from hunkwise.config.ssrf_connect import OutboundTransport

    return lambda slot: OutboundTransport(None, network=network)


def platform_transport(network: Network, api_url: str) -> httpx.AsyncBaseTransport | None:
    """The transport of a GitHub/GitLab client on ``api_url``: through the proxy ``network``
    chooses for that root, trusting its CA bundle; None when nothing is configured.

    ``httpx`` (~40 ms of imports: its command-line module loads ``rich`` and ``click``) is imported
    here, not with this module, so the processes that only call models (``hunkwise review``, whose
    SDKs speak ``httpx2``) never load it."""
    if not network.configured:
        return None
    import httpx

    from hunkwise.config.platform_proxy import ProxiedPlatformTransport

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


__all__ = ["platform_transport", "sdk_transports"]
