"""One broker message -> one job attempt, with every outcome recorded on the job row.

A message names a job; :func:`hunkwise.store.jobs.claim_by_id` takes it (or says why not: a
duplicate, not due yet, busy elsewhere), and the attempt runs through the one job engine
(:mod:`hunkwise.jobs.engine`), the embedded pool's too. What this host adds are two hooks: a
message for every job that becomes runnable again (:class:`Republish`) and the metrics.

The order of effects is chosen so a crash at any point leaves at worst a duplicate message, never
a lost job: a retry's message is published *before* the row is marked queued, a handed-back job's
message before the message in hand is acknowledged. Duplicates are harmless because each message
starts with :func:`hunkwise.store.jobs.claim_by_id`.

A worker SIGKILLed mid-job is noticed by its presence lock (:mod:`hunkwise.store.presence`): the
redelivered message's claim takes the job over at once instead of waiting out the lease.

Dead letters: a job that fails permanently, or transiently on its last attempt, or whose worker
died on its last attempt, ends ``failed`` with a reason that says which ("permanent failure",
"gave up after attempt 3 of 3", "interrupted") followed by the last error.

Named like :mod:`hunkwise.evaluation.runner` on purpose: each package's ``runner`` runs its unit of
work (one job per message here, an evaluation over a dataset there).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping, Sequence

from sqlalchemy import Engine

from hunkwise.errors import Backoff
from hunkwise.jobs.engine import Handler, JobEngine, JobHooks, Outcome
from hunkwise.jobs.metrics import JobMetrics, MetricsHooks
from hunkwise.jobs.queue import DatabaseQueue
from hunkwise.jobs.retry import JOB_BACKOFF
from hunkwise.store import jobs as repo
from hunkwise.store.jobs import Job

log = logging.getLogger("hunkwise.jobs")

Publish = Callable[[int, float], None]
"""``publish(job_id, delay_s)``: blocking (a broker round trip); the runner calls it in a thread."""

DEFER_MARGIN_S = 0.5
NOT_PRESENT_DELAY_S = 3.0


class Republish(JobHooks):
    """A job that becomes runnable again gets a message: a retry's before its row is queued, a
    handed-back job's after its row is released."""

    def __init__(self, publish: Publish) -> None:
        self.publish = publish

    async def before_retry(self, job: Job, delay_s: float) -> None:
        await asyncio.to_thread(self.publish, job.id, delay_s)

    async def after_hand_back(self, job: Job) -> None:
        await asyncio.to_thread(self.publish, job.id, 0.0)

    async def before_defer(self, job: Job, delay_s: float) -> None:
        await asyncio.to_thread(self.publish, job.id, delay_s)


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
        backoff: Backoff = JOB_BACKOFF,
        metrics: JobMetrics | None = None,
        may_claim: Callable[[], bool] | None = None,
        hooks: Sequence[JobHooks] = (),
    ) -> None:
        self.engine = engine
        self.publish = publish
        self.owner = owner
        self.lease_s = lease_s
        self.metrics = metrics or JobMetrics()
        self.job_engine = JobEngine(
            DatabaseQueue(engine),
            handlers,
            lease_s=lease_s,
            backoff=backoff,
            hooks=(Republish(publish), MetricsHooks(self.metrics, engine), *hooks),
        )
        # False while this worker's presence lock is lost: other workers would see every job it
        # claims as abandoned and take it over (a second run), so it claims nothing until then.
        self.may_claim = may_claim or (lambda: True)

    @property
    def inflight(self) -> list[int]:
        return self.job_engine.inflight

    def hand_back_all(self) -> None:
        """Shutdown ran out of patience: cancel running jobs; each is released and re-published.
        Call on the runner's event loop (``loop.call_soon_threadsafe``)."""
        self.job_engine.hand_back_all()

    async def process(self, job_id: int) -> Outcome:
        """Handle one message: claim the job it names, run it (or say why not); returns the
        outcome, also counted in the metrics."""
        if not self.may_claim():
            await self._publish(job_id, NOT_PRESENT_DELAY_S)
            log.warning(
                "job %s handed back unclaimed: this worker's presence lock is lost (reconnecting to "
                "the database); claiming now would look abandoned to other workers",
                job_id,
            )
            return await self.job_engine.skipped(job_id, "deferred")
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
            return await self.job_engine.skipped(job_id, "duplicate")
        if found.state == "gave_up":
            log.error("job %s dead: %s", job_id, found.job.error if found.job else "")
            return await self.job_engine.skipped(job_id, "dead")
        if found.state in ("busy", "not_due"):
            await self._publish(job_id, found.wait_s + DEFER_MARGIN_S)
            log.info("job %s %s; looking again in %.1f s", job_id, found.state, found.wait_s)
            return await self.job_engine.skipped(job_id, "deferred")
        assert found.job is not None
        if found.instead_of is not None:
            # The named job was passed over for a higher-priority one: it keeps a message.
            await self._publish(found.instead_of, 0.0)
            log.info("job %s runs before job %s (higher priority)", found.job.id, found.instead_of)
        return await self.job_engine.run(found.job, self.owner)

    async def _publish(self, job_id: int, delay_s: float) -> None:
        await asyncio.to_thread(self.publish, job_id, delay_s)
