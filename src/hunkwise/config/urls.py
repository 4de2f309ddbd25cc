"""Base URL validation: catch the classic copy-paste mistakes before any request is sent.

The mistakes people actually make: a line break or a space pasted into the URL, the full endpoint
(``.../chat/completions``), plain http to a remote host (the key would travel in clear text), and
credentials in the URL (they would end up in logs). Each gets a message that says how to fix it.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import SplitResult, urlsplit, urlunsplit

from hunkwise.config.validation import url_text_problem
from hunkwise.errors import ConfigurationError

# Endpoint suffixes the SDKs append themselves; a base URL that already ends in one doubles it.
_ENDPOINT_SUFFIXES = ("/chat/completions", "/completions", "/v1/messages", "/messages", "/responses")


def is_loopback_host(host: str) -> bool:
    """``localhost``, ``*.localhost``, 127.0.0.0/8 and ``::1``: traffic never leaves the machine."""
    host = host.strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def split_url(url: str, *, setting: str = "base_url") -> SplitResult:
    """``urlsplit``, with its ValueError (an unclosed ``[`` of an IPv6 host) as a
    :class:`ConfigurationError` naming ``setting``."""
    try:
        return urlsplit(url)
    except ValueError as exc:
        raise ConfigurationError(
            f"{setting} {url!r} is not a valid URL ({exc}): write it as https://host/path", setting=setting
        ) from None


def validate_base_url(url: str, *, setting: str = "base_url", allow_http: bool = False) -> str:
    """Return the normalised URL (lower-case scheme/host, no trailing slash) or raise
    :class:`ConfigurationError` naming ``setting`` and the fix."""
    raw = url.strip()
    if not raw:
        raise ConfigurationError(
            f"{setting} is empty: give a URL such as https://api.z.ai/api/paas/v4", setting=setting
        )
    problem = url_text_problem(raw)
    if problem:  # before parsing: urlsplit silently drops CR, LF and tabs
        raise ConfigurationError(f"{setting} is not valid: {problem}", setting=setting)
    parts = split_url(raw, setting=setting)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        shown = f"'{parts.scheme}://'" if parts.scheme else "no scheme"
        raise ConfigurationError(
            f"{setting} {raw!r} has {shown}: base URLs must start with https:// "
            "(or http:// for a local server)",
            setting=setting,
        )
    if not parts.hostname:
        raise ConfigurationError(
            f"{setting} {raw!r} has no host name: write it as https://host/path", setting=setting
        )
    if parts.username or parts.password:
        raise ConfigurationError(
            f"{setting} contains credentials (user:password@host): remove them and set the API key "
            "with api_key_env / HUNKWISE_API_KEY instead, so it never appears in logs",
            setting=setting,
        )
    try:
        port = parts.port
    except ValueError:
        raise ConfigurationError(f"{setting} {raw!r} has an invalid port number", setting=setting) from None
    if parts.fragment:
        raise ConfigurationError(f"{setting} {raw!r} has a '#' fragment: remove it", setting=setting)
    path = parts.path.rstrip("/")
    for suffix in _ENDPOINT_SUFFIXES:
        if path.lower().endswith(suffix):
            fixed = urlunsplit((scheme, parts.netloc, path[: -len(suffix)], parts.query, ""))
            raise ConfigurationError(
                f"{setting} {raw!r} ends in the endpoint path {suffix!r}: remove the endpoint path "
                f"(use {fixed!r}); the client appends it itself",
                setting=setting,
            )
    host = parts.hostname
    if scheme == "http" and not allow_http and not is_loopback_host(host):
        raise ConfigurationError(
            f"{setting} {raw!r} uses plain http to a remote host, which would send your API key "
            "unencrypted: use https, or allow it explicitly with allow_http = true "
            "(HUNKWISE_ALLOW_HTTP=1) if the network is trusted",
            setting=setting,
        )
    netloc = host if ":" not in host else f"[{host}]"
    if port is not None:
        netloc = f"{netloc}:{port}"
    url = urlunsplit((scheme, netloc, path, parts.query, ""))
    if not host.isascii():
        # An international name must encode (IDNA) the way the SDKs' HTTP client encodes it, or
        # the request could only fail when it is built. Imported here: ASCII hosts never pay for it.
        import httpx2

        try:
            httpx2.URL(url)
        except httpx2.InvalidURL as exc:
            message = f"{setting} {raw!r} is not a usable URL: {exc}"
            raise ConfigurationError(message, setting=setting) from None
    return url


def swap_path(base_url: str, old_path: str, new_path: str) -> str:
    """Replace a trailing plan path, keeping host and any prefix (a proxy, the simulator)."""
    parts = urlsplit(base_url)
    path = parts.path.rstrip("/")
    prefix = path[: -len(old_path)] if old_path and path.endswith(old_path) else path
    return urlunsplit((parts.scheme, parts.netloc, prefix + new_path, parts.query, ""))
