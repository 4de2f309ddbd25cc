"""Which base URLs an organization may point the server at (server-side request forgery policy).

An organization's BYOK base URL makes *our server* open a connection and send a request with a
key in it. Without a policy, anyone with an organization token could aim it at the cloud metadata
service, the database, or an admin port on the internal network. The rules:

* catalog endpoints (``api.z.ai``, ``api.openai.com``, ``api.anthropic.com``) are trusted (their
  addresses are not checked), over https only: the server sends a key to them;
* hosts the admin named in ``HUNKWISE_ALLOW_PRIVATE_BASE_URLS`` are allowed (self-hosted
  Ollama/vLLM, the simulator in tests), over http too: the only plain-http endpoints;
* everything else must be https and must resolve only to globally routable addresses: no
  loopback, private, link-local (incl. 169.254.169.254), CGNAT, multicast, reserved or unspecified
  addresses, no IPv4 hidden in IPv6 (``::ffff:127.0.0.1``, 6to4 ``2002::/16``), no cloud-metadata
  names.

A stored key is reused only for the same endpoint origin (:func:`endpoint_origin`: scheme, host
and port), never just the same host name.

The check runs when the configuration is saved and again before each use, because DNS answers
change (a host that did not resolve at save time is accepted with a warning).
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cache
from urllib.parse import urlsplit

from hunkwise.catalog.loader import load_catalog
from hunkwise.config.urls import split_url
from hunkwise.errors import ConfigurationError

ALLOW_ENV = "HUNKWISE_ALLOW_PRIVATE_BASE_URLS"

# Names that reach a cloud provider's instance metadata service without an IP in the URL.
_METADATA_NAMES = frozenset(
    {"metadata", "metadata.google.internal", "metadata.goog", "instance-data", "instance-data.ec2.internal"}
)
_METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a) for a in ("169.254.169.254", "169.254.170.2", "fd00:ec2::254", "100.100.100.200")
)
_CGNAT = ipaddress.ip_network("100.64.0.0/10")
_DEFAULT_PORTS = {"http": 80, "https": 443}

Resolver = Callable[[str, int], list[str]]


def _system_resolve(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return sorted({str(info[4][0]) for info in infos})


@cache
def trusted_hosts() -> frozenset[str]:
    """Hosts of every endpoint the catalog ships (providers' defaults and Z.AI plans)."""
    catalog = load_catalog()
    urls = [p.default_base_url for p in catalog.providers.values()]
    urls += [plan.base_url for plan in catalog.plans.values()]
    return frozenset(h for h in (urlsplit(u).hostname for u in urls if u) if h)


def parse_allow_list(raw: str | Iterable[str] | None) -> frozenset[str]:
    """``"ollama.lan, 127.0.0.1"`` -> ``{"ollama.lan", "127.0.0.1"}`` (lower-case, no brackets)."""
    if raw is None:
        return frozenset()
    items = raw.split(",") if isinstance(raw, str) else list(raw)
    return frozenset(i.strip().strip("[]").lower() for i in items if i.strip())


def blocked_reason(address: str) -> str | None:
    """Why a server must not connect to ``address`` on an organization's behalf (None = fine)."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return blocked_reason(str(ip.ipv4_mapped))
    if isinstance(ip, ipaddress.IPv6Address) and ip.sixtofour is not None:
        # 2002::/16 embeds an IPv4 address a 6to4 router forwards to; Python calls it global.
        return blocked_reason(str(ip.sixtofour)) or "a 6to4 (2002::/16) address"
    if ip in _METADATA_ADDRESSES:
        return "a cloud metadata address"
    checks = (
        (ip.is_loopback, "a loopback address"),
        (ip.is_link_local, "a link-local address"),
        (ip.version == 4 and ip in _CGNAT, "a carrier-grade NAT (100.64.0.0/10) address"),
        (ip.is_multicast, "a multicast address"),
        (ip.is_unspecified, "the unspecified address"),
        (ip.is_private, "a private-network address"),
        (ip.is_reserved, "a reserved address"),
        (not ip.is_global, "a non-public address"),
    )
    return next((reason for hit, reason in checks if hit), None)


@dataclass(frozen=True)
class SsrfPolicy:
    """The server's rule for organization base URLs; ``resolver`` is injectable for tests."""

    allowed_hosts: frozenset[str] = frozenset()
    resolver: Resolver = field(default=_system_resolve, repr=False, compare=False)

    def is_exempt(self, host: str) -> bool:
        host = host.strip("[]").lower()
        return host in self.allowed_hosts or host in trusted_hosts()

    def is_allow_listed(self, host: str) -> bool:
        """Named by the admin in ``HUNKWISE_ALLOW_PRIVATE_BASE_URLS``: may use plain http."""
        return host.strip("[]").lower() in self.allowed_hosts

    def check(self, url: str, *, setting: str = "base_url", at_save: bool = True) -> list[str]:
        """Raise :class:`ConfigurationError` naming ``setting`` when ``url`` is not allowed; return
        warnings (a host that does not resolve *at save time* is accepted with one).

        At request time (``at_save=False``) a host that does not resolve is let through: the
        connection cannot reach anything then, and a proxy in front of the server resolves it.
        """
        parts = split_url(url.strip(), setting=setting)
        host = (parts.hostname or "").lower()
        if not host:
            raise ConfigurationError(f"{setting} {url!r} has no host name", setting=setting)
        if self.is_allow_listed(host):
            return []
        hint = f"; an admin can allow a self-hosted server by adding {host!r} to {ALLOW_ENV}"
        if parts.scheme.lower() != "https":
            raise ConfigurationError(
                f"{setting} must use https:// (got {parts.scheme or 'no scheme'}://): the server sends "
                f"your API key with every request{'' if host in trusted_hosts() else hint}",
                setting=setting,
            )
        if host in trusted_hosts():
            return []
        if host in _METADATA_NAMES or host == "localhost" or host.endswith(".localhost"):
            raise ConfigurationError(
                f"{setting} points at {host!r}, an internal host the server will not call{hint}",
                setting=setting,
            )
        try:
            literal = ipaddress.ip_address(host)
        except ValueError:
            literal = None
        if literal is not None:
            addresses = [str(literal)]
        else:
            try:
                addresses = self.resolver(host, parts.port or 443)
            except (OSError, UnicodeError):
                if not at_save:
                    return []
                return [
                    f"{setting}: {host!r} does not resolve from this server right now; saved anyway, "
                    "and checked again before every request"
                ]
        for address in addresses:
            reason = blocked_reason(address)
            if reason:
                what = f"{host} is" if literal is not None else f"{host!r} resolves to {address},"
                raise ConfigurationError(f"{setting} is not allowed: {what} {reason}{hint}", setting=setting)
        return []


def endpoint_origin(url: str) -> tuple[str, str, int | None]:
    """``(scheme, host, port)`` of ``url``, the default port filled in: what a stored key is bound
    to (the same host over http, or on another port, is another endpoint)."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    try:
        port = parts.port
    except ValueError:
        port = None
    return scheme, (parts.hostname or "").lower(), port if port is not None else _DEFAULT_PORTS.get(scheme)


def format_origin(origin: tuple[str, str, int | None]) -> str:
    scheme, host, port = origin
    host = f"[{host}]" if ":" in host else host
    return f"{scheme}://{host}" + (
        f":{port}" if port is not None and port != _DEFAULT_PORTS.get(scheme) else ""
    )


__all__ = [
    "ALLOW_ENV",
    "SsrfPolicy",
    "blocked_reason",
    "endpoint_origin",
    "format_origin",
    "parse_allow_list",
    "trusted_hosts",
]
