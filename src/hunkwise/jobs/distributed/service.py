"""The server's job service: the embedded pool by default, the broker when configured.

Started by the server app's lifespan with the server's :class:`~hunkwise.jobs.runtime.Runtime`.
With ``HUNKWISE_QUEUE_URL`` unset it is the embedded worker pool; set, the server runs no jobs
itself: a webhook's job row is written as before and its id published to the broker for
``hunkwise worker`` processes. Either way it yields a :class:`JobHost`: the queue the webhook
routes enqueue on, the pool (or None), the metrics for ``/metrics``, the publisher (or None).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine

from hunkwise.config.scheduling import DEFAULT_PRIORITY
from hunkwise.jobs.distributed.broker import Publisher, QueueSettings
from hunkwise.jobs.metrics import JobMetrics, MetricsHooks
from hunkwise.jobs.mode import PAYLOAD_KEY as MODE_KEY
from hunkwise.jobs.mode import mode_record
from hunkwise.jobs.pool import WorkerPool
from hunkwise.jobs.queue import DatabaseQueue
from hunkwise.jobs.runtime import Runtime
from hunkwise.store.jobs import Job

log = logging.getLogger("hunkwise.jobs")


class DistributedQueue(DatabaseQueue):
    """The database queue that publishes a job's id whenever it makes the job runnable: a new
    job (``enqueue``) and a dead job queued again (``requeue``). Exactly one message per such
    change, sent by the request that made it; re-publishing anything else is the workers'
    sweeper's job (a lost message), never a guess made here.

    A failed publish is logged, not raised: the row is committed, and the workers' sweeper
    publishes due jobs that have no message, so the webhook is still answered 202."""

    def __init__(self, engine: Engine, publisher: Publisher, mode: dict[str, str]) -> None:
        super().__init__(engine)
        self.publisher = publisher
        self.mode = mode  # recorded on every job, so a worker in the other mode can say so

    async def enqueue(
        self,
        *,
        org: str,
        kind: str,
        payload: dict[str, Any],
        dedupe_key: str,
        max_attempts: int = 5,
        priority: int = DEFAULT_PRIORITY,
    ) -> tuple[Job, bool]:
        job, created = await super().enqueue(
            org=org,
            kind=kind,
            payload={**payload, MODE_KEY: self.mode},
            dedupe_key=dedupe_key,
            max_attempts=max_attempts,
            priority=priority,
        )
        if created:
            await self.publish(job.id)
        return job, created

    async def requeue(self, job_id: int) -> bool:
        requeued = await super().requeue(job_id)
        if requeued:
            await self.publish(job_id)
        return requeued

    async def publish(self, job_id: int) -> bool:
        try:
            await asyncio.to_thread(self.publisher.publish, job_id)
        except Exception as exc:
            log.warning("job %s: publishing to the broker failed (%s); the sweeper will", job_id, exc)
            return False
        return True


def preflight(runtime: Runtime) -> None:
    """What :func:`job_service` needs, checked before the server's port opens, so a misconfigured
    broker is one line (exit 2) instead of a failed start-up's traceback: a PostgreSQL store and
    a broker that accepts our credentials."""
    from hunkwise.jobs.distributed.broker import quiet_libraries
    from hunkwise.jobs.distributed.process import require_postgres

    queue = QueueSettings.configured(runtime.settings)
    if queue is None:
        return
    require_postgres(runtime.engine)
    publisher = Publisher(queue)
    try:
        publisher.check(quiet=True)
    finally:
        with quiet_libraries():
            publisher.close()


def describe_jobs(runtime: Runtime) -> str:
    """Where this server's jobs run, for its start-up line (a broker password is masked)."""
    from hunkwise.jobs.embedded import WORKERS_ENV

    queue = QueueSettings.configured(runtime.settings)
    if queue is not None:
        return f"published to {queue.shown} queue {queue.queue_name} for `hunkwise worker` processes"
    count = runtime.settings.job_workers
    if not count:
        return f"queued only ({WORKERS_ENV}=0: this server runs none)"
    return f"run here, {count} at once (limits per process)"


@dataclass(frozen=True)
class JobHost:
    """What the running job service offers the server's routes."""

    queue: DatabaseQueue
    pool: WorkerPool | None  # None: this server runs no jobs (`hunkwise worker` processes do)
    metrics: JobMetrics
    publisher: Publisher | None = None


@asynccontextmanager
async def job_service(runtime: Runtime) -> AsyncIterator[JobHost]:
    engine = runtime.engine
    metrics = JobMetrics()
    queue_settings = QueueSettings.configured(runtime.settings)
    if queue_settings is None:
        from hunkwise.jobs.embedded import embedded_workers

        metrics.add_shared(engine, None)
        async with embedded_workers(runtime, hooks=(MetricsHooks(metrics, engine),)) as (queue, pool):
            yield JobHost(queue, pool, metrics)
        return
    from hunkwise.jobs.distributed.process import require_postgres

    require_postgres(engine)
    publisher = await asyncio.to_thread(Publisher, queue_settings)
    queue = DistributedQueue(engine, publisher, mode_record(runtime.fixed, runtime.settings))
    metrics.add_shared(engine, publisher.depth)
    log.info("jobs go to %s, queue %s (HUNKWISE_QUEUE_URL)", queue_settings.shown, queue_settings.queue_name)
    try:
        yield JobHost(queue, None, metrics, publisher)
    finally:
        await asyncio.to_thread(publisher.close)
