"""SDK exceptions, HTTP statuses and provider business codes -> :class:`ProviderError`.

This is the one place that inspects a status code, an error body or an SDK exception type; the
router and everything above read only :class:`ErrorKind`. Both SDKs share the same exception
shapes (``APIStatusError`` with ``status_code``/``body``/``response``, ``APITimeoutError`` a
subclass of ``APIConnectionError``), so one translator serves both wires.
"""

from __future__ import annotations

import json
import re
import socket
import ssl
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from hunkwise.catalog.loader import load_catalog
from hunkwise.gateway.errors import ConnectBlocked, ErrorKind, ProviderError
from hunkwise.gateway.types import Slot

# Z.AI reports window resets in China Standard Time when it writes a wall-clock time.
_ZAI_TZ = timezone(timedelta(hours=8))
_TIME_IN_TEXT = re.compile(r"(\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(?::\d{2})?(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})?)")
_CONTEXT_HINTS = (
    "context length",
    "context_length",
    "prompt is too long",
    "too many tokens",
    "maximum length",
)


def _sdk() -> dict[str, tuple[type[BaseException], ...]]:
    """Exception types of the SDKs this process has loaded. An SDK exception can only come from
    an SDK that is already imported, so nothing is imported here: the first failure of an
    OpenAI-wire call must not pay for importing the Anthropic SDK too."""
    loaded = [sys.modules[name] for name in ("openai", "anthropic") if name in sys.modules]
    names = {
        "timeout": "APITimeoutError",
        "connection": "APIConnectionError",
        "status": "APIStatusError",
        "validation": "APIResponseValidationError",
        "api": "APIError",
    }
    return {k: tuple(getattr(m, attr) for m in loaded) for k, attr in names.items()}


def parse_reset(value: Any, *, naive_tz: timezone = _ZAI_TZ) -> datetime | None:
    """A reset time from ``next_flush_time``: epoch ms or s (number or digits), or a date string."""
    if value is None or value == "":
        return None
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        value = int(value.strip())
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        seconds = value / 1000 if value > 10**11 else value  # > year 5138 in seconds = it is ms
        try:
            return datetime.fromtimestamp(seconds, UTC)
        except (OverflowError, OSError, ValueError):
            return None
    if isinstance(value, str):
        match = _TIME_IN_TEXT.search(value)
        if not match:
            return None
        try:
            parsed = datetime.fromisoformat(match.group(1).replace("Z", "+00:00"))
        except ValueError:
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=naive_tz)
    return None


def _error_object(body: Any) -> dict[str, Any]:
    """The ``error`` object of a body, whichever nesting the SDK kept."""
    if isinstance(body, dict):
        inner = body.get("error")
        return inner if isinstance(inner, dict) else body
    return {}


def _raw_body(exc: Any) -> Any:
    """The full JSON body: the OpenAI SDK hands us only ``body["error"]``, and Z.AI puts
    ``next_flush_time`` beside or inside it."""
    response = getattr(exc, "response", None)
    if response is None:
        return getattr(exc, "body", None)
    try:
        return json.loads(response.text)
    except (ValueError, UnicodeDecodeError, RuntimeError):  # not JSON, or a stream not read
        return getattr(exc, "body", None)


def _find_reset(full: Any, err: dict[str, Any], message: str) -> datetime | None:
    for holder in (err, full if isinstance(full, dict) else {}):
        for key in ("next_flush_time", "nextFlushTime", "reset_at", "resets_at"):
            found = parse_reset(holder.get(key))
            if found is not None:
                return found
    return parse_reset(message)


def _status_kind(status: int, code: str, etype: str, message: str) -> ErrorKind:
    text = f"{code} {etype} {message}".lower()
    if any(h in text for h in _CONTEXT_HINTS):
        return ErrorKind.CONTEXT_OVERFLOW
    if status in (401, 403) or etype in ("authentication_error", "permission_error"):
        return ErrorKind.AUTH
    if status == 404 or "model_not_found" in text or etype == "not_found_error":
        return ErrorKind.MODEL_NOT_FOUND
    if status == 402 or "insufficient_quota" in text or "billing" in etype or "credit balance" in text:
        return ErrorKind.BALANCE
    if status == 429:
        return ErrorKind.RATE
    if status == 529 or etype == "overloaded_error":
        return ErrorKind.OVERLOADED
    if status == 408:
        return ErrorKind.TIMEOUT
    if status >= 500:
        return ErrorKind.TRANSIENT
    if status in (400, 409, 413, 422):
        return ErrorKind.BAD_REQUEST
    return ErrorKind.TRANSIENT


