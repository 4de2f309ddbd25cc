"""A worker that loses its lease stops: the heartbeat cancels its handler, a refused checkpoint
aborts it, and the lease is checked again right before posting, so only the new owner posts."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from sqlalchemy import Engine, update

from hunkwise.jobs.engine import JobContext
from hunkwise.jobs.pool import WorkerPool
from hunkwise.jobs.queue import DatabaseQueue
from hunkwise.store import jobs as repo
from hunkwise.store.jobs import Job
from hunkwise.store.tables import ReviewJob, utcnow
from waiting import attempt_ended

KIND = "lease_test"


def steal(engine: Engine, job_id: int) -> None:
    """Another worker reclaims the job (as after a long stall): the row names another owner."""
    with engine.begin() as conn:
        conn.execute(
            update(ReviewJob)
            .where(ReviewJob.id == job_id)
            .values(lease_owner="thief/0", lease_expires_at=utcnow() + timedelta(hours=1))
        )


async def run_until(engine: Engine, handler: Any, done: asyncio.Event, *, lease_s: float) -> Job:
    job, _ = repo.enqueue(engine, org="acme", kind=KIND, payload={}, dedupe_key="lease-1")
    hook = attempt_ended()
    pool = WorkerPool(
        DatabaseQueue(engine), {KIND: handler}, concurrency=1, poll_s=0.05, lease_s=lease_s, hooks=(hook,)
    )
    pool.start()
    try:
        await asyncio.wait_for(done.wait(), timeout=20)
        await asyncio.wait_for(hook.ended.wait(), timeout=20)  # the pool recorded all it would
    finally:
        await pool.stop()
    after = repo.get_job(engine, job.id)
    assert after is not None
    return after


async def test_a_stolen_lease_cancels_the_handler_and_nothing_is_posted(engine: Engine) -> None:
    posted: list[int] = []
    cancelled = asyncio.Event()

    async def handler(job: Job, ctx: JobContext) -> dict[str, Any]:
        steal(engine, job.id)  # mid-job: the models are still answering
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            cancelled.set()
            raise
        await ctx.ensure_lease()
        posted.append(job.id)
        return {}

    after = await run_until(engine, handler, cancelled, lease_s=0.6)  # heartbeat every 0.2 s
    assert cancelled.is_set() and posted == []
    assert after.status == "running" and after.lease_owner == "thief/0", "the new owner's job, untouched"
    assert after.error is None


async def test_the_lease_is_checked_right_before_posting(engine: Engine) -> None:
    posted: list[int] = []
    stopped = asyncio.Event()

    async def handler(job: Job, ctx: JobContext) -> dict[str, Any]:
        steal(engine, job.id)  # between two heartbeats (every 20 s here)
        try:
            await ctx.ensure_lease()
        finally:
            stopped.set()
        posted.append(job.id)
        return {}

    after = await run_until(engine, handler, stopped, lease_s=60.0)
    assert posted == []
    assert after.status == "running" and after.lease_owner == "thief/0" and after.error is None


async def test_a_refused_checkpoint_aborts_the_job(engine: Engine) -> None:
    posted: list[int] = []
    stopped = asyncio.Event()

    async def handler(job: Job, ctx: JobContext) -> dict[str, Any]:
        steal(engine, job.id)
        try:
            await ctx.checkpoint({"post": "the finished review"})
        finally:
            stopped.set()
        posted.append(job.id)
        return {}

    after = await run_until(engine, handler, stopped, lease_s=60.0)
    assert posted == []
    assert after.checkpoint is None and after.lease_owner == "thief/0" and after.error is None
