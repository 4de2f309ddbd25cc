"""Retry policy knobs and the events the router reports while it serves a request.

The router reads only :class:`ErrorKind`; this module says, per kind, what it does: retry the
same slot (and how often), open the slot's circuit, or move on.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from hunkwise.errors import Backoff
from hunkwise.gateway.errors import ErrorKind

# Retry the same slot after a backoff, then fail over.
BACKOFF_KINDS = frozenset({ErrorKind.CONCURRENCY, ErrorKind.RATE})
RETRY_KINDS = frozenset({ErrorKind.OVERLOADED, ErrorKind.TRANSIENT, ErrorKind.NETWORK, ErrorKind.TIMEOUT})
# Stop using the slot until its reset time, fail over at once.
CIRCUIT_KINDS = frozenset({ErrorKind.QUOTA_WINDOW, ErrorKind.BALANCE, ErrorKind.PLAN_EXPIRED})
# A misconfigured slot (bad key, unknown model, a plan without the model): stop calling it for a
# short while, fail over at once, then probe it again. Short because the fix (a new key, a plan
# upgrade) may land at any moment and no reset time says when; a circuit at all because calling a
# slot that cannot answer costs every request a round trip and repeats the warning per chunk.
CONFIG_CIRCUIT_KINDS = frozenset({ErrorKind.AUTH, ErrorKind.MODEL_NOT_FOUND, ErrorKind.PLAN_LACKS_MODEL})


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Bounds for retries on one slot before failing over; all times in seconds."""

    rate_retries: int = 4  # concurrency (1302) / rate (1303, 1313, 429) retries on the same slot
    transient_retries: int = 1  # overloaded / 5xx / network / timeout retries on the same slot
    # Before retry n on the same slot: 0.5 s doubling, capped at 8 s, +-50 % so waiting clients do
    # not retry in step (the job engines use the same formula with minutes: jobs/retry.py).
    backoff: Backoff = field(default_factory=lambda: Backoff(base_s=0.5, max_s=8.0, factor=2.0, jitter=0.5))
    # How long a circuit stays open when the provider gives no reset time.
    quota_window_default_s: float = 5 * 3600.0
    balance_default_s: float = 15 * 60.0
    plan_expired_default_s: float = 3600.0
    # How long a misconfigured slot (CONFIG_CIRCUIT_KINDS) is skipped before the next call probes it.
    configuration_circuit_s: float = 60.0

    def retries_for(self, kind: ErrorKind) -> int:
        """How many times a failure of this kind is retried on the same slot: rate limits get more
        patience than server errors, permanent kinds none.
        """
        if kind in BACKOFF_KINDS:
            return self.rate_retries
        if kind in RETRY_KINDS:
            return self.transient_retries
        return 0

    def circuit_default_s(self, kind: ErrorKind) -> float:
        """How long a circuit stays open when the provider did not say: a balance or an expired
        plan needs a person, a quota window only time.
        """
        if kind is ErrorKind.BALANCE:
            return self.balance_default_s
        if kind is ErrorKind.PLAN_EXPIRED:
            return self.plan_expired_default_s
        return self.quota_window_default_s


EventType = Literal["retry", "failover", "circuit_open", "skip", "config_error"]


@dataclass(frozen=True, slots=True)
class RouterEvent:
    """Something the operator may want to see while a request is served (progress displays).

    A notice, not a count: figures (failovers, calls) come from the request's call records
    (``gateway.types.Attempt``), which say what happened once the request is served."""

    type: EventType
    slot: str  # the slot's label ("main: zai/glm-5.1 (coding/lite)")
    kind: str | None = None  # the ErrorKind value, when an error caused it
    message: str = ""
    delay_s: float = 0.0  # for "retry": how long the router waits first
    until: float | None = None  # for "circuit_open"/"skip": epoch seconds the circuit reopens
