"""The one retry decision of the job engine (the embedded pool and the distributed runner).

A failed attempt is either *transient* (trying again later can succeed: a rate limit, an
overloaded provider, a 5xx, the network, the cluster limits store down) and is retried with
exponential backoff, or *permanent* and dead-lettered at once with its message, which says what
to fix. The question is asked of the error's family in :mod:`hunkwise.errors`, the one tree every
layer's errors belong to: ``isinstance(exc, TransientError)``. A configuration error is never
transient (an invalid key, an unknown model, a plan that lacks the model or has expired, a
setting that can never work, a server and worker that disagree on the mode): retrying those only
delays the diagnosis (five attempts with the default backoff took about seven minutes) and spends
the provider's patience. The one error in both families, the cluster limits store down, passes.

Anything outside the tree is permanent: an unexpected exception is a bug or bad data, which the
next attempt would meet again.
"""

from __future__ import annotations

from hunkwise.errors import Backoff, ConfigurationError, HunkwiseError, TransientError, in_family
from hunkwise.gateway import ErrorKind

JOB_BACKOFF = Backoff(base_s=10.0, max_s=15 * 60.0, factor=3.0)
"""Between attempts of a job: 10 s, 30 s, 90 s, ... capped at 15 minutes (``--backoff`` sets the
first); a server's Retry-After wins when it asks for longer."""

_KINDS = frozenset(k.value for k in ErrorKind)


class ModelsFailed(HunkwiseError):
    """Every model request of a review failed. ``kinds`` are the :class:`ErrorKind` values met
    (anything else, e.g. an unreadable answer, as its own name). A configuration error when every
    one of them is (nothing will answer until the settings change), else transient."""

    def __new__(cls, message: str, kinds: frozenset[str]) -> ModelsFailed:
        family = ConfigurationError if configuration_only(kinds) else TransientError
        return super().__new__(in_family(cls, family), message, kinds)

    def __init__(self, message: str, kinds: frozenset[str]) -> None:
        super().__init__(message)
        self.kinds = kinds


def configuration_only(kinds: frozenset[str]) -> bool:
    """Whether ``kinds`` is non-empty and every kind is one retrying can never fix."""
    return bool(kinds) and all(k in _KINDS and ErrorKind(k).is_configuration for k in kinds)


def retry_delay(exc: BaseException, attempts: int, max_attempts: int, backoff: Backoff) -> float | None:
    """Seconds until the next attempt, or ``None``: the job is dead now (a permanent failure, or
    a transient one on its last allowed attempt). ``attempts`` counts the one that just failed."""
    if not isinstance(exc, TransientError) or attempts >= max_attempts:
        return None
    return backoff.delay(attempts - 1, exc.retry_after_s)


def dead_reason(exc: BaseException, message: str, attempts: int, max_attempts: int) -> str:
    """A dead letter's error: which rule ended the job, then the last error."""
    if isinstance(exc, TransientError):
        return f"gave up after attempt {attempts} of {max_attempts}: {message}"
    return f"permanent failure on attempt {attempts}: {message}"
