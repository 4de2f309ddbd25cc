"""SDK exceptions, HTTP statuses and provider business codes -> :class:`ProviderError`.

This is the gateway's one place that inspects a status code, an error body or an SDK exception
type; the router and everything above read only :class:`ErrorKind`. Both SDKs share the same
exception shapes (``APIStatusError`` with ``status_code``/``body``/``response``,
``APITimeoutError`` a subclass of ``APIConnectionError``), so one translator serves both wires.

What a status or a transport failure means is decided by hunkwise's one classifier
(:func:`hunkwise.errors.classify_status`, :func:`~hunkwise.errors.classify_transport`), shared
with the platform clients; this module adds only what the providers say on top of it: Z.AI's
business codes (1302, 1308, ... from the catalog), error types and texts in the body (a context
overflow, a billing error), and reset times.
"""

from __future__ import annotations

import json
import re
import sys
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from hunkwise.catalog.loader import load_catalog
from hunkwise.errors import (
    PROXY_FAILURES,
    HttpFailure,
    causes,
    classify_status,
    classify_transport,
    describe_transport,
)
from hunkwise.gateway.errors import ConnectBlocked, ErrorKind, NotRecorded, ProviderError
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


# The shared classes as kinds. A status no API documents for an error (a 3xx, 405, 410) is a
# request this provider refuses as made: fail over, as for a 400.
_KIND_OF_FAILURE = {
    HttpFailure.AUTH: ErrorKind.AUTH,
    HttpFailure.NOT_FOUND: ErrorKind.MODEL_NOT_FOUND,
    HttpFailure.REJECTED: ErrorKind.BAD_REQUEST,
    HttpFailure.RATE_LIMITED: ErrorKind.RATE,
    HttpFailure.TIMEOUT: ErrorKind.TIMEOUT,
    HttpFailure.OVERLOADED: ErrorKind.OVERLOADED,
    HttpFailure.SERVER: ErrorKind.TRANSIENT,
    HttpFailure.NETWORK: ErrorKind.NETWORK,
    HttpFailure.TRUNCATED: ErrorKind.TRANSIENT,
    HttpFailure.UNEXPECTED: ErrorKind.BAD_REQUEST,
}


def _status_kind(status: int, code: str, etype: str, message: str) -> ErrorKind:
    """The shared meaning of ``status``, refined by what the body says (an error type or text is
    more precise than a status: a context overflow is a 400, a spent balance may be a 429)."""
    text = f"{code} {etype} {message}".lower()
    failure = classify_status(status) if status else None
    if any(h in text for h in _CONTEXT_HINTS):
        return ErrorKind.CONTEXT_OVERFLOW
    if failure is HttpFailure.AUTH or etype in ("authentication_error", "permission_error"):
        return ErrorKind.AUTH
    if failure is HttpFailure.NOT_FOUND or "model_not_found" in text or etype == "not_found_error":
        return ErrorKind.MODEL_NOT_FOUND
    if status == 402 or "insufficient_quota" in text or "billing" in etype or "credit balance" in text:
        return ErrorKind.BALANCE
    if failure is not HttpFailure.RATE_LIMITED and etype == "overloaded_error":
        return ErrorKind.OVERLOADED
    if failure is None:  # an error event inside a stream, without a status or a known code
        return ErrorKind.TRANSIENT
    return _KIND_OF_FAILURE[failure]


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
    blocked = next((c for c in causes(exc) if isinstance(c, ConnectBlocked)), None)
    if blocked is not None:  # the SDK wraps it in a bare "Connection error.": say what happened
        return ProviderError(ErrorKind.NETWORK, str(blocked), **where)
    proxy = next((c for c in causes(exc) if isinstance(c, PROXY_FAILURES)), None)
    if proxy is not None:  # the proxy's failure, not the provider's: code "proxy" says so
        return ProviderError(ErrorKind.NETWORK, str(proxy), code="proxy", **where)
    missing = next((c for c in causes(exc) if isinstance(c, NotRecorded)), None)
    if missing is not None:  # a replay without this answer: never retried, named as such
        return ProviderError(ErrorKind.BAD_REQUEST, str(missing), code="not_recorded", **where)
    sdk = _sdk()
    if isinstance(exc, sdk["timeout"]):
        return _timeout(slot)
    if isinstance(exc, sdk["connection"]):  # whatever its cause, the request was not answered
        return _transport(exc, classify_transport(exc) or HttpFailure.NETWORK, slot)
    if isinstance(exc, sdk["validation"]):
        return ProviderError(ErrorKind.TRANSIENT, "the provider returned a malformed response body", **where)
    if isinstance(exc, sdk["status"]):
        return _from_status(exc, slot)
    if isinstance(exc, sdk["api"]):  # an error event inside a stream
        return _from_body(getattr(exc, "body", None), None, str(exc), slot)
    if isinstance(exc, (json.JSONDecodeError, UnicodeDecodeError)):
        return ProviderError(ErrorKind.TRANSIENT, f"invalid JSON in the provider's answer: {exc}", **where)
    # A transport error the SDK let through unwrapped (an httpx error, a resolver's
    # socket.gaierror, a refused connection, a TLS failure): still the provider's side, never a
    # crash upstream. Anything else is a bug of ours: let it through.
    failure = classify_transport(exc)
    if failure is None:
        raise exc
    return _transport(exc, failure, slot)


def _transport(exc: BaseException, failure: HttpFailure, slot: Slot) -> ProviderError:
    if failure is HttpFailure.TIMEOUT:
        return _timeout(slot)
    where = {"provider": slot.provider, "model": slot.model, "slot": slot.name}
    if failure is HttpFailure.TRUNCATED:
        chain = " ".join(str(c) for c in causes(exc))
        return ProviderError(ErrorKind.TRANSIENT, f"truncated response body: {chain[:200]}", **where)
    return ProviderError(ErrorKind.NETWORK, describe_transport(exc, slot.base_url), **where)


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
