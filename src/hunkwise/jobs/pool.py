"""The embedded worker pool: asyncio tasks in the server process that run queued jobs.

Each worker polls the queue, claims the next due job with a lease, and hands it to the one job
engine (:mod:`hunkwise.jobs.engine`), which renews the lease while the job runs and records the
outcome: done, retried with backoff when the failure is transient, dead at once with its message
otherwise. A graceful stop hands in-flight jobs back (attempt refunded); a crash leaves them
leased, and the next pool to start reclaims them when the lease expires.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
from collections.abc import Mapping, Sequence

from hunkwise.errors import Backoff
from hunkwise.jobs.engine import Handler, JobEngine, JobHooks
from hunkwise.jobs.queue import JobQueue
from hunkwise.jobs.retry import JOB_BACKOFF

log = logging.getLogger("hunkwise.jobs")


class WorkerPool:
    """``concurrency`` polling loops on the server's event loop, sharing one :class:`JobEngine`."""

    def __init__(
        self,
        queue: JobQueue,
        handlers: Mapping[str, Handler],
        *,
        concurrency: int = 2,
        poll_s: float = 2.0,
        lease_s: float = 120.0,
        backoff: Backoff = JOB_BACKOFF,
        name: str | None = None,
        hooks: Sequence[JobHooks] = (),
    ) -> None:
        self.queue = queue
        self.job_engine = JobEngine(queue, handlers, lease_s=lease_s, backoff=backoff, hooks=hooks)
        self.concurrency = concurrency
        self.poll_s = poll_s
        self.lease_s = lease_s
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
            take = getattr(self.queue, "take_interrupted", None)
            for dead in take() if take is not None else ():
                await self.job_engine.skipped(dead, "dead")  # the status hooks fail its status
            if job is None:
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=self.poll_s)
                continue
            try:
                await self.job_engine.run(job, owner)
            except asyncio.CancelledError:
                raise
            except Exception:  # recording the outcome failed: the lease runs out, the job is taken again
                log.exception(
                    "job %s: recording its outcome failed; it resumes when its lease expires", job.id
                )
