"""One job engine for both hosts: the embedded pool and the distributed runner leave the same
row for the same attempt (done, or a dead letter that says which rule ended it) and count it in
the same metrics; and a database blink while an outcome is written does not stop the pool."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError

from hunkwise.errors import Backoff, ConfigurationError, TransientError
from hunkwise.jobs.distributed.runner import JobRunner
from hunkwise.jobs.engine import JobContext
from hunkwise.jobs.metrics import JobMetrics, MetricsHooks
from hunkwise.jobs.pool import WorkerPool
from hunkwise.jobs.queue import DatabaseQueue
from hunkwise.store import jobs as repo
from hunkwise.store.jobs import Job

KIND = "engine_test"
FAST = Backoff(base_s=0.01, max_s=0.01, factor=1.0)


async def _done(job: Job, ctx: JobContext) -> dict[str, Any]:
    return {"reviewed": job.id}


async def _overloaded(job: Job, ctx: JobContext) -> dict[str, Any]:
    raise TransientError("the provider is overloaded")


async def _refused(job: Job, ctx: JobContext) -> dict[str, Any]:
    raise ConfigurationError("the key is refused", setting="main.api_key")


async def _bug(job: Job, ctx: JobContext) -> dict[str, Any]:
    raise ValueError("boom")


CASES = {
    "done": (KIND, _done, "done", None, "done"),
    "gave_up": (
        KIND,
        _overloaded,
        "failed",
        "gave up after attempt 1 of 1: the provider is overloaded",
        "dead",
    ),
    "configuration": (KIND, _refused, "failed", "permanent failure on attempt 1: the key is refused", "dead"),
    "bug": (KIND, _bug, "failed", "permanent failure on attempt 1: ValueError: boom", "dead"),
    "no_handler": (
        "from_a_newer_server",
        _done,
        "failed",
        "permanent failure on attempt 1: no handler for job kind 'from_a_newer_server' "
        "(is this worker up to date?)",
        "dead",
    ),
}


def _enqueue(engine: Engine, kind: str, key: str, max_attempts: int = 1) -> int:
    job, _ = repo.enqueue(
        engine, org="acme", kind=kind, payload={}, dedupe_key=key, max_attempts=max_attempts
    )
    return job.id


async def _settled(engine: Engine, job_id: int, deadline_s: float = 20.0) -> Job:
    for _ in range(int(deadline_s / 0.05)):
        job = repo.get_job(engine, job_id)
        assert job is not None
        if job.status in ("done", "failed"):
            return job
        await asyncio.sleep(0.05)
    raise AssertionError(f"job {job_id} never settled: {repo.get_job(engine, job_id)}")


async def _until(check: Callable[[], bool], what: str, deadline_s: float = 20.0) -> None:
    for _ in range(int(deadline_s / 0.01)):
        if check():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"{what} was not reached in {deadline_s} s")


def _processed(metrics: JobMetrics, outcome: str) -> float:
    return metrics.registry.get_sample_value("hunkwise_jobs_processed_total", {"outcome": outcome}) or 0.0


def _row(job: Job) -> tuple[str, int, str | None, dict[str, Any] | None]:
    result = {"reviewed": "<id>"} if job.result else None
    return job.status, job.attempts, job.error, result


@pytest.mark.parametrize("case", sorted(CASES))
async def test_both_hosts_record_the_same_outcome(engine: Engine, case: str) -> None:
    kind, handler, status, error, outcome = CASES[case]

    pool_metrics = JobMetrics()
    pool = WorkerPool(
        DatabaseQueue(engine),
        {KIND: handler},
        concurrency=1,
        poll_s=0.05,
        backoff=FAST,
        hooks=(MetricsHooks(pool_metrics, engine),),
    )
    embedded_id = _enqueue(engine, kind, f"{case}-embedded")
    pool.start()
    try:
        embedded = await _settled(engine, embedded_id)
        # The row is written before the hooks run: stopping the pool now could cancel them.
        await _until(lambda: _processed(pool_metrics, outcome) == 1.0, f"the pool's {outcome} count")
    finally:
        await pool.stop()

    runner_metrics = JobMetrics()
    published: list[tuple[int, float]] = []
    runner = JobRunner(
        engine,
        {KIND: handler},
        lambda job_id, delay: published.append((job_id, delay)),
        owner="w1",
        backoff=FAST,
        metrics=runner_metrics,
    )
    distributed_id = _enqueue(engine, kind, f"{case}-distributed")
    assert await runner.process(distributed_id) == outcome
    distributed = repo.get_job(engine, distributed_id)
    assert distributed is not None

    assert (
        _row(embedded)
        == _row(distributed)
        == (status, 1, error, {"reviewed": "<id>"} if case == "done" else None)
    )
    for metrics in (pool_metrics, runner_metrics):
        assert _processed(metrics, outcome) == 1.0
        assert metrics.registry.get_sample_value("hunkwise_jobs_in_progress") == 0.0
        assert metrics.registry.get_sample_value("hunkwise_job_duration_seconds_count") == 1.0
    assert published == []  # nothing to run again


class _BlinkingQueue(DatabaseQueue):
    """The database refuses the first outcome written (a failover, a dropped connection)."""

    def __init__(self, engine: Engine) -> None:
        super().__init__(engine)
        self.refused = 0

    async def fail(
        self, job_id: int, owner: str, error: str, *, retry_at: datetime | None, reason: str | None = None
    ) -> str | None:
        if not self.refused:
            self.refused += 1
            raise OperationalError("UPDATE review_jobs", {}, Exception("server closed the connection"))
        return await super().fail(job_id, owner, error, retry_at=retry_at, reason=reason)


async def test_a_database_blink_while_recording_an_outcome_does_not_stop_the_pool(engine: Engine) -> None:
    attempts: list[int] = []

    async def flaky(job: Job, ctx: JobContext) -> dict[str, Any]:
        attempts.append(job.attempts)
        if len(attempts) == 1:
            raise TransientError("overloaded")
        return {"ok": True}

    queue = _BlinkingQueue(engine)
    pool = WorkerPool(queue, {KIND: flaky}, concurrency=1, poll_s=0.05, lease_s=0.6, backoff=FAST)
    job_id = _enqueue(engine, KIND, "blink", max_attempts=3)
    pool.start()
    try:
        done = await _settled(engine, job_id)
    finally:
        await pool.stop()
    # The first attempt's failure was not recorded; its lease ran out and the same worker loop,
    # still alive, took the job again.
    assert queue.refused == 1 and attempts == [1, 2]
    assert done.status == "done" and done.attempts == 2 and done.result == {"ok": True}
