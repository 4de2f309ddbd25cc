"""The gateway's one error tree, placed in hunkwise's families (:mod:`hunkwise.errors`).

Every provider failure (HTTP status, Z.AI business code, SDK exception, socket error) is
translated exactly once, at the adapter boundary, into a :class:`ProviderError` with an
:class:`ErrorKind`. The router decides policy from the kind alone; nothing above the adapters
ever inspects a status code or an SDK exception.

    GatewayError                      (every one is also a ConfigurationError, TransientError or
    │                                  PermanentError of hunkwise.errors)
    ├── ProviderError          one failed call to one slot (has .kind, .status, .code, .reset_at);
    │                          its family follows its kind (ErrorKind.family)
    ├── AllSlotsFailed         every slot failed or was skipped; carries every ProviderError;
    │                          configuration when every failure was, else transient
    ├── LimitsUnavailable      the cluster limits store (Redis) cannot be reached now: transient,
    │                          and a configuration error too (see its docstring)
    ├── ConnectBlocked         a caller-supplied transport refused to connect (SSRF guard);
    │                          adapters translate it into a ``network`` ProviderError
    └── NotRecorded            a replayed request has no recording (gateway/recording.py);
                               adapters translate it into a ``bad_request`` ProviderError

A setting that can never work (a bad override, an unknown wire) is a plain
:class:`hunkwise.errors.ConfigurationError`, the same class every layer raises.

Named like :mod:`hunkwise.errors` and :mod:`hunkwise.review.errors` on purpose: each package's
``errors`` holds its branch of the one tree rooted in :mod:`hunkwise.errors`.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from hunkwise.errors import (
    ConfigurationError,
    Family,
    HunkwiseError,
    PermanentError,
    TransientError,
    in_family,
)


class ErrorKind(StrEnum):
    """What went wrong in the provider's terms, independent of wire and status code: the router's
    retry, circuit and failover decisions read only this.
    """

    AUTH = "auth"  # bad key, or key sent to the other plan's endpoint (401/403, 1000-1004)
    QUOTA_WINDOW = "quota_window"  # 5-hour / weekly window exhausted (1308, 1310)
    BALANCE = "balance"  # pay-per-token balance exhausted (1113)
    PLAN_EXPIRED = "plan_expired"  # Coding Plan expired (1309)
    PLAN_LACKS_MODEL = "plan_lacks_model"  # plan does not include the model (1311)
    CONCURRENCY = "concurrency"  # too many in flight for this key (1302)
    RATE = "rate"  # request frequency / fair-use throttle (1303, 1313, generic 429)
    OVERLOADED = "overloaded"  # provider overloaded (1305, 1312, Anthropic 529)
    CONTEXT_OVERFLOW = "context_overflow"  # prompt longer than the window (1261)
    MODEL_NOT_FOUND = "model_not_found"  # unknown model id (1211, 404)
    TRANSIENT = "transient"  # 5xx, truncated body
    NETWORK = "network"  # DNS, refused, reset, TLS
    TIMEOUT = "timeout"  # no answer within the slot's timeout
    BAD_REQUEST = "bad_request"  # the provider rejected our request shape (400/422)

    @property
    def is_configuration(self) -> bool:
        """Kinds that retrying can never fix: report them loudly to the operator."""
        return self in _CONFIG_KINDS

    @property
    def family(self) -> Family:
        """Configuration for the kinds above; permanent for a request the provider refuses as
        such (too long, malformed); transient for the rest: limits, windows and balances reopen,
        overloads and networks pass."""
        if self in _CONFIG_KINDS:
            return ConfigurationError
        if self in (ErrorKind.CONTEXT_OVERFLOW, ErrorKind.BAD_REQUEST):
            return PermanentError
        return TransientError


_CONFIG_KINDS = frozenset(
    {ErrorKind.AUTH, ErrorKind.MODEL_NOT_FOUND, ErrorKind.PLAN_LACKS_MODEL, ErrorKind.PLAN_EXPIRED}
)


class GatewayError(HunkwiseError):
    """Base of every error the gateway raises besides a plain :class:`ConfigurationError`."""


class ConnectBlocked(GatewayError, ConfigurationError):
    """A transport supplied through ``ClientPool(transport_factory=...)`` refused a connection.

    The gateway knows nothing of why (the server's SSRF policy, for instance); it only promises
    that the message reaches the user unchanged, as a ``network`` error of the slot, instead of the
    SDK's generic "Connection error."

    A configuration error: the address is refused by policy, so the base URL (or the allow-list)
    must change; as a provider call's failure it still reaches the router as ``network``.
    """

    def __init__(self, message: str, *, host: str = "", address: str = "") -> None:
        super().__init__(message)
        self.host = host
        self.address = address


class NotRecorded(GatewayError, PermanentError):
    """A replayed request has no recording (:mod:`hunkwise.gateway.recording`). The adapters
    translate it into a ``bad_request`` error of the slot carrying this message: not retried (the
    answer will not appear), and the request's chunk fails visibly instead of silently."""

    def __init__(self, message: str, *, key: str) -> None:
        super().__init__(message)
        self.key = key


class ProviderError(GatewayError):
    """One failed call, already classified. ``ProviderError(kind, ...)`` is an instance of the
    family of ``kind`` (``isinstance(err, TransientError)`` for a rate limit)."""

    def __new__(cls, kind: ErrorKind, *args: Any, **kwargs: Any) -> ProviderError:
        return super().__new__(in_family(cls, kind.family), kind, *args)

    def __init__(
        self,
        kind: ErrorKind,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        reset_at: datetime | None = None,
        provider: str = "",
        model: str = "",
        slot: str = "",
    ) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.status = status
        self.code = code
        self.reset_at = reset_at  # when a quota window reopens (from next_flush_time), if known
        self.provider = provider
        self.model = model
        self.slot = slot

    def __str__(self) -> str:
        where = f"{self.slot}: " if self.slot else ""
        tags = ", ".join(x for x in (str(self.status or ""), self.code or "") if x)
        return f"{where}{self.kind.value}{f' ({tags})' if tags else ''}: {self.message}"


class AllSlotsFailed(GatewayError):
    """No slot could answer. ``errors`` holds every failure in order; ``attempts`` the full log.
    A configuration error when every failure was one (nothing will answer until the settings
    change), else transient: the other failures may pass."""

    def __new__(cls, errors: list[ProviderError], *args: Any, **kwargs: Any) -> AllSlotsFailed:
        family = (
            ConfigurationError if errors and all(e.kind.is_configuration for e in errors) else TransientError
        )
        return super().__new__(in_family(cls, family), errors, *args)

    def __init__(self, errors: list[ProviderError], attempts: list) -> None:  # list[Attempt]
        self.errors = errors
        self.attempts = attempts
        summary = "; ".join(str(e) for e in errors) or "no slot was available"
        super().__init__(f"every configured model failed: {summary}")

    @property
    def configuration_errors(self) -> list[ProviderError]:
        """The failures a person must fix (keys, plans, models), so the message leads
        with them instead of with transient noise.
        """
        return [e for e in self.errors if e.kind.is_configuration]


class LimitsUnavailable(GatewayError, ConfigurationError, TransientError):
    """The shared limits backend (Redis) cannot be reached: no slot can be granted or released,
    no circuit read, so the call is refused as a whole.

    The one error in two families. A :class:`ConfigurationError`: like one, it would fail every
    call of a run the same way and only the operator can fix it (start Redis, or unset the limits
    URL), so callers that stop a whole run on a configuration error (a review, the CLI) stop on
    this too instead of failing chunk after chunk. A :class:`TransientError` too: a job that meets
    it is retried with backoff (the job engines ask only whether an error is transient), and once
    Redis is back the same process works again.

    Why not a :class:`ProviderError`: the model did nothing wrong. It must not open a circuit, and
    the router must not fail over to the fallback model, since that call would bypass the cluster
    limit just the same; nor does the backend fall back to per-process limits on its own, which
    would silently break the per-key promise across workers.
    """

    def __init__(self, url: str, action: str, reason: str, *, unreachable: bool = True) -> None:
        # ``unreachable``: no connection (refused, reset, timed out); otherwise Redis answered with
        # an error (out of memory, a read-only replica): the limits are just as unenforceable.
        where = f"cannot reach Redis at {url}" if unreachable else f"Redis at {url} refused a command"
        super().__init__(
            f"{where} for cluster limits: {action} failed ({reason}); "
            "start Redis, or unset HUNKWISE_LIMITS_URL to use per-process limits (not cluster-safe)",
            setting="HUNKWISE_LIMITS_URL",
        )
        self.url = url  # already redacted: never a password
        self.action = action
        self.reason = reason
