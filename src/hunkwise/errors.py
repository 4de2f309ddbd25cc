"""hunkwise's one error vocabulary: every failure is a configuration, a transient or a permanent one.

    HunkwiseError
    ├── ConfigurationError  a setting that can never work: the user must change something
    │                       (``setting`` names it). Never retried; the CLI exits 2, the API 422.
    ├── TransientError      trying again later can succeed (``retry_after_s`` when the other side
    │                       said how long). Retried with :class:`Backoff`; the CLI exits 3.
    └── PermanentError      neither: the same input fails the same way. Never retried; exit 2.

Each layer keeps its own base for what it knows (``GatewayError``, ``PlatformError``, ...) and
places each concrete error in a family by also subclassing one of the three. An error whose family
depends on its value (a provider error's kind, "every model failed" with its reasons) is built
through :func:`in_family`, so ``isinstance(exc, TransientError)`` is the one retry question asked
anywhere. Anything outside the tree (a bug, an unexpected library error) counts as permanent.

Foreign errors are translated once, at the boundary where they enter (httpx's ``_exceptions.py``
is the model): the gateway's adapters turn SDK errors into ``ProviderError``s, the platform clients
turn httpx errors and HTTP statuses into ``PlatformError``s. Both start from the one classifier
here, :func:`classify_status` and :func:`classify_transport`, and only add what their own
protocol says on top (Z.AI's business codes, GitHub's 403 that is a rate limit).

Why the classifier lives here and not in the gateway or the platforms: the platform clients are a
layer above the gateway but must not depend on it for this, and the gateway cannot import the
platforms; a root module that imports nothing of hunkwise (and no HTTP library: an httpx error
can only exist once httpx is loaded, so the classes are looked up in ``sys.modules``) is the one
place both may import. docs/errors.md draws the whole tree.

The layers' own ``errors`` modules (:mod:`hunkwise.gateway.errors`, :mod:`hunkwise.review.errors`)
share this name on purpose: each holds its package's branch of this one tree.
"""

from __future__ import annotations

import random
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import TypeVar
from urllib.parse import urlsplit


class HunkwiseError(Exception):
    """Base of every error hunkwise raises on purpose; its family says what a caller should do."""


class ConfigurationError(HunkwiseError):
    """A setting that can never work. ``setting`` names it; the message says how to fix it."""

    def __init__(self, message: str, *, setting: str | None = None) -> None:
        super().__init__(message)
        self.setting = setting


