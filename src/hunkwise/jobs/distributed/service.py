"""The server's job service: the embedded pool by default, the broker when configured.

Listed in ``hunkwise.server.app.LIFESPAN_SERVICES``. With ``HUNKWISE_QUEUE_URL`` unset it is the
embedded worker pool exactly as before; set, the server runs no jobs itself: a webhook's job row is
written as before and its id published to the broker for ``hunkwise worker`` processes. Either
way it publishes ``app.state.job_metrics`` for ``/metrics``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine

from hunkwise.jobs.distributed.broker import Publisher, QueueSettings
from hunkwise.jobs.metrics import JobMetrics
from hunkwise.jobs.queue import DatabaseQueue
from hunkwise.jobs.worker import Handler
from hunkwise.store import jobs as repo
from hunkwise.store.jobs import Job
from hunkwise.store.models import utcnow

log = logging.getLogger("hunkwise.jobs")

RECENT_S = 30.0


class DistributedQueue(DatabaseQueue):
    """The database queue whose ``enqueue`` also publishes the new job's id.

    A failed publish is logged, not raised: the row is committed, and the workers' sweeper
    publishes due jobs that have no message, so the webhook is still answered 202."""

    def __init__(self, engine: Engine, publisher: Publisher) -> None:
        super().__init__(engine)
        self.publisher = publisher
        self._recent: dict[int, datetime] = {}  # job id -> when we last published it

    async def enqueue(
        self, *, org: str, kind: str, payload: dict[str, Any], dedupe_key: str, max_attempts: int = 5
    ) -> tuple[Job, bool]:
        job, created = await super().enqueue(
            org=org, kind=kind, payload=payload, dedupe_key=dedupe_key, max_attempts=max_attempts
        )
        if created:
            await self.publish(job.id)
        return job, created

    async def publish(self, job_id: int) -> bool:
        try:
            await asyncio.to_thread(self.publisher.publish, job_id)
        except Exception as exc:
            log.warning("job %s: publishing to the broker failed (%s); the sweeper will", job_id, exc)
            return False
        self._recent[job_id] = utcnow()
        return True

    async def publish_requeued(self) -> int:
        """Publish jobs queued again in the last seconds (a webhook re-delivered for a failed job,
        ``hunkwise jobs retry``) that this process did not just publish."""
        since = utcnow() - timedelta(seconds=RECENT_S)
        self._recent = {k: t for k, t in self._recent.items() if t >= since}
        rows = await asyncio.to_thread(repo.queued_since, self.engine, since)
        sent = 0
        for job_id, updated_at in rows:
            published = self._recent.get(job_id)
            if published is not None and published >= updated_at:
                continue  # its current state was published already (a new job)
            if await self.publish(job_id):
                sent += 1
        return sent


class _Notifier:
    """Stands in for the embedded pool's ``notify()`` that the webhook route calls."""

    def __init__(self, queue: DistributedQueue) -> None:
        self.queue = queue
        self._tasks: set[asyncio.Task[int]] = set()

    def notify(self) -> None:
        task = asyncio.get_running_loop().create_task(self.queue.publish_requeued())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def stop(self) -> None:
        await asyncio.gather(*self._tasks, return_exceptions=True)


def observed(handlers: Mapping[str, Handler], metrics: JobMetrics, engine: Engine) -> dict[str, Handler]:
    """Handlers that count the model calls of the reviews they run (the embedded pool's)."""

    def wrap(handler: Handler) -> Handler:
        async def run(job: Job, ctx: Any) -> dict[str, Any]:
            reviewed_here = "post" not in (job.checkpoint or {})
            result = await handler(job, ctx)
            run_id = result.get("run_id")
            if reviewed_here and isinstance(run_id, int):
                try:
                    await asyncio.to_thread(metrics.observe_run, engine, run_id)
                except Exception:
                    log.exception("counting the model calls of job %s failed", job.id)
            metrics.jobs.labels(outcome="done").inc()
            return result

        return run

    return {kind: wrap(h) for kind, h in handlers.items()}


@asynccontextmanager
async def job_service(app: Any) -> AsyncIterator[None]:
    state = app.state
    metrics = JobMetrics()
    state.job_metrics = metrics
    queue_settings = QueueSettings.from_env(state.settings.env)
    if queue_settings is None:
        from hunkwise.jobs.embedded import embedded_workers

        metrics.add_shared(state.engine, None)
        async with embedded_workers(app):
            pool = getattr(state, "worker_pool", None)
            if pool is not None:
                pool.handlers = observed(pool.handlers, metrics, state.engine)
            yield
        return
    from hunkwise.jobs.distributed.process import require_postgres

    require_postgres(state.engine)
    publisher = await asyncio.to_thread(Publisher, queue_settings)
    queue = DistributedQueue(state.engine, publisher)
    notifier = _Notifier(queue)
    state.job_queue = queue
    state.worker_pool = notifier
    state.job_publisher = publisher
    metrics.add_shared(state.engine, publisher.depth)
    log.info("jobs go to %s, queue %s (HUNKWISE_QUEUE_URL)", queue_settings.shown, queue_settings.queue_name)
    try:
        yield
    finally:
        await notifier.stop()
        await asyncio.to_thread(publisher.close)
