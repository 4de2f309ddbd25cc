"""One broker message -> one job attempt, with every outcome recorded on the job row.

The order of effects is chosen so a crash at any point leaves at worst a duplicate message, never
a lost job: a retry's message is published *before* the row is marked queued, a handed-back job's
message before the message in hand is acknowledged. Duplicates are harmless because each message
starts with :func:`hunkwise.store.jobs.claim_by_id`.

A worker SIGKILLed mid-job is noticed by its presence lock (:mod:`hunkwise.store.presence`): the
redelivered message's claim takes the job over at once instead of waiting out the lease.

Dead letters: a job that fails permanently, or transiently on its last attempt, or whose worker
died on its last attempt, ends ``failed`` with a reason that says which ("permanent failure",
"gave up after attempt 3 of 3", "interrupted") followed by the last error.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any

from sqlalchemy import Engine

from hunkwise.errors import Backoff
from hunkwise.jobs.metrics import JobMetrics
from hunkwise.jobs.queue import DatabaseQueue
from hunkwise.jobs.retry import JOB_BACKOFF, dead_reason, retry_delay
from hunkwise.jobs.worker import (
    Handler,
    JobContext,
    LeaseLost,
    being_cancelled,
    describe,
    keep_lease,
)
from hunkwise.store import jobs as repo
from hunkwise.store.jobs import Job
from hunkwise.store.models import utcnow

log = logging.getLogger("hunkwise.jobs")

Publish = Callable[[int, float], None]
"""``publish(job_id, delay_s)``: blocking (a broker round trip); the runner calls it in a thread."""

DEFER_MARGIN_S = 0.5
NOT_PRESENT_DELAY_S = 3.0


class JobRunner:
    """Runs job messages on one event loop; shared by every worker thread of a process."""

    def __init__(
        self,
        engine: Engine,
        handlers: Mapping[str, Handler],
        publish: Publish,
        *,
        owner: str,
        lease_s: float = 30.0,
        backoff: Backoff | None = None,
        metrics: JobMetrics | None = None,
        may_claim: Callable[[], bool] | None = None,
    ) -> None:
        self.engine = engine
        self.queue = DatabaseQueue(engine)
        self.handlers = dict(handlers)
        self.publish = publish
        self.owner = owner
        self.lease_s = lease_s
        self.backoff = backoff or JOB_BACKOFF
        self.metrics = metrics or JobMetrics()
        # False while this worker's presence lock is lost: other workers would see every job it
        # claims as abandoned and take it over (a second run), so it claims nothing until then.
        self.may_claim = may_claim or (lambda: True)
        self._inflight: dict[int, asyncio.Task[dict[str, Any]]] = {}
        self._handing_back = False

    @property
    def inflight(self) -> list[int]:
        return sorted(self._inflight)

    def hand_back_all(self) -> None:
        """Shutdown ran out of patience: cancel running jobs; each is released and re-published.
        Call on the runner's event loop (``loop.call_soon_threadsafe``)."""
        self._handing_back = True
        for task in self._inflight.values():
            task.cancel()

    async def process(self, job_id: int) -> str:
        """Handle one message; returns the outcome (also counted in the metrics)."""
        outcome = await self._process(job_id)
        self.metrics.jobs.labels(outcome=outcome).inc()
        return outcome

    async def _process(self, job_id: int) -> str:
        if not self.may_claim():
            await self._publish(job_id, NOT_PRESENT_DELAY_S)
            log.warning(
                "job %s handed back unclaimed: this worker's presence lock is lost (reconnecting to "
                "the database); claiming now would look abandoned to other workers",
                job_id,
            )
            return "deferred"
        found = await asyncio.to_thread(
            repo.claim_by_id, self.engine, job_id, self.owner, lease_s=self.lease_s
        )
        if found.abandoned_by is not None:
            log.warning(
                "job %s: its worker %s is gone (presence lock free), lease overridden",
                job_id,
                found.abandoned_by,
            )
        if found.state in ("missing", "finished"):
            log.info("job %s: %s, message dropped", job_id, found.state)
            return "duplicate"
        if found.state == "gave_up":
            log.error("job %s dead: %s", job_id, found.job.error if found.job else "")
            return "dead"
        if found.state in ("busy", "not_due"):
            await self._publish(job_id, found.wait_s + DEFER_MARGIN_S)
            log.info("job %s %s; looking again in %.1f s", job_id, found.state, found.wait_s)
            return "deferred"
        assert found.job is not None
        return await self._run(found.job)

    async def _run(self, job: Job) -> str:
        handler = self.handlers.get(job.kind)
        if handler is None:
            reason = f"permanent failure: no handler for job kind {job.kind!r} (is this worker up to date?)"
            await self.queue.fail(job.id, self.owner, reason, retry_at=None)
            return "dead"
        reviewed_here = "post" not in (job.checkpoint or {})
        task = asyncio.create_task(
            handler(job, JobContext(self.queue, job, self.owner, lease_s=self.lease_s))
        )
        lost = asyncio.Event()
        heartbeat = asyncio.create_task(keep_lease(self.queue, job.id, self.owner, self.lease_s, task, lost))
        self._inflight[job.id] = task
        self.metrics.in_progress.inc()
        started = time.monotonic()
        try:
            result = await task
        except asyncio.CancelledError:
            if lost.is_set() and task.cancelled() and not being_cancelled():
                return "duplicate"  # the heartbeat stopped a job another worker owns now
            if not (self._handing_back and task.cancelled()):
                raise
            await self._hand_back(job)
            return "handed_back"
        except LeaseLost as exc:
            log.warning("%s; stopped without posting", exc)
            return "duplicate"
        except Exception as exc:
            return await self._failed(job, exc)
        finally:
            heartbeat.cancel()
            self._inflight.pop(job.id, None)
            self.metrics.in_progress.dec()
            self.metrics.duration.observe(time.monotonic() - started)
        if not await self.queue.complete(job.id, self.owner, result):
            log.warning("job %s finished after its lease was taken over; result dropped", job.id)
            return "duplicate"
        log.info("job %s done (attempt %s of %s)", job.id, job.attempts, job.max_attempts)
        run_id = result.get("run_id")
        if reviewed_here and isinstance(run_id, int):
            try:
                await asyncio.to_thread(self.metrics.observe_run, self.engine, run_id)
            except Exception:
                log.exception("counting the model calls of job %s failed", job.id)
        return "done"

    async def _failed(self, job: Job, exc: Exception) -> str:
        message = describe(exc)
        delay = retry_delay(exc, job.attempts, job.max_attempts, self.backoff)
        if delay is not None:
            await self._publish(job.id, delay)  # first: a crash now leaves a duplicate, not a loss
            retry_at = utcnow() + timedelta(seconds=delay)
            await self.queue.fail(job.id, self.owner, message, retry_at=retry_at)
            log.warning(
                "job %s attempt %s of %s failed, retrying in %.0f s: %s",
                job.id,
                job.attempts,
                job.max_attempts,
                delay,
                message,
            )
            return "retry"
        reason = dead_reason(exc, message, job.attempts, job.max_attempts)
        await self.queue.fail(job.id, self.owner, reason, retry_at=None)
        log.error("job %s dead: %s", job.id, reason)
        return "dead"

    async def _hand_back(self, job: Job) -> None:
        try:
            # Release first, so the new message finds the job free; were we to die in between,
            # the sweeper would publish it again.
            await self.queue.release(job.id, self.owner)
            await self._publish(job.id, 0.0)
            log.info("job %s handed back (attempt refunded)", job.id)
        except Exception:
            log.exception("could not hand job %s back; it resumes when its lease expires", job.id)

    async def _publish(self, job_id: int, delay_s: float) -> None:
        await asyncio.to_thread(self.publish, job_id, delay_s)
