"""The gateway's one error tree.

Every provider failure (HTTP status, Z.AI business code, SDK exception, socket error) is
translated exactly once, at the adapter boundary, into a :class:`ProviderError` with an
:class:`ErrorKind`. The router decides policy from the kind alone; nothing above the adapters
ever inspects a status code or an SDK exception.

    GatewayError
    ├── ProviderError          one failed call to one slot (has .kind, .status, .code, .reset_at)
    ├── AllSlotsFailed         every slot failed or was skipped; carries every ProviderError
    ├── ConfigurationError     a slot/override/URL that can never work (raised before any call)
    │   └── LimitsUnavailable  the cluster limits store (Redis) cannot be reached now; transient
    └── ConnectBlocked         a caller-supplied transport refused to connect (SSRF guard);
                               adapters translate it into a ``network`` ProviderError
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum


class ErrorKind(StrEnum):
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


_CONFIG_KINDS = frozenset(
    {ErrorKind.AUTH, ErrorKind.MODEL_NOT_FOUND, ErrorKind.PLAN_LACKS_MODEL, ErrorKind.PLAN_EXPIRED}
)


class GatewayError(Exception):
    """Base of every error the gateway raises."""


class ConfigurationError(GatewayError):
    """A setting that can never work. ``setting`` names it; the message says how to fix it."""

    def __init__(self, message: str, *, setting: str | None = None) -> None:
        super().__init__(message)
        self.setting = setting


class ConnectBlocked(GatewayError):
    """A transport supplied through ``ClientPool(transport_factory=...)`` refused a connection.

    The gateway knows nothing of why (the server's SSRF policy, for instance); it only promises
    that the message reaches the user unchanged, as a ``network`` error of the slot, instead of the
    SDK's generic "Connection error."
    """

    def __init__(self, message: str, *, host: str = "", address: str = "") -> None:
        super().__init__(message)
        self.host = host
        self.address = address


class ProviderError(GatewayError):
    """One failed call, already classified."""

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
    """No slot could answer. ``errors`` holds every failure in order; ``attempts`` the full log."""

    def __init__(self, errors: list[ProviderError], attempts: list) -> None:  # list[Attempt]
        self.errors = errors
        self.attempts = attempts
        summary = "; ".join(str(e) for e in errors) or "no slot was available"
        super().__init__(f"every configured model failed: {summary}")

    @property
    def configuration_errors(self) -> list[ProviderError]:
        return [e for e in self.errors if e.kind.is_configuration]


class LimitsUnavailable(ConfigurationError):
    """The shared limits backend (Redis) cannot be reached: no slot can be granted or released,
    no circuit read, so the call is refused as a whole.

    Why a :class:`ConfigurationError`: like one, it would fail every call of a run the same way
    and only the operator can fix it (start Redis, or unset the limits URL), so callers that stop
    a whole run on a configuration error (a review, the CLI) stop on this too instead of failing
    chunk after chunk. Unlike one it is ``transient``: a job that meets it is retried with backoff,
    and once Redis is back the same process works again.

    Why not a :class:`ProviderError`: the model did nothing wrong. It must not open a circuit, and
    the router must not fail over to the fallback model, since that call would bypass the cluster
    limit just the same; nor does the backend fall back to per-process limits on its own, which
    would silently break the per-key promise across workers.
    """

    transient = True

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
