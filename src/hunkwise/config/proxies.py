"""Corporate networks: which outbound proxy a URL goes through, and which CAs TLS trusts.

:class:`Network` is plain data built once by :class:`~hunkwise.config.settings.Settings` from
``HTTPS_PROXY`` / ``HTTP_PROXY`` / ``ALL_PROXY`` / ``NO_PROXY`` (each also lowercase; lowercase wins
when both are set, as in curl and urllib), ``HUNKWISE_CA_BUNDLE`` and ``SSL_CERT_FILE``, and passed
to wherever a client is built (:mod:`hunkwise.config.outbound`). Nothing here reads the
environment: the HTTP libraries' own ``trust_env`` reading is replaced by this one decision, so
``hunkwise config show`` can say exactly what a server uses.

The routing rules are the de-facto standard (curl, requests, httpx):

* an ``https://`` target uses ``HTTPS_PROXY``, an ``http://`` one ``HTTP_PROXY``; either falls
  back to ``ALL_PROXY``;
* ``NO_PROXY`` is a comma-separated list: ``*`` (no proxy at all), a host name that also matches
  its subdomains (``example.com``, ``.example.com`` and ``*.example.com`` all match
  ``api.example.com`` and ``example.com``), optionally with ``:port``, an IP address, or a CIDR
  network (``10.0.0.0/8``) matched against IP-literal targets.

A proxy URL's credentials (``http://user:password@proxy:3128``) are sent to the proxy only; every
place that shows or logs the URL shows :func:`masked_url` instead.
"""

from __future__ import annotations

import functools
import ipaddress
import ssl
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from hunkwise.errors import ConfigurationError

PROXY_SCHEMES = ("http", "https")
CA_BUNDLE_ENV = "HUNKWISE_CA_BUNDLE"


@dataclass(frozen=True)
class ProxyUrl:
    """A proxy's URL, credentials and all; ``str()`` and ``repr()`` mask the credentials, so a
    settings dump, a log line or an error message can never show them."""

    url: str

    @property
    def masked(self) -> str:
        return masked_url(self.url)

    def __str__(self) -> str:
        return self.masked

    def __repr__(self) -> str:
        return f"ProxyUrl({self.masked!r})"


