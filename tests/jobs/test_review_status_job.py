"""The merge status a review job leaves: pending while it runs and while a failure waits to be
retried; at the end the policy's state, or an incomplete one with the reason; and a job whose
worker died on its last attempt gets a failure (``abandoned``), never a pending forever."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import Engine, update
from test_review_job import deps_for, enqueue, pool_for, pr_event, wait_for

from hunkwise.jobs.queue import DatabaseQueue
from hunkwise.jobs.review_job import StatusHooks
from hunkwise.jobs.review_status import StatusPolicy
from hunkwise.sim import KeyConfig
from hunkwise.store import jobs as repo
from hunkwise.store.tables import ReviewJob, utcnow
from platform_fakes import FakeGitHub
from simkeys import DEV_KEY


def test_quota_spent_is_pending_while_retrying_then_a_failure_with_the_reason(
    engine: Engine, sim_factory
) -> None:
    sim = sim_factory(keys=[KeyConfig(key=DEV_KEY, kind="developer", balance=0.0)])
    gh = FakeGitHub()
    deps = deps_for(engine, sim.zai_developer_url, github=gh)
    job = enqueue(engine, pr_event(), max_attempts=2)

    async def scenario() -> repo.Job:
        pool = pool_for(engine, deps, concurrency=1)
        pool.start()
        try:
            return await wait_for(engine, job.id)
        finally:
            await pool.stop()

    done = asyncio.run(scenario())
    assert done.status == "failed"
    states = gh.status_history()
    assert [s for s, _ in states] == ["pending", "pending", "pending", "failure"]
    assert states[1][1].startswith("hunkwise: retrying after:")
    assert "incomplete (quota)" in states[-1][1] and "balance" in states[-1][1]
    assert gh.posts == []


def test_incomplete_can_be_neutral_never_success(engine: Engine, sim_factory) -> None:
    sim = sim_factory(keys=[KeyConfig(key=DEV_KEY, kind="developer", balance=0.0)])
    gh = FakeGitHub()
    deps = deps_for(engine, sim.zai_developer_url, github=gh)
    deps.status_policy = lambda org: StatusPolicy(incomplete="neutral")
    job = enqueue(engine, pr_event(), max_attempts=1)

    async def scenario() -> repo.Job:
        pool = pool_for(engine, deps, concurrency=1)
        pool.start()
        try:
            return await wait_for(engine, job.id)
        finally:
            await pool.stop()

    assert asyncio.run(scenario()).status == "failed"
    [run] = gh.check_runs
    assert run["conclusion"] == "neutral" and run["output"]["title"].startswith("incomplete (quota)")


def test_a_job_whose_worker_died_on_its_last_attempt_fails_its_status(engine: Engine) -> None:
    gh = FakeGitHub()
    deps = deps_for(engine, None, github=gh)
    job = enqueue(engine, pr_event(), max_attempts=1)
    # its only attempt, on a worker that dies: the lease ran out an hour ago
    claimed = repo.claim(engine, "dead-worker/0", lease_s=1)
    with engine.begin() as conn:
        conn.execute(
            update(ReviewJob)
            .where(ReviewJob.id == job.id)
            .values(lease_expires_at=utcnow() - timedelta(hours=1))
        )
    assert claimed is not None and claimed.id == job.id
    queue = DatabaseQueue(engine)

    async def scenario() -> None:
        assert await queue.claim("alive/0", lease_s=30) is None  # failed, not run again
        [dead] = queue.take_interrupted()
        await StatusHooks(deps).after_skip_job(dead, "dead")

    asyncio.run(scenario())
    assert repo.get_job(engine, job.id).status == "failed"  # type: ignore[union-attr]
    [run] = gh.check_runs
    assert run["conclusion"] == "failure" and "incomplete (abandoned)" in run["output"]["title"]