def _causes(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def describe_network_error(exc: BaseException, base_url: str) -> str:
    """The underlying cause in plain words: DNS, refused, TLS, reset, or the raw text."""
    from urllib.parse import urlsplit

    parts = urlsplit(base_url)
    host = parts.hostname or base_url
    where = f"{host}:{parts.port}" if parts.port else host
    chain = list(_causes(exc))
    texts = " | ".join(str(c) for c in chain if str(c))
    low = texts.lower()
    detail = next((str(c) for c in reversed(chain) if str(c)), type(exc).__name__)
    if any(isinstance(c, socket.gaierror) for c in chain) or any(
        s in low
        for s in (
            "name or service not known",
            "nodename nor servname",
            "temporary failure in name",
            "getaddrinfo failed",
            "no address associated",
            "dns lookup failed",
        )
    ):
        return f"DNS lookup failed for {host}: {detail}"
    if (
        any(isinstance(c, ConnectionRefusedError) for c in chain)
        or "connection refused" in low
        or ("connect call failed" in low)
    ):
        return f"connection refused by {where}: nothing is listening there ({detail})"
    if any(isinstance(c, ssl.SSLError) for c in chain) or any(
        s in low for s in ("ssl", "certificate", "tls")
    ):
        return f"TLS handshake with {where} failed: {detail}"
    if any(isinstance(c, ConnectionResetError) for c in chain) or "reset by peer" in low:
        return f"connection to {where} was reset by the peer: {detail}"
    if "disconnected" in low or "closed" in low:
        return f"{where} closed the connection without answering: {detail}"
    return f"network error talking to {where}: {detail}"


def malformed_body(slot: Slot, body: Any, problem: str) -> ProviderError:
    """A 200 whose body is not the expected answer (a captive portal's HTML, ``[]``, a null
    message): transient, so the router retries and fails over like any invalid body."""
    if body in ("", b"", None):
        seen = "no data"
    elif isinstance(body, (str, bytes)):
        text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
        shown = " ".join(text.split())[:120]
        seen = f"text instead of JSON: {shown!r}"
    else:
        seen = f"got {type(body).__name__}"
    return ProviderError(
        ErrorKind.TRANSIENT,
        f"the provider returned a malformed body: {problem} ({seen})",
        provider=slot.provider,
        model=slot.model,
        slot=slot.name,
    )


def _timeout(slot: Slot) -> ProviderError:
    return ProviderError(
        ErrorKind.TIMEOUT,
        f"no answer within {slot.timeout_s:g} s from {slot.base_url}",
        provider=slot.provider,
        model=slot.model,
        slot=slot.name,
    )


def translate(exc: BaseException, slot: Slot) -> ProviderError:
    """Classify any exception raised while calling ``slot``'s provider."""
    where = {"provider": slot.provider, "model": slot.model, "slot": slot.name}
    if isinstance(exc, ProviderError):
        return exc
    blocked = next((c for c in _causes(exc) if isinstance(c, ConnectBlocked)), None)
    if blocked is not None:  # the SDK wraps it in a bare "Connection error.": say what happened
        return ProviderError(ErrorKind.NETWORK, str(blocked), **where)
    sdk = _sdk()
    if isinstance(exc, sdk["timeout"]):
        return _timeout(slot)
    if isinstance(exc, sdk["connection"]):
        if any(isinstance(c, TimeoutError) for c in _causes(exc)):  # wrapped by the SDK
            return _timeout(slot)
        chain = " ".join(str(c).lower() for c in _causes(exc))
        if "incomplete" in chain or "peer closed connection without sending complete" in chain:
            return ProviderError(ErrorKind.TRANSIENT, f"truncated response body: {chain[:200]}", **where)
        return ProviderError(ErrorKind.NETWORK, describe_network_error(exc, slot.base_url), **where)
    if isinstance(exc, sdk["validation"]):
        return ProviderError(ErrorKind.TRANSIENT, "the provider returned a malformed response body", **where)
    if isinstance(exc, sdk["status"]):
        return _from_status(exc, slot)
    if isinstance(exc, sdk["api"]):  # an error event inside a stream
        return _from_body(getattr(exc, "body", None), None, str(exc), slot)
    if isinstance(exc, (json.JSONDecodeError, UnicodeDecodeError)):
        return ProviderError(ErrorKind.TRANSIENT, f"invalid JSON in the provider's answer: {exc}", **where)
    name = type(exc).__name__
    if name in ("RemoteProtocolError", "ReadError", "WriteError", "ConnectError", "NetworkError"):
        chain = " ".join(str(c).lower() for c in _causes(exc))
        if "incomplete" in chain or "complete message body" in chain:
            return ProviderError(ErrorKind.TRANSIENT, f"truncated response body: {exc}", **where)
        return ProviderError(ErrorKind.NETWORK, describe_network_error(exc, slot.base_url), **where)
    if name in ("ReadTimeout", "ConnectTimeout", "PoolTimeout", "WriteTimeout", "TimeoutException") or (
        isinstance(exc, TimeoutError)
    ):
        return _timeout(slot)
    if isinstance(exc, OSError):
        # A socket-level error a transport let through unwrapped (a resolver's socket.gaierror, a
        # refused connection, a TLS failure): still the provider's side, never a crash upstream.
        return ProviderError(ErrorKind.NETWORK, describe_network_error(exc, slot.base_url), **where)
    raise exc


def _from_status(exc: Any, slot: Slot) -> ProviderError:
    full = _raw_body(exc)
    return _from_body(full if full is not None else exc.body, int(exc.status_code), exc.message, slot)


def _from_body(full: Any, status: int | None, fallback: str, slot: Slot) -> ProviderError:
    err = _error_object(full)
    code = err.get("code")
    code = str(code) if code is not None else ""
    etype = str(err.get("type") or "")
    message = str(err.get("message") or fallback or f"HTTP {status}")
    known = load_catalog().error_code(code) if code else None
    kind = ErrorKind(known.kind) if known else _status_kind(status or 0, code, etype, message)
    reset_at = (
        _find_reset(full, err, message) if kind in (ErrorKind.QUOTA_WINDOW, ErrorKind.BALANCE) else None
    )
    return ProviderError(
        kind,
        message,
        status=status,
        code=code or None,
        reset_at=reset_at,
        provider=slot.provider,
        model=slot.model,
        slot=slot.name,
    )