def masked_url(url: str) -> str:
    """``url`` with any ``user:password@`` replaced by ``***@``: everything between the scheme
    and the last ``@``, not only what a URL parser calls the credentials, because a password
    with an unencoded ``/``, ``?`` or ``#`` ends the parsed authority early (a proxy URL has no
    reason to carry an ``@`` anywhere else)."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        scheme, rest = "", url
    if "@" not in rest:
        return url
    return f"{scheme}{sep}***@{rest.rsplit('@', 1)[1]}"


def parse_proxy_url(name: str, value: str) -> ProxyUrl:
    """``value`` as a proxy URL, or a :class:`ConfigurationError` naming ``name``.

    A bare ``host:port`` (as some tools accept) is taken as ``http://host:port``; SOCKS proxies are
    refused with a clear message rather than silently bypassed.
    """
    text = value.strip()
    if "://" not in text:
        text = "http://" + text
    parts = urlsplit(text)
    shown = masked_url(text)
    if text.partition("://")[2].rpartition("@")[0] != parts.netloc.rpartition("@")[0]:
        raise ConfigurationError(
            f"{name} = {shown!r}: the credentials hold a character that must be percent-encoded "
            "(@ as %40, / as %2F, ? as %3F, # as %23, : in the user name as %3A)",
            setting=name,
        )
    if parts.scheme.lower() not in PROXY_SCHEMES:
        raise ConfigurationError(
            f"{name} = {shown!r}: only http:// and https:// proxies are supported (an HTTP CONNECT "
            "proxy such as Squid); SOCKS is not",
            setting=name,
        )
    try:
        port = parts.port
    except ValueError:
        raise ConfigurationError(f"{name} = {shown!r}: the port is not a number", setting=name) from None
    if not parts.hostname:
        raise ConfigurationError(
            f"{name} = {shown!r} names no host; expected e.g. http://proxy.corp:3128", setting=name
        )
    del port
    return ProxyUrl(text)


@dataclass(frozen=True)
class NoProxyEntry:
    """One ``NO_PROXY`` entry: a host suffix (with an optional port) or an IP network."""

    host: str = ""
    port: int | None = None
    network: ipaddress.IPv4Network | ipaddress.IPv6Network | None = None

    def matches(self, host: str, port: int) -> bool:
        if self.port is not None and self.port != port:
            return False
        if self.network is not None:
            try:
                return ipaddress.ip_address(host) in self.network
            except ValueError:
                return False
        return host == self.host or host.endswith("." + self.host)


def parse_no_proxy(name: str, value: str) -> tuple[bool, tuple[NoProxyEntry, ...]]:
    """``(everything, entries)`` from a ``NO_PROXY`` list; ``everything`` for ``*``."""
    entries: list[NoProxyEntry] = []
    for raw in value.split(","):
        item = raw.strip().lower()
        if not item:
            continue
        if item == "*":
            return True, ()
        try:
            entries.append(NoProxyEntry(network=ipaddress.ip_network(item.strip("[]"), strict=False)))
            continue
        except ValueError:
            pass
        host, port = item, None
        if item.startswith("["):  # [::1]:8080
            host, _, rest = item[1:].partition("]")
            port_text = rest.lstrip(":")
        elif item.count(":") == 1:
            host, _, port_text = item.partition(":")
        else:
            port_text = ""
        if port_text:
            if not port_text.isdigit():
                raise ConfigurationError(
                    f"{name}: {raw.strip()!r} has a port that is not a number; entries are host names "
                    "(example.com, .example.com), host:port, IP addresses or networks (10.0.0.0/8), or *",
                    setting=name,
                )
            port = int(port_text)
        host = host.removeprefix("*").removeprefix(".").rstrip(".")  # as the target's is
        try:
            entries.append(NoProxyEntry(network=ipaddress.ip_network(host, strict=False), port=port))
        except ValueError:
            entries.append(NoProxyEntry(host=host, port=port))
    return False, tuple(entries)


@dataclass(frozen=True)
class Network:
    """How outbound connections leave this machine: the proxies, the exceptions, the CA bundle.

    ``sources`` maps each setting shown to the variable it came from (``HTTPS_PROXY`` or
    ``https_proxy``...), for messages that name what to change.
    """

    https_proxy: ProxyUrl | None = None
    http_proxy: ProxyUrl | None = None
    all_proxy: ProxyUrl | None = None
    no_proxy_all: bool = False
    no_proxy: tuple[NoProxyEntry, ...] = ()
    ca_bundle: Path | None = None
    ca_bundle_env: str = ""
    sources: dict[str, str] = field(default_factory=dict, compare=False, hash=False)

    @property
    def configured(self) -> bool:
        """False: nothing to do, the libraries' defaults (direct, their own CA bundle) stand."""
        return bool(self.https_proxy or self.http_proxy or self.all_proxy or self.ca_bundle)

    def proxy_for(self, url: str) -> ProxyUrl | None:
        """The proxy a request to ``url`` goes through, or None to connect directly."""
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        proxy = self.https_proxy if scheme == "https" else self.http_proxy if scheme == "http" else None
        proxy = proxy or self.all_proxy
        if proxy is None or self.no_proxy_all:
            return None
        host = (parts.hostname or "").lower().rstrip(".")
        try:
            port = parts.port or (443 if scheme == "https" else 80)
        except ValueError:
            port = 443 if scheme == "https" else 80
        if any(entry.matches(host, port) for entry in self.no_proxy):
            return None
        return proxy

    def proxy_for_host(self, scheme: str, host: str, port: int) -> ProxyUrl | None:
        """:meth:`proxy_for` for a request already split (a transport sees scheme, host, port)."""
        literal = f"[{host}]" if ":" in host else host
        return self.proxy_for(f"{scheme}://{literal}:{port}/")

    def ssl_context(self) -> ssl.SSLContext | None:
        """The TLS context trusting :attr:`ca_bundle` only; None: the library's default bundle."""
        if self.ca_bundle is None:
            return None
        try:
            return _context(str(self.ca_bundle))
        except (OSError, ssl.SSLError) as exc:
            name = self.ca_bundle_env or CA_BUNDLE_ENV
            raise ConfigurationError(
                f"{name} = {str(self.ca_bundle)!r} cannot be loaded as a CA bundle ({exc})", setting=name
            ) from None

    def describe(self) -> list[str]:
        """One line per setting in effect, credentials masked (``hunkwise test``, the docs)."""
        lines = []
        for label, proxy in (("HTTPS", self.https_proxy), ("HTTP", self.http_proxy), ("ALL", self.all_proxy)):
            if proxy is not None:
                lines.append(f"{self.sources.get(label, label + '_PROXY')}={proxy.masked}")
        if self.no_proxy_all:
            lines.append(f"{self.sources.get('NO', 'NO_PROXY')}=*")
        elif self.no_proxy:
            lines.append(f"{self.sources.get('NO', 'NO_PROXY')}: {len(self.no_proxy)} exception(s)")
        if self.ca_bundle is not None:
            lines.append(f"{self.ca_bundle_env}={self.ca_bundle}")
        return lines


@functools.lru_cache(maxsize=8)
def _context(path: str) -> ssl.SSLContext:
    # Loading a bundle costs milliseconds; one context per file is shared by every client.
    return ssl.create_default_context(cafile=path)


def check_ca_bundle(name: str, path: Path) -> Path:
    """``path`` if it is a readable PEM bundle TLS can load, else a :class:`ConfigurationError`
    naming ``name`` (at start-up, not at the first request hours later)."""
    if not path.is_file():
        raise ConfigurationError(
            f"{name} = {str(path)!r}: no such file; point it at a PEM file with the CA certificates "
            "to trust (for a TLS-intercepting proxy: its root CA, plus the public CAs if you need them)",
            setting=name,
        )
    # Read, not loaded: loading a system bundle into a TLS context costs ~50 ms, paid once later
    # by the first client (and cached); every command builds Settings, so start-up stays cheap.
    try:
        text = path.read_bytes()
    except OSError as exc:
        raise ConfigurationError(
            f"{name} = {str(path)!r} cannot be read ({exc.strerror or exc}); check the file's permissions",
            setting=name,
        ) from None
    if b"-----BEGIN CERTIFICATE-----" not in text:
        raise ConfigurationError(
            f"{name} = {str(path)!r} holds no PEM certificate; export the proxy's root certificate as "
            "PEM (-----BEGIN CERTIFICATE-----)",
            setting=name,
        )
    return path


__all__ = [
    "CA_BUNDLE_ENV",
    "Network",
    "NoProxyEntry",
    "ProxyUrl",
    "check_ca_bundle",
    "masked_url",
    "parse_no_proxy",
    "parse_proxy_url",
]
