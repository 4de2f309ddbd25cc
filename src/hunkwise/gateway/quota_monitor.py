"""The Z.AI Coding Plan quota monitor: how full the provider says a key's windows are.

``GET <host of the plan's endpoint>/api/monitor/usage/quota/limit`` is undocumented but used by
Z.AI's own coding plugins and several public usage monitors (the catalog's ``[quota_monitor]``,
dated). It answers ``data.limits[]``; each entry has ``type``, ``unit``, ``number``,
``percentage`` (0-100, always), ``nextResetTime`` (epoch milliseconds) and only sometimes
``usage`` / ``currentValue`` / ``remaining``. Entries are told apart by ``unit`` and ``number``
(3/5 = the 5-hour window, 6/1 = the weekly window, 5/any = monthly tool time), never by
``type``, which was renamed (``TOKENS_LIMIT`` -> ``CREDIT_LIMIT``) in 2026.

Everything here is advisory: a reading makes the window view more accurate, its absence never
fails a review. So :meth:`QuotaMonitor.read` never raises: a failure comes back as a one-line
``diagnosis`` (no traceback, never the key), and is cached like a success so a broken key is not
asked again every second. Readings are cached per credential (provider + endpoint + key
fingerprint) for ``ttl_s`` and the whole monitor makes at most ``max_calls_per_minute`` requests,
because the endpoint is an unofficial courtesy of the provider, not an API we pay for.

Authentication: the key is sent bare in ``Authorization`` first, which is what Z.AI's own
plugins do and what every report agrees works; reports disagree on whether ``Bearer <key>`` is
accepted, so that form is only tried when the bare key is refused (and remembered per credential
when it is the one that works). A refusal is HTTP 200 with ``{"code": 401, "success": false}``
in the body, so the body's code is checked, not only the status.

Connections go through the caller's transport factory (the server passes its SSRF guard,
:func:`hunkwise.config.ssrf_connect.connect_guard`), like the SDK clients of
:class:`hunkwise.gateway.ClientPool`; redirects are not followed, so the key never travels to a
host other than the slot's own.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit

from hunkwise.catalog.loader import Catalog, load_catalog
from hunkwise.errors import TransientError
from hunkwise.gateway.adapters.base import TransportFactory
from hunkwise.gateway.errors import ConnectBlocked
from hunkwise.gateway.types import Slot

if TYPE_CHECKING:
    import httpx2

log = logging.getLogger("hunkwise.gateway.quota_monitor")

MonitorSpan = Literal["5h", "week", "month"]
DEFAULT_TTL_S = 60.0
DEFAULT_TIMEOUT_S = 5.0
DEFAULT_MAX_CALLS_PER_MINUTE = 30
_MAX_TEXT = 120  # how much of a provider's message a diagnosis quotes


class MonitorError(TransientError):
    """Why a monitor answer could not be used; ``str()`` is the one-line diagnosis. Transient in
    the error tree (the next read, a minute later, may succeed), and it never leaves
    :meth:`QuotaMonitor.read`, which turns it into a diagnosis."""


class MonitorRefused(MonitorError):
    """The monitor refused the key (``code`` 401 in the body, or HTTP 401/403): worth one more
    try with the other ``Authorization`` form, nothing else is."""


@dataclass(frozen=True, slots=True)
class MonitorWindow:
    """One ``data.limits[]`` entry as the provider reported it."""

    span: MonitorSpan
    percentage: float  # 0-100, how much of the window is used
    resets_at: datetime | None
    kind: str  # ``type`` as sent (display only: it is not a stable name)
    limit: int | None = None  # ``usage``: the window's size, in the provider's unit (tokens there)
    used: int | None = None  # ``currentValue``
    remaining: int | None = None  # ``remaining``

    @property
    def used_fraction(self) -> float:
        """How full the window is, 0-1: from the counts when the provider sent them (more precise
        than the rounded percentage), else from ``percentage``."""
        if self.limit and self.used is not None:
            return min(1.0, max(0.0, self.used / self.limit))
        if self.limit and self.remaining is not None:
            return min(1.0, max(0.0, 1 - self.remaining / self.limit))
        return min(1.0, max(0.0, self.percentage / 100))

    def as_dict(self) -> dict[str, Any]:
        """The entry as the window view's JSON shows it (``monitor.reading.windows``)."""
        return {
            "percentage": self.percentage,
            "resets_at": self.resets_at.isoformat() if self.resets_at else None,
            "type": self.kind,
            "usage": self.limit,
            "current_value": self.used,
            "remaining": self.remaining,
        }


