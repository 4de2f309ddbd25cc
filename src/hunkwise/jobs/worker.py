"""The embedded worker pool: asyncio tasks in the server process that run queued jobs.

Each worker claims a job with a lease, renews the lease while the job runs (a heartbeat), and
records the outcome. A transient failure (rate limits, 5xx, network, a provider outage) is
retried with exponential backoff; anything else, a configuration error first of all, fails the job
at once with its message kept (:mod:`hunkwise.jobs.retry` decides which is which). A graceful
stop hands in-flight jobs back (attempt refunded); a crash leaves them leased, and the next pool
to start reclaims them when the lease expires.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
from collections.abc import Awaitable, Callable, Mapping
from datetime import timedelta
from typing import Any

from hunkwise.errors import Backoff, HunkwiseError
from hunkwise.jobs.queue import JobQueue
from hunkwise.jobs.retry import JOB_BACKOFF, retry_delay
from hunkwise.store.jobs import Job
from hunkwise.store.models import utcnow

log = logging.getLogger("hunkwise.jobs")


class LeaseLost(HunkwiseError):
    """The job is no longer ours (another worker reclaimed it, or it finished elsewhere): stop
    without any further effect; the new owner runs it. Control flow of the pool, which ends the
    attempt quietly: it never reaches the retry decision."""


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


def describe(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text if type(exc).__module__.startswith("hunkwise") else f"{type(exc).__name__}: {text}"


class WorkerPool:
    def __init__(
        self,
        queue: JobQueue,
        handlers: Mapping[str, Handler],
        *,
        concurrency: int = 2,
        poll_s: float = 2.0,
        lease_s: float = 120.0,
        backoff: Backoff | None = None,
        name: str | None = None,
    ) -> None:
        self.queue = queue
        self.handlers = dict(handlers)
        self.concurrency = concurrency
        self.poll_s = poll_s
        self.lease_s = lease_s
        self.backoff = backoff or JOB_BACKOFF
        self.name = name or f"{os.uname().nodename}-{os.getpid()}-{secrets.token_hex(3)}"
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = False

    @property
    def running(self) -> bool:
        return bool(self._tasks)

    def start(self) -> None:
        self._stopping = False
        self._tasks = [
            asyncio.create_task(self._loop(f"{self.name}/{i}"), name=f"hunkwise-worker-{i}")
            for i in range(self.concurrency)
        ]

    def notify(self) -> None:
        """A job was enqueued: wake an idle worker now instead of at the next poll."""
        self._wake.set()

    async def stop(self) -> None:
        """Stop every worker; jobs in flight are cancelled and handed back to the queue."""
        self._stopping = True
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []

    async def _loop(self, owner: str) -> None:
        while not self._stopping:
            try:
                job = await self.queue.claim(owner, lease_s=self.lease_s)
            except asyncio.CancelledError:
                raise
            except Exception:  # the database blinked; try again after a pause
                log.exception("claiming a job failed")
                job = None
            if job is None:
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=self.poll_s)
                continue
            await self._run(job, owner)

    async def _run(self, job: Job, owner: str) -> None:
        handler = self.handlers.get(job.kind)
        if handler is None:
            await self.queue.fail(job.id, owner, f"no handler for job kind {job.kind!r}", retry_at=None)
            return
        task = asyncio.create_task(handler(job, JobContext(self.queue, job, owner, lease_s=self.lease_s)))
        lost = asyncio.Event()
        heartbeat = asyncio.create_task(keep_lease(self.queue, job.id, owner, self.lease_s, task, lost))
        try:
            result = await task
        except asyncio.CancelledError:
            heartbeat.cancel()
            if lost.is_set() and task.cancelled() and not being_cancelled():
                return  # the heartbeat stopped a job that is no longer ours: nothing to record
            await asyncio.shield(self._hand_back(job.id, owner))
            raise
        except LeaseLost as exc:
            heartbeat.cancel()
            log.warning("%s; stopped without posting", exc)
            return
        except Exception as exc:
            heartbeat.cancel()
            await self._failed(job, owner, exc)
            return
        heartbeat.cancel()
        if not await self.queue.complete(job.id, owner, result):
            log.warning("job %s finished after its lease was taken over; result dropped", job.id)
        else:
            log.info("job %s done (attempt %s)", job.id, job.attempts)

    async def _hand_back(self, job_id: int, owner: str) -> None:
        try:
            await self.queue.release(job_id, owner)
        except Exception:
            log.exception("could not hand job %s back; it resumes when its lease expires", job_id)

    async def _failed(self, job: Job, owner: str, exc: Exception) -> None:
        message = describe(exc)
        delay = retry_delay(exc, job.attempts, job.max_attempts, self.backoff)
        retry_at = None if delay is None else utcnow() + timedelta(seconds=delay)
        status = await self.queue.fail(job.id, owner, message, retry_at=retry_at)
        if status == "queued":
            log.warning("job %s attempt %s failed, retrying: %s", job.id, job.attempts, message)
        else:
            log.error("job %s failed: %s", job.id, message)


async def keep_lease(
    queue: JobQueue, job_id: int, owner: str, lease_s: float, task: asyncio.Task[Any], lost: asyncio.Event
) -> None:
    """Renew the lease every ``lease_s / 3`` while ``task`` runs; when the job is no longer ours,
    set ``lost`` and cancel ``task`` (another worker runs it now: this one must not post).
    Shared by the embedded pool and the distributed runner."""
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
    """Whether the running task itself is being cancelled (a pool stop), not just a job it awaits."""
    current = asyncio.current_task()
    return current is not None and current.cancelling() > 0