class TransientError(HunkwiseError):
    """Trying again later can succeed (a rate limit, an overloaded or unreachable service).
    ``retry_after_s``: how long the other side asked us to wait, when it said."""

    def __init__(self, message: str, *, retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class PermanentError(HunkwiseError):
    """Neither a setting nor a passing condition: the same input would fail the same way."""


class ProxyUnreachable(TransientError, ConnectionError):
    """The configured outbound proxy (``HTTPS_PROXY``/``HTTP_PROXY``) could not be connected to:
    nothing was asked of the target. Transient (a proxy restarts); the message names the proxy
    with its credentials masked, so a diagnosis never blames the provider or the platform."""

    def __init__(self, message: str, *, proxy: str = "") -> None:
        super().__init__(message)
        self.proxy = proxy


class ProxyRefused(ConfigurationError, ConnectionError):
    """The proxy answered, but refused to carry the request (``407`` proxy authentication
    required, ``403`` forbidden by its policy, ...): its credentials or its rules must change."""

    def __init__(self, message: str, *, proxy: str = "", status: int | None = None) -> None:
        super().__init__(message, setting="HTTPS_PROXY")
        self.proxy = proxy
        self.status = status


PROXY_FAILURES = (ProxyUnreachable, ProxyRefused)
"""The proxy's own failures: a transport failure of the request, described as the proxy's."""


Family = type[ConfigurationError] | type[TransientError] | type[PermanentError]
_E = TypeVar("_E", bound=HunkwiseError)
_VARIANTS: dict[tuple[type, type], type] = {}


def in_family(cls: type[_E], family: Family) -> type[_E]:
    """``cls`` placed in ``family``: ``cls`` itself when it is in it already, else a subclass of
    both, made once and named like ``cls`` (messages and logs show the layer's own name).

    For errors whose family follows their value: a constructor calls this from ``__new__``, so
    ``ProviderError(ErrorKind.RATE, ...)`` *is* a :class:`TransientError` and callers ask
    ``isinstance`` instead of reading a flag that each tree would spell its own way."""
    if issubclass(cls, family):
        return cls
    variant = _VARIANTS.get((cls, family))
    if variant is None:
        namespace = {"__module__": cls.__module__, "__qualname__": cls.__qualname__, "__doc__": cls.__doc__}
        variant = _VARIANTS.setdefault((cls, family), type(cls.__name__, (cls, family), namespace))
    return variant


# -- HTTP: one classifier for every API we call (model providers, GitHub, GitLab) ----------------


class HttpFailure(StrEnum):
    """What a failed HTTP exchange means, whichever API it was with."""

    AUTH = "auth"  # 401, 403: the credential is wrong or lacks a permission
    NOT_FOUND = "not_found"  # 404: the thing named does not exist, or the credential cannot see it
    REJECTED = "rejected"  # 400, 409, 413, 422: understood and refused; the same request fails again
    RATE_LIMITED = "rate_limited"  # 429
    TIMEOUT = "timeout"  # 408, or no answer within the client's timeout
    OVERLOADED = "overloaded"  # 529: the service sheds load
    SERVER = "server"  # any other 5xx
    NETWORK = "network"  # no exchange at all: DNS, refused, reset, TLS
    TRUNCATED = "truncated"  # the answer was cut short
    UNEXPECTED = "unexpected"  # a status no API we call documents for an error (3xx, 405, 410, ...)

    @property
    def family(self) -> Family:
        if self in (HttpFailure.AUTH, HttpFailure.NOT_FOUND):
            return ConfigurationError
        if self in (HttpFailure.REJECTED, HttpFailure.UNEXPECTED):
            return PermanentError
        return TransientError


_BY_STATUS = {
    401: HttpFailure.AUTH,
    403: HttpFailure.AUTH,
    404: HttpFailure.NOT_FOUND,
    400: HttpFailure.REJECTED,
    409: HttpFailure.REJECTED,
    413: HttpFailure.REJECTED,
    422: HttpFailure.REJECTED,
    408: HttpFailure.TIMEOUT,
    429: HttpFailure.RATE_LIMITED,
    529: HttpFailure.OVERLOADED,
}


def classify_status(status: int) -> HttpFailure:
    """The meaning of a non-success HTTP status."""
    if status in _BY_STATUS:
        return _BY_STATUS[status]
    return HttpFailure.SERVER if status >= 500 else HttpFailure.UNEXPECTED


# Exception classes by the library that defines them; only libraries already imported are looked
# at (an exception of a library nobody imported cannot exist, and importing one here would slow
# every command's start-up). httpx2/httpcore2 are the SDKs' copies of httpx/httpcore.
_TIMEOUTS = {
    "httpx": ("TimeoutException",),
    "httpx2": ("TimeoutException",),
    "httpcore": ("TimeoutException",),
    "httpcore2": ("TimeoutException",),
}
_TRANSPORT = {
    "httpx": ("TransportError",),
    "httpx2": ("TransportError",),
    "httpcore": ("NetworkError", "ProtocolError", "ProxyError", "UnsupportedProtocol"),
    "httpcore2": ("NetworkError", "ProtocolError", "ProxyError", "UnsupportedProtocol"),
}
_TRUNCATED_HINTS = ("incomplete", "complete message body", "peer closed connection without sending complete")


def _loaded(table: Mapping[str, tuple[str, ...]]) -> tuple[type[BaseException], ...]:
    return tuple(
        getattr(sys.modules[module], name)
        for module, names in table.items()
        if module in sys.modules
        for name in names
    )


def causes(exc: BaseException) -> Iterator[BaseException]:
    """``exc`` and every exception it was raised from or during, each once."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def classify_transport(exc: BaseException) -> HttpFailure | None:
    """``TIMEOUT``, ``TRUNCATED`` or ``NETWORK`` when ``exc`` (or what it wraps) is a failure to
    exchange a request at all: an httpx/httpcore transport error, a socket error, a timeout.
    ``None`` for anything else, which the caller must let through: it is not the network's."""
    chain = list(causes(exc))
    if any(isinstance(c, PROXY_FAILURES) for c in chain):  # a proxy that timed out is still the proxy
        return HttpFailure.NETWORK
    timeouts = (TimeoutError, *_loaded(_TIMEOUTS))
    if any(isinstance(c, timeouts) for c in chain):
        return HttpFailure.TIMEOUT
    transport = (OSError, *_loaded(_TRANSPORT))
    if not any(isinstance(c, transport) for c in chain):
        return None
    text = " ".join(str(c).lower() for c in chain)
    return HttpFailure.TRUNCATED if any(h in text for h in _TRUNCATED_HINTS) else HttpFailure.NETWORK


_DNS_HINTS = (
    "name or service not known",
    "nodename nor servname",
    "temporary failure in name",
    "getaddrinfo failed",
    "no address associated",
    "dns lookup failed",
)


def describe_transport(exc: BaseException, url: str) -> str:
    """A transport failure's cause in plain words (DNS, refused, TLS, reset), naming the host."""
    import socket

    parts = urlsplit(url)
    host = parts.hostname or url
    where = f"{host}:{parts.port}" if parts.port else host
    chain = list(causes(exc))
    proxy = next((c for c in chain if isinstance(c, PROXY_FAILURES)), None)
    if proxy is not None:  # already says which proxy, and what to change
        return str(proxy)
    low = " | ".join(str(c) for c in chain if str(c)).lower()
    detail = next((str(c) for c in reversed(chain) if str(c)), type(exc).__name__)
    ssl_error = getattr(sys.modules.get("ssl"), "SSLError", ())
    if any(isinstance(c, socket.gaierror) for c in chain) or any(s in low for s in _DNS_HINTS):
        return f"DNS lookup failed for {host}: {detail}"
    if any(isinstance(c, ConnectionRefusedError) for c in chain) or any(
        s in low for s in ("connection refused", "connect call failed")
    ):
        return f"connection refused by {where}: nothing is listening there ({detail})"
    if any(isinstance(c, ssl_error) for c in chain) or any(s in low for s in ("ssl", "certificate", "tls")):
        return f"TLS handshake with {where} failed: {detail}"
    if any(isinstance(c, ConnectionResetError) for c in chain) or "reset by peer" in low:
        return f"connection to {where} was reset by the peer: {detail}"
    if "disconnected" in low or "closed" in low:
        return f"{where} closed the connection without answering: {detail}"
    return f"network error talking to {where}: {detail}"


def retry_after(headers: Mapping[str, str], *, now: datetime | None = None) -> float | None:
    """Seconds a ``Retry-After`` header asks for (a number, or an HTTP date); ``None`` without one."""
    raw = (headers.get("retry-after") or "").strip()
    if not raw:
        return None
    if raw.isdigit():
        return float(raw)
    from email.utils import parsedate_to_datetime  # only for an HTTP date; not every process's import

    try:
        when = parsedate_to_datetime(raw)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


# -- how long "later" is --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Backoff:
    """The one backoff formula: exponential from ``base_s`` by ``factor``, capped at ``max_s``,
    spread by +-``jitter`` (a fraction) so waiting clients do not retry in step; a server's hint
    (``retry_after_s``) wins when it asks for longer, up to the cap. The router retries a slot with
    one set of numbers (fractions of a second), the job engines a job with another (minutes)."""

    base_s: float
    max_s: float
    factor: float = 2.0
    jitter: float = 0.0

    def delay(self, retry: int, hint_s: float | None = None) -> float:
        """Seconds before retry number ``retry`` (0 for the first retry)."""
        computed = min(self.max_s, self.base_s * self.factor ** max(0, retry))
        if self.jitter:
            spread = computed * self.jitter
            computed = max(0.0, computed + random.uniform(-spread, spread))
        return max(computed, min(hint_s, self.max_s)) if hint_s else computed