@dataclass(frozen=True, slots=True)
class MonitorReading:
    """What the monitor said about one key, and when."""

    windows: Mapping[MonitorSpan, MonitorWindow]
    fetched_at: datetime
    level: str | None = None  # the plan level the provider names ("lite", "pro", ...)

    def as_dict(self) -> dict[str, Any]:
        """The reading as the window view's JSON shows it (``monitor.reading``)."""
        return {
            "fetched_at": self.fetched_at.isoformat(),
            "level": self.level,
            "windows": {span: w.as_dict() for span, w in self.windows.items()},
        }


@dataclass(frozen=True, slots=True)
class MonitorResult:
    """A reading, or the one-line reason there is none. ``cached``: served from the cache."""

    reading: MonitorReading | None
    diagnosis: str | None = None
    cached: bool = False


def monitor_url(base_url: str, catalog: Catalog | None = None) -> str:
    """The monitor's URL for a plan endpoint: same scheme, host and port, the catalog's path."""
    parts = urlsplit(base_url)
    path = (catalog or load_catalog()).quota_monitor.path
    return f"{parts.scheme}://{parts.netloc}{path}"


def has_monitor(slot: Slot) -> bool:
    """Whether ``slot`` is a Z.AI Coding Plan endpoint, the only kind the monitor answers for."""
    return slot.provider == "zai" and slot.plan == "coding"


def _span(unit: Any, number: Any) -> MonitorSpan | None:
    if unit == 3 and number == 5:
        return "5h"
    if unit == 6 and number == 1:
        return "week"
    if unit == 5:
        return "month"
    return None


def _whole(value: Any) -> int | None:
    """A count as the provider sent it, or None for anything that is not a plain number."""
    if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
        return None
    return int(value)


def _clean(text: Any) -> str:
    """A provider's message made safe for one log or console line (it is untrusted)."""
    s = "".join(c if c.isprintable() else " " for c in str(text))
    return " ".join(s.split())[:_MAX_TEXT]


def parse_quota_limits(body: Any, *, fetched_at: datetime) -> MonitorReading:
    """The windows in a monitor answer's JSON body. Raises :class:`MonitorError` naming what is
    wrong: a refused key (``code`` 401, sent with HTTP 200), an unsuccessful answer, or a body
    that has no 5-hour or weekly window. Entries of unknown unit/number, or without a usable
    ``percentage``, are skipped, so a new kind of limit never hides the ones we know."""
    if not isinstance(body, dict):
        raise MonitorError("the quota monitor answered something other than a JSON object")
    code = body.get("code")
    if code in (401, "401"):
        raise MonitorRefused("the quota monitor refused the key (code 401)")
    if body.get("success") is False or (code is not None and code not in (200, "200", 0, "0")):
        raise MonitorError(f"the quota monitor answered code {_clean(code)}: {_clean(body.get('msg', ''))}")
    data = body.get("data")
    limits = data.get("limits") if isinstance(data, dict) else None
    if not isinstance(limits, list):
        raise MonitorError("the quota monitor's answer has no data.limits list")
    windows: dict[MonitorSpan, MonitorWindow] = {}
    for entry in limits:
        if not isinstance(entry, dict):
            continue
        span = _span(entry.get("unit"), entry.get("number"))
        pct = entry.get("percentage")
        if span is None or span in windows or isinstance(pct, bool) or not isinstance(pct, int | float):
            continue
        if pct != pct:  # NaN
            continue
        reset_ms = _whole(entry.get("nextResetTime"))
        resets_at = None
        if reset_ms is not None and reset_ms > 0:
            try:
                resets_at = datetime.fromtimestamp(reset_ms / 1000, UTC)
            except (OverflowError, OSError, ValueError):
                resets_at = None
        windows[span] = MonitorWindow(
            span=span,
            percentage=float(min(100.0, max(0.0, pct))),
            resets_at=resets_at,
            kind=_clean(entry.get("type", "")),
            limit=_whole(entry.get("usage")),
            used=_whole(entry.get("currentValue")),
            remaining=_whole(entry.get("remaining")),
        )
    if "5h" not in windows and "week" not in windows:
        raise MonitorError("the quota monitor's answer has no 5-hour or weekly window (unit 3/5 or 6/1)")
    level = data.get("level") if isinstance(data, dict) else None
    return MonitorReading(
        windows=windows, fetched_at=fetched_at, level=_clean(level) if isinstance(level, str) else None
    )


