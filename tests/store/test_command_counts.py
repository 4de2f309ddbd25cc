"""The ``@hunkwise`` command rate limit's counters (hunkwise.store.command_counts), on SQLite and
PostgreSQL: the limit per pull request in any hour, the previous hour carried over by how much of
it is still inside the last sixty minutes, refusals not counted, and one limit for every process
sharing the database, also when they race for the last command."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, func, select

from hunkwise.store.command_counts import take_command
from hunkwise.store.tables import CommandCount

PR = "github:acme/api#7"
T0 = datetime(2026, 12, 5, 10, 50, tzinfo=UTC)


def takes(engine: Engine, n: int, per_hour: int, now: datetime, key: str = PR) -> list[bool]:
    return [take_command(engine, key, per_hour, now=now) for _ in range(n)]


def test_the_limit_holds_per_pull_request_and_refusals_are_not_counted(engine: Engine) -> None:
    assert takes(engine, 4, 3, T0) == [True, True, True, False]
    assert takes(engine, 1, 3, T0, key="github:acme/api#8") == [True], "another pull request"
    with engine.connect() as conn:
        counted = conn.scalar(select(CommandCount.commands).where(CommandCount.pull_key == PR))
    assert counted == 3, "the refused command was not counted"
    assert take_command(engine, PR, 0, now=T0) is False, "a limit of 0 refuses every command"


def test_the_previous_hour_counts_for_the_part_of_it_still_inside_the_last_hour(engine: Engine) -> None:
    assert takes(engine, 10, 10, T0) == [True] * 10  # 10:50
    # 11:30: half of the previous hour is inside the last sixty minutes: 5 of its 10 count.
    assert takes(engine, 6, 10, T0 + timedelta(minutes=40)) == [True] * 5 + [False]
    # 11:59: almost none of it counts, this hour's 5 do.
    assert takes(engine, 6, 10, T0 + timedelta(minutes=69)) == [True] * 5 + [False]
    # 12:50: 10:00's hour is gone; 11:00's ten carry 1/6 (1 command) for 10 minutes more.
    assert takes(engine, 10, 10, T0 + timedelta(minutes=120)) == [True] * 9 + [False]
    with engine.connect() as conn:
        hours = set(conn.scalars(select(CommandCount.window_start).distinct()))
    assert len(hours) == 2, f"hours older than the previous one are deleted: {sorted(hours)}"


def test_processes_on_one_database_share_the_limit_and_race_for_the_last_command(
    engine: Engine, engine_factory: Callable[[], Engine]
) -> None:
    others = [engine_factory() for _ in range(4)]
    assert takes(others[0], 2, 5, T0) == [True, True]
    assert takes(others[1], 2, 5, T0) == [True, True]
    results: list[bool] = []
    lock = threading.Lock()
    start = threading.Barrier(len(others))

    def race(e: Engine) -> None:
        start.wait()
        got = takes(e, 3, 5, T0)
        with lock:
            results.extend(got)

    threads = [threading.Thread(target=race, args=(e,)) for e in others]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results.count(True) == 1, "one command was left for twelve racing requests"
    with engine.connect() as conn:
        assert conn.scalar(select(func.sum(CommandCount.commands))) == 5
