"""The one job engine: from "this worker claimed job 42" to "the job row says done, retry or dead".

Both hosts run every attempt through :meth:`JobEngine.run`: the embedded pool
(:mod:`hunkwise.jobs.pool`, a polling loop in the server) and the distributed runner
(:mod:`hunkwise.jobs.distributed.runner`, a Dramatiq actor per message). The engine starts the
job's handler, renews its lease while it runs (a heartbeat that cancels the handler when another
worker has taken the job over), and records the end on the row: done, a retry with backoff, a
dead letter with its reason, or the job handed back on a stop (attempt refunded). Which failures
are retried is :mod:`hunkwise.jobs.retry`'s one decision.

What differs between the hosts is a handful of :class:`JobHooks` (dramatiq's middleware is the
model): the distributed runner publishes a message when a job becomes runnable again; both count
jobs and their model calls for ``/metrics`` (:class:`hunkwise.jobs.metrics.MetricsHooks`). The
lease is not a hook: every host keeps it the same way, and the promises it carries (a worker
that lost its job never posts, a stalled worker's job is taken over) must not depend on a host
remembering to add it.

Named like :mod:`hunkwise.review.engine` on purpose: each package's engine runs what the package is
about (a job here, a review there, which a review job calls).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, Literal

from hunkwise.errors import Backoff, HunkwiseError
from hunkwise.jobs.queue import JobQueue
from hunkwise.jobs.retry import JOB_BACKOFF, dead_reason, retry_delay
from hunkwise.store.jobs import Job
from hunkwise.store.tables import utcnow

log = logging.getLogger("hunkwise.jobs")

Outcome = Literal["done", "retry", "dead", "handed_back", "duplicate", "deferred"]
"""How one delivery of a job ended (the ``outcome`` label of ``hunkwise_jobs_processed``)."""


class LeaseLost(HunkwiseError):
    """The job is no longer ours (another worker reclaimed it, or it finished elsewhere): stop
    without any further effect; the new owner runs it. Control flow of the engine, which ends the
    attempt quietly: it never reaches the retry decision."""


class JobDeferred(HunkwiseError):
    """The handler decided this job waits (a Coding Plan window that cannot cover it, see
    :mod:`hunkwise.jobs.schedule`): no failure, no attempt used; the job runs again at ``until``."""

    def __init__(self, until: datetime, reason: str) -> None:
        super().__init__(reason)
        self.until = until
        self.reason = reason


class JobContext:
    """What a running handler may do besides returning: save progress, and make sure the job is
    still ours before an external effect."""

    def __init__(self, queue: JobQueue, job: Job, owner: str, *, lease_s: float = 120.0) -> None:
        self._queue, self.job, self.owner, self.lease_s = queue, job, owner, lease_s

    async def checkpoint(self, data: dict[str, Any]) -> None:
        """Save progress; :class:`LeaseLost` when the row is no longer ours (the save is refused)."""
        if not await self._queue.checkpoint(self.job.id, self.owner, data):
            raise LeaseLost(f"job {self.job.id}: lease lost, checkpoint refused")

    async def ensure_lease(self) -> None:
        """Renew the lease now; :class:`LeaseLost` when the job is no longer ours. Call right
        before posting, so a worker that lost its lease never posts."""
        if not await self._queue.renew(self.job.id, self.owner, lease_s=self.lease_s):
            raise LeaseLost(f"job {self.job.id}: lease lost before posting")


Handler = Callable[[Job, JobContext], Awaitable[dict[str, Any]]]


class JobHooks:
    """What a host adds around every job. Override the methods you need; here each does nothing.
    They run on the engine's event loop: one that blocks (the database, a broker) uses a thread.
    An exception from ``before_retry`` propagates: the row stays ``running`` under our lease,
    which runs out, and the job is taken again, so a message that was not published never leaves
    a retry nobody will run. One from ``after_hand_back`` is logged: the row is queued and due,
    and a due job without a message is what the distributed sweeper re-publishes."""

    async def before_job(self, job: Job) -> None:
        """The job is claimed for this attempt; its handler starts next."""

    async def after_job(self, job: Job, outcome: Outcome | None, result: dict[str, Any] | None) -> None:
        """The attempt ended with ``outcome`` (``result``: the handler's, when ``done``);
        ``None`` when its end could not be recorded (the database or the broker failed): the
        lease runs out and the job is taken again."""

    async def after_skip_job(self, job_id: int, outcome: Outcome) -> None:
        """A delivery of job ``job_id`` ended without running it (``duplicate``: finished or
        running elsewhere; ``deferred``: not due yet or busy; ``dead``: its worker died on its
        last attempt)."""

    async def before_retry(self, job: Job, delay_s: float) -> None:
        """The attempt failed and the job runs again in ``delay_s``; called before the row says
        so, so a crash in between leaves a duplicate, never a lost job."""

    async def after_hand_back(self, job: Job) -> None:
        """The job was given back unfinished (a stop): its row is queued again, attempt refunded."""

    async def before_defer(self, job: Job, delay_s: float) -> None:
        """The job waits ``delay_s`` for a window's reset (:class:`JobDeferred`); called before the
        row says so, like :meth:`before_retry`."""


def job_reason(exc: BaseException) -> str | None:
    """The machine-readable word a failure gives its job row (``review_jobs.reason``), when it
    carries one as ``job_reason`` (e.g. ``budget_exhausted``: hunkwise.jobs.spend_gate); other
    errors' ``reason`` attributes are prose and stay in the error text."""
    why = getattr(exc, "job_reason", None)
    return why if isinstance(why, str) and why.isidentifier() and len(why) <= 32 else None


def describe(exc: BaseException) -> str:
    """A failure as the job row keeps it: our own errors by their message (it says what to fix),
    anything else with its type (an unexpected exception is a bug worth naming)."""
    text = str(exc) or type(exc).__name__
    return text if type(exc).__module__.startswith("hunkwise") else f"{type(exc).__name__}: {text}"


class JobEngine:
    """Runs claimed jobs with ``handlers`` (by job kind) and records their outcome on ``queue``."""

    def __init__(
        self,
        queue: JobQueue,
        handlers: Mapping[str, Handler],
        *,
        lease_s: float,
        backoff: Backoff = JOB_BACKOFF,
        hooks: Sequence[JobHooks] = (),
    ) -> None:
        self.queue = queue
        self.handlers = dict(handlers)
        self.lease_s = lease_s
        self.backoff = backoff
        self.hooks = list(hooks)
        self._inflight: dict[int, asyncio.Task[dict[str, Any]]] = {}
        self._handing_back = False

    @property
    def inflight(self) -> list[int]:
        """Ids of the jobs running now."""
        return sorted(self._inflight)

    def hand_back_all(self) -> None:
        """Stop every running job; each is handed back (row queued again, attempt refunded) and
        :meth:`run` returns ``handed_back``. Call on the engine's event loop."""
        self._handing_back = True
        for task in self._inflight.values():
            task.cancel()

    async def skipped(self, job_id: int, outcome: Outcome) -> Outcome:
        """Report a delivery that ended before any attempt (see :meth:`JobHooks.after_skip_job`)."""
        for hook in self.hooks:
            await hook.after_skip_job(job_id, outcome)
        return outcome

    async def run(self, job: Job, owner: str) -> Outcome:
        """Run the attempt of ``job`` that ``owner`` has claimed, and record how it ended. When the
        task running this is itself cancelled (a host stopping), the job is handed back and the
        cancellation goes on."""
        for hook in self.hooks:
            await hook.before_job(job)
        outcome: Outcome | None = None
        result: dict[str, Any] | None = None
        try:
            outcome, result = await self._attempt(job, owner)
            return outcome
        except asyncio.CancelledError:
            outcome = "handed_back"
            raise
        finally:
            for hook in self.hooks:
                await hook.after_job(job, outcome, result)

    async def _attempt(self, job: Job, owner: str) -> tuple[Outcome, dict[str, Any] | None]:
        handler = self.handlers.get(job.kind)
        if handler is None:
            reason = (
                f"permanent failure on attempt {job.attempts}: no handler for job kind {job.kind!r} "
                "(is this worker up to date?)"
            )
            await self.queue.fail(job.id, owner, reason, retry_at=None)
            log.error("job %s dead: %s", job.id, reason)
            return "dead", None
        task = asyncio.create_task(handler(job, JobContext(self.queue, job, owner, lease_s=self.lease_s)))
        lost = asyncio.Event()
        heartbeat = asyncio.create_task(keep_lease(self.queue, job.id, owner, self.lease_s, task, lost))
        self._inflight[job.id] = task
        try:
            result = await task
        except asyncio.CancelledError:
            if lost.is_set() and task.cancelled() and not being_cancelled():
                return "duplicate", None  # the heartbeat stopped a job another worker owns now
            await asyncio.shield(self._hand_back(job, owner))
            if self._handing_back and task.cancelled() and not being_cancelled():
                return "handed_back", None
            raise
        except LeaseLost as exc:
            log.warning("%s; stopped without posting", exc)
            return "duplicate", None
        except JobDeferred as exc:
            return await self._deferred(job, owner, exc), None
        except Exception as exc:
            return await self._failed(job, owner, exc), None
        finally:
            heartbeat.cancel()
            self._inflight.pop(job.id, None)
        if not await self.queue.complete(job.id, owner, result):
            log.warning("job %s finished after its lease was taken over; result dropped", job.id)
            return "duplicate", None
        log.info("job %s done (attempt %s of %s)", job.id, job.attempts, job.max_attempts)
        return "done", result

    async def _failed(self, job: Job, owner: str, exc: Exception) -> Outcome:
        message = describe(exc)
        why = job_reason(exc)
        delay = retry_delay(exc, job.attempts, job.max_attempts, self.backoff)
        if delay is not None:
            for hook in self.hooks:
                await hook.before_retry(job, delay)
            retry_at = utcnow() + timedelta(seconds=delay)
            if await self.queue.fail(job.id, owner, message, retry_at=retry_at, reason=why) is None:
                log.warning("job %s failed after its lease was taken over: %s", job.id, message)
                return "duplicate"
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
        if await self.queue.fail(job.id, owner, reason, retry_at=None, reason=why) is None:
            log.warning("job %s failed after its lease was taken over: %s", job.id, message)
            return "duplicate"
        log.error("job %s dead: %s", job.id, reason)
        return "dead"

    async def _deferred(self, job: Job, owner: str, exc: JobDeferred) -> Outcome:
        delay = max(0.0, (exc.until - utcnow()).total_seconds())
        for hook in self.hooks:
            await hook.before_defer(job, delay)
        if not await self.queue.defer(job.id, owner, exc.until, exc.reason):
            log.warning("job %s deferred after its lease was taken over", job.id)
            return "duplicate"
        log.info("job %s deferred until %s: %s", job.id, exc.until.isoformat(), exc.reason)
        return "deferred"

    async def _hand_back(self, job: Job, owner: str) -> None:
        try:
            # Released first, so the message a hook publishes finds the job free; were we to die
            # in between, the lease would run out and the job be taken again.
            if await self.queue.release(job.id, owner):
                for hook in self.hooks:
                    await hook.after_hand_back(job)
                log.info("job %s handed back (attempt refunded)", job.id)
        except Exception:
            log.exception("could not hand job %s back; it resumes when its lease expires", job.id)


async def keep_lease(
    queue: JobQueue, job_id: int, owner: str, lease_s: float, task: asyncio.Task[Any], lost: asyncio.Event
) -> None:
    """Renew the lease every ``lease_s / 3`` while ``task`` runs; when the job is no longer ours,
    set ``lost`` and cancel ``task`` (another worker runs it now: this one must not post)."""
    while True:
        await asyncio.sleep(lease_s / 3)
        try:
            renewed = await queue.renew(job_id, owner, lease_s=lease_s)
        except Exception:
            log.exception("renewing the lease of job %s failed", job_id)
            continue
        if not renewed:
            log.warning("job %s: lease lost (taken over or finished elsewhere); stopping it", job_id)
            lost.set()
            task.cancel()
            return


def being_cancelled() -> bool:
    """Whether the running task itself is being cancelled (a host stopping), not just a job it awaits."""
    current = asyncio.current_task()
    return current is not None and current.cancelling() > 0