@dataclass
class _Entry:
    result: MonitorResult
    until: float  # monotonic seconds


@dataclass
class _CallBudget:
    """At most ``per_minute`` network calls in any 60 seconds, across all credentials."""

    per_minute: int
    calls: deque[float] = field(default_factory=deque)

    def take(self, now: float) -> bool:
        while self.calls and self.calls[0] <= now - 60:
            self.calls.popleft()
        if len(self.calls) >= self.per_minute:
            return False
        self.calls.append(now)
        return True


class QuotaMonitor:
    """Reads the monitor for Coding Plan slots: cached, rate-limited, optional, never raising.

    One per process is enough (the server's runtime, a CLI command); :meth:`aclose` releases its
    connections. ``enabled=False`` answers every read with a diagnosis that says it is turned off
    (``HUNKWISE_QUOTA_MONITOR=off``), so callers need no branch of their own.
    """

    def __init__(
        self,
        *,
        transport_factory: TransportFactory | None = None,
        enabled: bool = True,
        ttl_s: float = DEFAULT_TTL_S,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        max_calls_per_minute: int = DEFAULT_MAX_CALLS_PER_MINUTE,
        catalog: Catalog | None = None,
        clock: Callable[[], float] = time.monotonic,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.enabled = enabled
        self._transport_factory = transport_factory
        self._ttl_s = ttl_s
        self._timeout_s = timeout_s
        self._budget = _CallBudget(max_calls_per_minute)
        self._catalog = catalog or load_catalog()
        self._clock = clock
        self._now = now
        self._cache: dict[str, _Entry] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._bearer: dict[str, bool] = {}  # credential -> whether "Bearer <key>" is the form that works
        self._clients: dict[str, httpx2.AsyncClient] = {}
        self.requests_sent = 0  # network requests made, for tests and diagnostics

    async def read(self, slot: Slot) -> MonitorResult:
        """The provider's view of ``slot``'s windows, or a one-line diagnosis of why not."""
        if not self.enabled:
            return MonitorResult(None, "quota monitor turned off (HUNKWISE_QUOTA_MONITOR=off)")
        if not has_monitor(slot):
            return MonitorResult(None, "no quota monitor for this endpoint (Z.AI Coding Plan keys only)")
        credential = slot.credential_id
        lock = self._locks.setdefault(credential, asyncio.Lock())
        async with lock:  # concurrent readers of one key share one request
            entry = self._cache.get(credential)
            if entry is not None and entry.until > self._clock():
                r = entry.result
                return MonitorResult(r.reading, r.diagnosis, cached=True)
            if not self._budget.take(self._clock()):
                return MonitorResult(
                    None,
                    f"quota monitor not asked: its limit of {self._budget.per_minute} requests a "
                    "minute is reached (the ledger's counts are shown instead)",
                )
            result = await self._fetch(slot)
            if result.diagnosis and slot.api_key.reveal() in result.diagnosis:
                # A provider message is untrusted and could echo the Authorization header back.
                masked = result.diagnosis.replace(slot.api_key.reveal(), slot.api_key.masked())
                result = MonitorResult(None, masked)
            self._cache[credential] = _Entry(result, self._clock() + self._ttl_s)
            if result.diagnosis:
                # The slot's label and key fingerprint only: never the key.
                log.info("quota monitor for %s (%s): %s", slot.label, slot.api_key.masked(), result.diagnosis)
            return result

    async def _fetch(self, slot: Slot) -> MonitorResult:
        url = monitor_url(slot.base_url, self._catalog)
        host = urlsplit(url).netloc
        key = slot.api_key.reveal()
        bearer_first = self._bearer.get(slot.credential_id, False)
        forms = (True, False) if bearer_first else (False, True)
        refused: MonitorRefused | None = None
        for bearer in forms:
            try:
                body = _scrubbed(await self._get(slot, url, f"Bearer {key}" if bearer else key, host), slot)
                reading = parse_quota_limits(body, fetched_at=self._now())
            except MonitorRefused as exc:
                refused = exc
                continue
            except MonitorError as exc:
                return MonitorResult(None, str(exc))
            self._bearer[slot.credential_id] = bearer
            return MonitorResult(reading)
        assert refused is not None
        return MonitorResult(
            None,
            f"{refused} with and without 'Bearer': the monitor answers only for a Coding Plan key "
            f"on {host}; check the key belongs to the Coding Plan",
        )

    async def _get(self, slot: Slot, url: str, authorization: str, host: str) -> Any:
        client = self._client(slot)
        self.requests_sent += 1
        try:
            response = await client.get(
                url,
                headers={"Authorization": authorization, "Accept": "application/json"},
                timeout=self._timeout_s,
            )
        except Exception as exc:  # advisory: no failure of the monitor may escape
            raise MonitorError(_network_diagnosis(exc, host, self._timeout_s)) from None
        if response.status_code in (401, 403):
            raise MonitorRefused(f"the quota monitor refused the key (HTTP {response.status_code})")
        if response.status_code != 200:
            raise MonitorError(f"the quota monitor at {host} answered HTTP {response.status_code}")
        try:
            return response.json()
        except ValueError:
            raise MonitorError(f"the quota monitor at {host} answered something that is not JSON") from None

    def _client(self, slot: Slot) -> httpx2.AsyncClient:
        """One client per transport identity: the guarded transport is per slot, a plain one shared.
        ``httpx2`` is imported here, on the first reading: every command imports this module with
        the gateway, and only those that read a Coding Plan's quota need it."""
        import httpx2

        cache_key = slot.credential_id if self._transport_factory else ""
        client = self._clients.get(cache_key)
        if client is None:
            transport = self._transport_factory(slot) if self._transport_factory else None
            client = httpx2.AsyncClient(
                transport=transport, follow_redirects=False, trust_env=transport is None
            )
            self._clients[cache_key] = client
        return client

    async def aclose(self) -> None:
        """Close the monitor's connections (a finished command or server leaves no sockets open)."""
        clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            await client.aclose()


def _scrubbed(body: Any, slot: Slot) -> Any:
    """The answer with the key masked in its message, before any truncation could cut it in half:
    a provider's message is untrusted and could echo the Authorization header."""
    key = slot.api_key.reveal()
    if isinstance(body, dict) and isinstance(body.get("msg"), str) and key and key in body["msg"]:
        return {**body, "msg": body["msg"].replace(key, slot.api_key.masked())}
    return body


def _network_diagnosis(exc: BaseException, host: str, timeout_s: float) -> str:
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, ConnectBlocked):
            return str(cause)
        cause = cause.__cause__ or cause.__context__
    import httpx2  # already loaded: the failed request was httpx2's

    if isinstance(exc, httpx2.TimeoutException):
        return f"the quota monitor at {host} did not answer within {timeout_s:g} s"
    return f"could not reach the quota monitor at {host} ({type(exc).__name__})"


__all__ = [
    "MonitorError",
    "MonitorReading",
    "MonitorRefused",
    "MonitorResult",
    "MonitorSpan",
    "MonitorWindow",
    "QuotaMonitor",
    "has_monitor",
    "monitor_url",
    "parse_quota_limits",
]
