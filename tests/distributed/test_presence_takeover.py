"""Worker presence on PostgreSQL: a job whose worker's presence session has ended is taken over at
once, with its lease still far from expiry; a live, an unregistered or a SQLite owner keeps the
lease rule; a worker whose presence connection dropped takes its lock again, and its job, taken
over meanwhile, is stopped by the lease-loss path without finishing."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from hunkwise.jobs.distributed.runner import NOT_PRESENT_DELAY_S, JobRunner
from hunkwise.store import jobs as repo
from hunkwise.store.db import make_engine
from hunkwise.store.presence import RECHECK_S, Presence, gone, hold, registered
from hunkwise.store.tables import utcnow
from waiting import wait_until

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def pg(pg_db_url: str) -> Iterator[Engine]:
    engine = make_engine(pg_db_url)
    yield engine
    engine.dispose()


@pytest.fixture
def presences(pg: Engine) -> Iterator[list[Presence]]:
    made: list[Presence] = []
    yield made
    for p in made:
        p.close()


def live(pg: Engine, made: list[Presence], name: str, check_s: float = 3.0) -> Presence:
    presence = Presence(pg, f"{name}-{time.monotonic_ns()}", check_s=check_s)
    made.append(presence)
    assert presence.acquire()
    return presence


def die(pg: Engine, presence: Presence) -> None:
    """The worker's process ends: its session closes, and the database releases the lock when it
    has processed the disconnect (not always before ``close()`` returns on a loaded machine)."""
    presence.close()
    with pg.connect() as conn:
        session = Session(bind=conn)
        wait_until(lambda: gone(session, presence.owner), f"{presence.owner}'s presence lock released")


def job(engine: Engine, key: str, max_attempts: int = 3) -> int:
    created, _ = repo.enqueue(
        engine, org="acme", kind="github_review", payload={}, dedupe_key=key, max_attempts=max_attempts
    )
    return created.id


def two_running_jobs(pg: Engine, presences: list[Presence]) -> tuple[Presence, Presence, int, int, datetime]:
    """Two live workers, each running a job under a 60 s lease: ``(alive, doomed, kept, lost, now)``."""
    alive = live(pg, presences, "alive")
    doomed = live(pg, presences, "doomed")
    kept, lost = job(pg, "kept"), job(pg, "lost")
    now = utcnow()
    assert repo.claim_by_id(pg, kept, alive.owner, lease_s=60, now=now).state == "claimed"
    assert repo.claim_by_id(pg, lost, doomed.owner, lease_s=60, now=now).state == "claimed"
    return alive, doomed, kept, lost, now


def retaken(presence: Presence, old_pid: int | None, deadline_s: float = 10) -> bool:
    """Wait until ``presence`` holds its lock on another session than ``old_pid``."""
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        if presence.held and presence.backend_pid not in (None, old_pid):
            return True
        time.sleep(0.05)
    return False


def terminate(pg: Engine, presence: Presence) -> None:
    """End the presence session from the server side, as a dead worker's would end."""
    pid = presence.backend_pid
    assert pid is not None
    with pg.connect() as conn:
        assert conn.scalar(text("SELECT pg_terminate_backend(:pid, 5000)"), {"pid": pid})


def test_a_dead_owners_job_is_taken_over_at_once_a_live_ones_stays_busy(
    pg: Engine, presences: list[Presence]
) -> None:
    _alive, doomed, kept, lost, now = two_running_jobs(pg, presences)

    busy = repo.claim_by_id(pg, kept, "w2", lease_s=60, now=now)
    assert busy.state == "busy" and busy.abandoned_by is None
    assert busy.wait_s == RECHECK_S  # a registered owner is looked at again soon, not in 60 s
    assert repo.claim_by_id(pg, lost, "w2", lease_s=60, now=now).state == "busy"  # alive: busy

    die(pg, doomed)  # the process died: its session, and the lock, are gone
    took = repo.claim_by_id(pg, lost, "w2", lease_s=60, now=now + timedelta(seconds=1))
    assert took.state == "claimed", took  # the lease had 59 s left
    assert took.abandoned_by == doomed.owner
    assert took.job is not None and took.job.lease_owner == "w2" and took.job.attempts == 2
    assert not repo.renew(pg, lost, doomed.owner, lease_s=60)  # the old owner's lease is lost
    assert repo.claim_by_id(pg, kept, "w2", lease_s=60, now=now + timedelta(seconds=1)).state == "busy"


