"""Waiting in tests: on the condition itself, with a deadline, never for a fixed time.

A fixed sleep is either too short on a loaded CI machine (a flaky failure) or too long everywhere
else (minutes of a suite spent idle). These poll a real observable (the simulator's counters, a
job's row, a backend's queue) often, and fail naming what never happened.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

T = TypeVar("T")

INTERVAL_S = 0.01


def wait_until(check: Callable[[], T], what: str, deadline_s: float = 30.0) -> T:
    """Poll ``check`` until it returns something truthy (returned); fail after ``deadline_s``."""
    end = time.monotonic() + deadline_s
    while True:
        got = check()
        if got:
            return got
        if time.monotonic() > end:
            raise AssertionError(f"{what}: not reached within {deadline_s:.0f} s (last: {got!r})")
        time.sleep(INTERVAL_S)


async def eventually(check: Callable[[], Awaitable[T] | T], what: str, deadline_s: float = 30.0) -> T:
    """``wait_until`` on the event loop; ``check`` may be a coroutine function or a plain one."""
    end = time.monotonic() + deadline_s
    while True:
        got: Any = check()
        if asyncio.iscoroutine(got):
            got = await got
        if got:
            return got  # type: ignore[no-any-return]
        if time.monotonic() > end:
            raise AssertionError(f"{what}: not reached within {deadline_s:.0f} s (last: {got!r})")
        await asyncio.sleep(INTERVAL_S)


def sim_in_flight(sim: Any, key: str) -> Callable[[], bool]:
    """A check: the simulator is answering at least one request of ``key`` right now."""
    return lambda: sim.key_stats(key)["in_flight"] >= 1


def attempt_ended() -> Any:
    """A job-engine hook whose ``ended`` event is set when an attempt has ended: by then the
    engine has recorded everything it records for it (the row, the metrics, the hand-back)."""
    from hunkwise.jobs.engine import JobHooks

    class AttemptEnded(JobHooks):
        def __init__(self) -> None:
            self.ended = asyncio.Event()
            self.outcomes: list[str | None] = []

        async def after_job(self, job: Any, outcome: Any, result: Any) -> None:
            self.outcomes.append(outcome)
            self.ended.set()

    return AttemptEnded()
