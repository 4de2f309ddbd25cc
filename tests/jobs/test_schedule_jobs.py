"""Scheduling end to end in the job engine: PostgreSQL, the worker pool, the simulator as Main
(a Coding Plan Lite key) and Fallback (a Developer API key) over loopback HTTP, a faked GitHub,
and an injected clock that lets a deferred job's time come."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from sqlalchemy import Engine
from test_review_job import pr_event

from call_records import call_record
from hunkwise.config.scheduling import MANUAL_PRIORITY, PRIORITIES
from hunkwise.errors import Backoff
from hunkwise.gateway.types import Secret, Slot
from hunkwise.jobs.pool import WorkerPool
from hunkwise.jobs.queue import DatabaseQueue
from hunkwise.jobs.review_job import GITHUB_KIND, ReviewDeps, make_handlers
from hunkwise.jobs.schedule import job_schedule, window_capacity
from hunkwise.platforms.github import GitHubClient
from hunkwise.store import jobs as repo
from hunkwise.store.ledger import record_run
from hunkwise.store.orgs import create_org, set_org_spill, spill_for_org
from hunkwise.store.records import RunRecord
from hunkwise.store.tables import utcnow
from platform_fakes import FakeGitHub
from simkeys import CODING_LITE_KEY, DEV_KEY

pytestmark = pytest.mark.postgres


class Clock:
    """The scheduler's and the queue's clock, moved by the test."""

    def __init__(self) -> None:
        self.now = utcnow() + timedelta(seconds=2)  # jobs enqueued by the test are due

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def pg_engine(pg_db_url: str) -> Iterator[Engine]:
    from hunkwise.store.db import make_engine

    eng = make_engine(pg_db_url)
    yield eng
    eng.dispose()


def slots(sim) -> list[Slot]:  # type: ignore[no-untyped-def]
    main = Slot(
        name="main", provider="zai", base_url=sim.zai_coding_url, model="glm-5.1",
        api_key=Secret(CODING_LITE_KEY), plan="coding", tier="lite", max_concurrent=1, context_window=200_000,
    )  # fmt: skip
    fallback = Slot(
        name="fallback", provider="zai", base_url=sim.zai_developer_url, model="glm-5.1",
        api_key=Secret(DEV_KEY), plan="developer", input_price=1.4, output_price=4.4, context_window=200_000,
    )  # fmt: skip
    return [main, fallback]


def fill_window(engine: Engine, slot: Slot, at: datetime, prompts: int = 120) -> None:
    """``prompts`` answered calls on ``slot``'s key at ``at``: Lite's 5-hour window is full."""
    calls = [
        call_record(created_at=at, credential_id=slot.credential_id, plan="coding", tier="lite")
        for _ in range(prompts)
    ]
    record_run(engine, RunRecord(source="github", status="done", idempotency_key="earlier"), calls)


def pool_for(engine: Engine, sim, gh: FakeGitHub, clock: Clock) -> WorkerPool:  # type: ignore[no-untyped-def]
    deps = ReviewDeps(
        engine=engine,
        slots_for_org=lambda org: slots(sim),
        github=lambda ev: GitHubClient(Secret("ghp_test"), ev.api_url, transport=gh.transport()),
        gitlab=lambda ev: None,  # type: ignore[arg-type,return-value]
        spill_for_org=lambda org: spill_for_org(engine, org, "when-exhausted"),
        capacity=window_capacity(engine),
        clock=clock,
    )
    queue = DatabaseQueue(engine, clock=clock)
    backoff = Backoff(base_s=0.01, max_s=0.01, factor=1.0)
    return WorkerPool(queue, make_handlers(deps), poll_s=0.05, backoff=backoff)


def enqueue(engine: Engine, priority: int, action: str = "opened") -> repo.Job:
    event = pr_event(action)
    job, _ = repo.enqueue(
        engine, org="acme", kind=GITHUB_KIND, payload=event.as_payload(), dedupe_key=event.dedupe_key,
        priority=priority,
    )  # fmt: skip
    return job


async def until(engine: Engine, job_id: int, check, deadline_s: float = 60) -> repo.Job:  # type: ignore[no-untyped-def]
    for _ in range(int(deadline_s / 0.05)):
        job = repo.get_job(engine, job_id)
        assert job is not None
        if check(job):
            return job
        await asyncio.sleep(0.05)
    raise AssertionError(f"job {job_id} never got there: {repo.get_job(engine, job_id)}")


async def test_a_new_pr_waits_for_the_reset_under_never_then_runs_on_main(pg_engine: Engine, sim) -> None:
    clock, gh = Clock(), FakeGitHub()
    create_org(pg_engine, "acme", "Acme")
    set_org_spill(pg_engine, "acme", "never")
    filled_at = clock.now - timedelta(hours=1)
    fill_window(pg_engine, slots(sim)[0], filled_at)
    job = enqueue(pg_engine, PRIORITIES["opened"])
    pool = pool_for(pg_engine, sim, gh, clock)
    pool.start()
    try:
        waiting = await until(pg_engine, job.id, lambda j: j.deferred_until is not None)
        assert waiting.status == "queued" and waiting.attempts == 0
        assert waiting.deferred_until == filled_at + timedelta(hours=5)
        shown = job_schedule(waiting)
        assert shown["deferred_label"].startswith("deferred until ") and shown["deferred_label"].endswith(
            " UTC"
        )
        assert "0 of 120 left in the 5-hour window" in shown["defer_reason"]
        assert "spill = 'never'" in shown["defer_reason"]
        await asyncio.sleep(0.3)  # several polls: still not due by the injected clock
        assert repo.get_job(pg_engine, job.id).status == "queued"  # type: ignore[union-attr]
        assert sim.stats()["keys"][CODING_LITE_KEY]["ok"] == 0 and gh.posts == []
        # The merge status says the review waits, and until when: pending, never green or red.
        shown_status = (gh.check_runs or gh.statuses)[-1]
        text = str(shown_status.get("output", {}).get("summary", "")) + str(
            shown_status.get("description", "")
        )
        text += str(shown_status.get("output", {}).get("title", ""))
        assert shown_status.get("status", shown_status.get("state")) in ("in_progress", "queued", "pending")
        assert "deferred until" in text, shown_status

        clock.now = waiting.deferred_until + timedelta(seconds=1)  # type: ignore[operator]
        sim.advance(5 * 3600)
        pool.notify()
        done = await until(pg_engine, job.id, lambda j: j.status in ("done", "failed"))
    finally:
        await pool.stop()
    assert done.status == "done", done.error
    assert done.deferred_until is None and done.attempts == 1
    assert done.checkpoint is not None and done.checkpoint["schedule"]["action"] == "main"
    assert sim.key_stats(CODING_LITE_KEY)["ok"] >= 1 and sim.key_stats(DEV_KEY)["ok"] == 0
    assert len(gh.posts) == 1


async def test_when_exhausted_lets_the_fallback_take_over(pg_engine: Engine, sim) -> None:
    clock, gh = Clock(), FakeGitHub()
    create_org(pg_engine, "acme", "Acme")
    fill_window(pg_engine, slots(sim)[0], clock.now - timedelta(hours=1))
    job = enqueue(pg_engine, PRIORITIES["synchronize"], "synchronize")
    pool = pool_for(pg_engine, sim, gh, clock)
    pool.start()
    try:
        done = await until(pg_engine, job.id, lambda j: j.status in ("done", "failed"))
    finally:
        await pool.stop()
    assert done.status == "done", done.error
    assert done.checkpoint is not None and done.checkpoint["schedule"]["action"] == "main"
    assert "the Fallback takes over when Main refuses" in done.checkpoint["schedule"]["reason"]
    assert sim.key_stats(DEV_KEY)["ok"] == 0, "the simulator's own window had room: Main answered"
    assert done.deferred_until is None and done.attempts == 1


async def test_a_persons_review_is_not_deferred_even_under_never(pg_engine: Engine, sim) -> None:
    clock, gh = Clock(), FakeGitHub()
    create_org(pg_engine, "acme", "Acme")
    set_org_spill(pg_engine, "acme", "never")
    fill_window(pg_engine, slots(sim)[0], clock.now - timedelta(hours=1))
    job = enqueue(pg_engine, MANUAL_PRIORITY)
    pool = pool_for(pg_engine, sim, gh, clock)
    pool.start()
    try:
        done = await until(pg_engine, job.id, lambda j: j.status in ("done", "failed"))
    finally:
        await pool.stop()
    assert done.status == "done", done.error
    assert done.checkpoint is not None and "never deferred" in done.checkpoint["schedule"]["reason"]
    assert sim.key_stats(CODING_LITE_KEY)["ok"] >= 1, "the simulator's own window had room: Main answered"