def test_unregistered_owners_keep_the_lease_rule(pg: Engine, presences: list[Presence]) -> None:
    plain = job(pg, "plain")
    now = utcnow()
    # An owner without the presence suffix (an older worker, the embedded pool) holds no lock,
    # so its free key proves nothing: it waits for the lease like before.
    assert repo.claim_by_id(pg, plain, "oldhost-42-abcdef", lease_s=60, now=now).state == "claimed"
    busy = repo.claim_by_id(pg, plain, "w2", lease_s=60, now=now)
    assert busy.state == "busy" and 59 < busy.wait_s <= 60
    later = now + timedelta(seconds=61)
    assert repo.claim_by_id(pg, plain, "w2", lease_s=60, now=later).state == "claimed"


def test_sqlite_keeps_the_lease_rule_for_registered_owners(sqlite_db_url: Callable[..., str]) -> None:
    engine = make_engine(sqlite_db_url())
    try:
        job_id = job(engine, "lite")
        now = utcnow()
        owner = registered("nobody-1-abcdef")  # no lock anywhere: on PostgreSQL this owner is dead
        assert repo.claim_by_id(engine, job_id, owner, lease_s=60, now=now).state == "claimed"
        busy = repo.claim_by_id(engine, job_id, "w2", lease_s=60, now=now)
        assert busy.state == "busy" and 59 < busy.wait_s <= 60
        assert repo.claim(engine, "w2", lease_s=60, now=now) is None
        assert repo.stranded(engine, idle_s=30, now=now + timedelta(seconds=40)) == []
    finally:
        engine.dispose()


def test_a_dead_owner_on_the_last_attempt_is_failed_by_the_lease_not_by_presence(
    pg: Engine, presences: list[Presence]
) -> None:
    """A free presence lock may be a live worker whose presence connection dropped: enough to run
    a job again, not to fail it for good. On the last attempt the lease decides."""
    doomed = live(pg, presences, "last")
    job_id = job(pg, "last", max_attempts=1)
    now = utcnow()
    assert repo.claim_by_id(pg, job_id, doomed.owner, lease_s=60, now=now).state == "claimed"
    die(pg, doomed)
    waiting = repo.claim_by_id(pg, job_id, "w2", lease_s=60, now=now)
    assert waiting.state == "busy" and 59 < waiting.wait_s <= 60
    assert repo.claim(pg, "w2", lease_s=60, now=now) is None
    dead = repo.claim_by_id(pg, job_id, "w2", lease_s=60, now=now + timedelta(seconds=61))
    assert dead.state == "gave_up"
    assert dead.job is not None and dead.job.status == "failed"
    assert dead.job.error == "interrupted: the worker stopped during attempt 1 of 1"


def test_claim_and_the_sweeper_see_abandoned_jobs_only(pg: Engine, presences: list[Presence]) -> None:
    _alive, doomed, _kept, lost, now = two_running_jobs(pg, presences)
    assert repo.claim(pg, "w2", lease_s=60, now=now) is None
    assert repo.stranded(pg, idle_s=30, now=now + timedelta(seconds=40)) == []
    die(pg, doomed)
    # The sweeper re-publishes an abandoned job once it went unrenewed for idle_s (its message
    # had time to be redelivered), while both leases still run (expiry at now + 60 s).
    assert repo.stranded(pg, idle_s=30, now=now + timedelta(seconds=10)) == []
    assert repo.stranded(pg, idle_s=30, now=now + timedelta(seconds=40)) == [lost]
    taken = repo.claim(pg, "w2", lease_s=60, now=now)
    assert taken is not None and taken.id == lost and taken.lease_owner == "w2"
    assert repo.claim(pg, "w3", lease_s=60, now=now) is None  # the live owner's job stays put


