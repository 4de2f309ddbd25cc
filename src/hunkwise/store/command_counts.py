"""The ``@hunkwise`` command rate limit's counters, shared by every server process.

At most ``per_hour`` commands per pull request in any hour. Commands are counted per clock hour
(UTC), and a command is accepted while the estimate of the last sixty minutes stays within the
limit: this hour's count plus the previous hour's, weighted by how much of it is still inside the
last sixty minutes (the sliding-window counter; two rows per pull request, not one per command).
A refused command is not counted, so a pull request spammed with commands is accepted again as
soon as its accepted ones age out.

The counters live in the database rather than in process memory for the same reason as the
sign-in counters (:mod:`hunkwise.store.signin`): ``hunkwise serve`` may run several processes
behind one address, and several servers may share one database; a counter per process multiplied
the limit by the number of processes. The increment, the check and the undo of a refused command
are one transaction on the counter's row, so two processes cannot both take the last command.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update

from hunkwise.store.db import Db, increment, use_session, window_start
from hunkwise.store.tables import CommandCount, utcnow

WINDOW = timedelta(hours=1)
MAX_KEY = 300


def take_command(db: Db, pull_key: str, per_hour: int, *, now: datetime | None = None) -> bool:
    """Count one command on ``pull_key`` if the limit allows it; False (nothing counted) if not."""
    if per_hour <= 0:
        return False
    now = now or utcnow()
    start = window_start(now, WINDOW)
    key = pull_key[:MAX_KEY]
    carried = 1 - (now - start) / WINDOW  # the share of the previous hour still in the last 60 min
    with use_session(db, write=True) as session:
        count = increment(
            session, CommandCount.__table__, {"pull_key": key, "window_start": start}, "commands"
        )
        previous = session.scalar(
            select(CommandCount.commands).where(
                (CommandCount.pull_key == key) & (CommandCount.window_start == start - WINDOW)
            )
        )
        if math.floor((previous or 0) * carried) + count > per_hour:
            session.execute(
                update(CommandCount)
                .where((CommandCount.pull_key == key) & (CommandCount.window_start == start))
                .values(commands=CommandCount.commands - 1)
            )
            return False
        if count == 1:  # the pull request's first command this hour: drop every key's old hours
            session.execute(delete(CommandCount).where(CommandCount.window_start < start - WINDOW))
    return True


__all__ = ["WINDOW", "take_command"]
