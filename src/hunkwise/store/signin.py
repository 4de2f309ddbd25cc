"""Wrong-token counters for sign-in throttling, shared by every server process through the store.

Failures are counted in fixed windows (aligned to the epoch, :attr:`SigninLimits.window` long),
once per client address and once for the whole installation (scope ``*``). A scope that reached
its limit is locked until its window ends; while locked, attempts are refused without being
counted, so one address adds at most ``per_client`` writes per window and the whole
installation at most ``overall``, however hard it is hammered.

The counters live in the database rather than in process memory because ``hunkwise serve`` may
run several processes behind one address (and several servers share one database): a per-process
counter would multiply the limit by the number of processes.

Named like :mod:`hunkwise.server.signin` on purpose: the counters' rows here, the HTTP side of
sign-in throttling there.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import delete, select

from hunkwise.store.db import Db, increment, use_session, window_start
from hunkwise.store.tables import SigninFailure, utcnow

GLOBAL_SCOPE = "*"
Scope = Literal["client", "global"]


@dataclass(frozen=True)
class SigninLimits:
    """How many wrong tokens are tolerated per client and overall in one window: read from settings once and
    passed in, so tests use tiny limits.
    """

    per_client: int
    overall: int
    window: timedelta


@dataclass(frozen=True)
class Lockout:
    """Sign-ins are refused for ``scope`` until ``until`` (the end of the current window)."""

    scope: Scope
    until: datetime

    def retry_after(self, now: datetime | None = None) -> int:
        """Whole seconds until the window ends (at least 1), for a ``Retry-After`` header."""
        left = (self.until - (now or utcnow())).total_seconds()
        return max(1, math.ceil(left))


def _client_scope(client: str) -> str:
    return f"client:{client}"[:100]


def lockout(db: Db, client: str, limits: SigninLimits, *, now: datetime | None = None) -> Lockout | None:
    """The lockout in force for ``client`` (its own, or the installation's), or None."""
    now = now or utcnow()
    start = window_start(now, limits.window)
    mine = _client_scope(client)
    with use_session(db) as session:
        rows = session.execute(
            select(SigninFailure.scope, SigninFailure.failures).where(
                (SigninFailure.window_start == start) & SigninFailure.scope.in_([mine, GLOBAL_SCOPE])
            )
        )
        counts = {scope: failures for scope, failures in rows}
    until = start + limits.window
    if counts.get(mine, 0) >= limits.per_client:
        return Lockout("client", until)
    if counts.get(GLOBAL_SCOPE, 0) >= limits.overall:
        return Lockout("global", until)
    return None


def record_failure(
    db: Db, client: str, limits: SigninLimits, *, now: datetime | None = None
) -> list[Lockout]:
    """Count one wrong token from ``client``. Returns the lockouts this very failure started
    (each scope reaches its limit exactly once per window, even across processes, because the
    increment and the read of the new count are one atomic statement)."""
    now = now or utcnow()
    start = window_start(now, limits.window)
    started: list[Lockout] = []
    with use_session(db, write=True) as session:
        for scope, kind, limit in (
            (_client_scope(client), "client", limits.per_client),
            (GLOBAL_SCOPE, "global", limits.overall),
        ):
            keys = {"scope": scope, "window_start": start}
            count = increment(session, SigninFailure.__table__, keys, "failures")
            if count == limit:
                started.append(Lockout(kind, start + limits.window))  # type: ignore[arg-type]
            if scope == GLOBAL_SCOPE and count == 1:  # first failure of a window: drop old windows
                session.execute(delete(SigninFailure).where(SigninFailure.window_start < start))
    return started


__all__ = ["GLOBAL_SCOPE", "Lockout", "SigninLimits", "lockout", "record_failure"]