async def test_a_dropped_presence_is_taken_again_and_the_taken_over_job_stops(
    pg: Engine, presences: list[Presence]
) -> None:
    presence = live(pg, presences, "blip", check_s=0.5)  # watched from below, after the takeover
    job_id = job(pg, "blip")
    started, finished = asyncio.Event(), asyncio.Event()

    async def slow_review(job: Any, ctx: Any) -> dict[str, Any]:
        started.set()
        await asyncio.sleep(20)
        await ctx.ensure_lease()
        finished.set()
        return {"ok": True}

    published: list[tuple[int, float]] = []
    runner = JobRunner(
        pg,
        {"github_review": slow_review},
        lambda job_id, delay: published.append((job_id, delay)),
        owner=presence.owner,
        lease_s=3.0,  # the heartbeat renews every second
    )
    running = asyncio.create_task(runner.process(job_id))
    await asyncio.wait_for(started.wait(), 10)

    await asyncio.to_thread(terminate, pg, presence)  # a database restart, a network blip
    took = await asyncio.to_thread(repo.claim_by_id, pg, job_id, "w2", lease_s=60)
    assert took.state == "claimed" and took.abandoned_by == presence.owner  # lease still live

    outcome = await asyncio.wait_for(running, 10)  # the heartbeat's renewal is refused
    assert outcome == "duplicate" and not finished.is_set()
    after = repo.get_job(pg, job_id)
    assert after is not None and after.status == "running" and after.lease_owner == "w2"

    dead_pid = presence.backend_pid
    presence.start()
    assert await asyncio.to_thread(retaken, presence, dead_pid)  # the watcher took the lock again
    again = job(pg, "after-blip")
    assert repo.claim_by_id(pg, again, presence.owner, lease_s=60).state == "claimed"
    assert repo.claim_by_id(pg, again, "w3", lease_s=60).state == "busy"  # alive again


def test_a_worker_whose_key_is_taken_picks_another_owner(pg: Engine, presences: list[Presence]) -> None:
    first = live(pg, presences, "first")
    owners = iter([first.owner, "second-1-abcdef"])  # the first try collides with a live key
    second = hold(pg, lambda: next(owners), check_s=60)
    presences.append(second)
    assert second.owner == "second-1-abcdef+presence" and second.held
    assert first.held and first.backend_pid != second.backend_pid


async def test_a_worker_without_its_presence_lock_claims_nothing(
    pg: Engine, presences: list[Presence]
) -> None:
    """Claiming without the lock would look abandoned to every other worker (a second run), so
    the message goes back to the broker for later and the job stays queued, attempt not counted.
    (How a lost lock is noticed and taken again is the test above; here it is simply released.)"""
    presence = live(pg, presences, "lost")
    job_id = job(pg, "while-lost")
    published: list[tuple[int, float]] = []

    async def never(job: Any, ctx: Any) -> dict[str, Any]:
        raise AssertionError("a worker without its presence lock ran a job")

    runner = JobRunner(
        pg,
        {"github_review": never},
        lambda job_id, delay: published.append((job_id, delay)),
        owner=presence.owner,
        lease_s=30,
        may_claim=lambda: presence.held,
    )
    presence.close()
    assert not presence.held
    assert await runner.process(job_id) == "deferred"
    assert published == [(job_id, NOT_PRESENT_DELAY_S)]
    row = repo.get_job(pg, job_id)
    assert row is not None and row.status == "queued" and row.attempts == 0
