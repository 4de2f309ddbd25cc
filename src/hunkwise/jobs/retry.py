"""The one retry decision of both job engines (the embedded pool and the distributed runner).

A failed attempt is either *transient* (trying again later can succeed: a rate limit, an
overloaded provider, a 5xx, the network, the cluster limits store down) and is retried with
exponential backoff, or *permanent* and dead-lettered at once with its message, which says what
to fix. A configuration error is permanent whatever its shape: an invalid key, an unknown model, a
plan that lacks the model or has expired, a setting that can never work, a server and worker
that disagree on the mode. Retrying those only delays the diagnosis (five attempts with the
default backoff took about seven minutes) and spends the provider's patience.

Anything the engines do not know to be transient is permanent: an unexpected exception is a bug
or bad data, which the next attempt would meet again.
"""

from __future__ import annotations

from dataclasses import dataclass

from hunkwise.gateway.errors import ErrorKind, LimitsUnavailable
from hunkwise.platforms.review_post import PlatformError

_KINDS = frozenset(k.value for k in ErrorKind)


class RetryableJobError(Exception):
    """Raise from a handler when trying again later can succeed."""

    transient = True

    def __init__(self, message: str, *, retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class ModelsFailed(RetryableJobError):
    """Every model request of a review failed. ``kinds`` are the :class:`ErrorKind` values met
    (anything else, e.g. an unreadable answer, as its own name): transient unless every one of
    them is a configuration error."""

    def __init__(self, message: str, kinds: frozenset[str]) -> None:
        super().__init__(message)
        self.kinds = kinds
        self.transient = not configuration_only(kinds)


def configuration_only(kinds: frozenset[str]) -> bool:
    """Whether ``kinds`` is non-empty and every kind is one retrying can never fix."""
    return bool(kinds) and all(k in _KINDS and ErrorKind(k).is_configuration for k in kinds)


def is_transient(exc: BaseException) -> bool:
    """Whether another attempt of the job can succeed where this one failed."""
    if isinstance(exc, (RetryableJobError, PlatformError)):
        return bool(exc.transient)
    # A ConfigurationError, except this one: Redis down for the cluster limits, back any moment.
    return isinstance(exc, LimitsUnavailable)


@dataclass(frozen=True, slots=True)
class Backoff:
    base_s: float = 10.0
    factor: float = 3.0
    max_s: float = 15 * 60.0

    def delay(self, attempt: int, hint_s: float | None = None) -> float:
        """``attempt`` is the attempt that just failed (1-based); a server hint (Retry-After)
        wins when it asks for longer."""
        computed = min(self.max_s, self.base_s * self.factor ** max(0, attempt - 1))
        return max(computed, min(hint_s, self.max_s)) if hint_s else computed


def retry_delay(exc: BaseException, attempts: int, max_attempts: int, backoff: Backoff) -> float | None:
    """Seconds until the next attempt, or ``None``: the job is dead now (a permanent failure, or
    a transient one on its last allowed attempt)."""
    if not is_transient(exc) or attempts >= max_attempts:
        return None
    return backoff.delay(attempts, getattr(exc, "retry_after_s", None))
