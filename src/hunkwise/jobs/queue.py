"""The job queue interface and its embedded, database-backed implementation.

Workers and routes talk to :class:`JobQueue` only (enqueue / requeue / claim / renew / checkpoint
/ complete / fail / release), so the distributed engine can plug a task-queue library in behind
the same calls without touching the review job or the routes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import Engine

from hunkwise.config.scheduling import DEFAULT_PRIORITY
from hunkwise.store import jobs as repo
from hunkwise.store.jobs import Job


class JobQueue(Protocol):
    async def enqueue(
        self,
        *,
        org: str,
        kind: str,
        payload: dict[str, Any],
        dedupe_key: str,
        max_attempts: int = 5,
        priority: int = DEFAULT_PRIORITY,
    ) -> tuple[Job, bool]: ...

    async def requeue(self, job_id: int) -> bool: ...

    async def claim(self, owner: str, *, lease_s: float) -> Job | None: ...

    async def renew(self, job_id: int, owner: str, *, lease_s: float) -> bool: ...

    async def checkpoint(self, job_id: int, owner: str, data: dict[str, Any]) -> bool: ...

    async def complete(self, job_id: int, owner: str, result: dict[str, Any]) -> bool: ...

    async def fail(
        self, job_id: int, owner: str, error: str, *, retry_at: datetime | None, reason: str | None = None
    ) -> str | None: ...

    async def release(self, job_id: int, owner: str) -> bool: ...

    async def defer(self, job_id: int, owner: str, until: datetime, reason: str) -> bool: ...


class DatabaseQueue:
    """:class:`JobQueue` on the store's ``review_jobs`` table (SQLite or PostgreSQL).

    The store is synchronous (small writes; SQLite has no async driver here), so each call runs
    in a thread and the event loop never blocks on the database.
    """

    def __init__(self, engine: Engine, *, clock: Callable[[], datetime] | None = None) -> None:
        self.engine = engine
        # Which jobs are due and when leases run out is judged by this clock (default: the
        # store's); a test injects one to let a deferred job's time come without waiting for it.
        self.clock = clock
        self._interrupted: list[int] = []

    def take_interrupted(self) -> list[int]:
        """Jobs a claim failed because their worker died on their last attempt (drained)."""
        taken, self._interrupted = self._interrupted, []
        return taken

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
        return await asyncio.to_thread(
            repo.enqueue,
            self.engine,
            org=org,
            kind=kind,
            payload=payload,
            dedupe_key=dedupe_key,
            max_attempts=max_attempts,
            priority=priority,
        )

    async def requeue(self, job_id: int) -> bool:
        """Queue a dead (failed) job again with fresh attempts; False unless it had failed."""
        return await asyncio.to_thread(repo.retry, self.engine, job_id)

    async def claim(self, owner: str, *, lease_s: float) -> Job | None:
        now = self.clock() if self.clock is not None else None
        return await asyncio.to_thread(
            repo.claim, self.engine, owner, lease_s=lease_s, now=now, interrupted=self._interrupted
        )

    async def renew(self, job_id: int, owner: str, *, lease_s: float) -> bool:
        now = self.clock() if self.clock is not None else None
        return await asyncio.to_thread(repo.renew, self.engine, job_id, owner, lease_s=lease_s, now=now)

    async def checkpoint(self, job_id: int, owner: str, data: dict[str, Any]) -> bool:
        return await asyncio.to_thread(repo.save_checkpoint, self.engine, job_id, owner, data)

    async def complete(self, job_id: int, owner: str, result: dict[str, Any]) -> bool:
        return await asyncio.to_thread(repo.complete, self.engine, job_id, owner, result)

    async def fail(
        self, job_id: int, owner: str, error: str, *, retry_at: datetime | None, reason: str | None = None
    ) -> str | None:
        return await asyncio.to_thread(
            repo.fail, self.engine, job_id, owner, error, retry_at=retry_at, reason=reason
        )

    async def release(self, job_id: int, owner: str) -> bool:
        return await asyncio.to_thread(repo.release, self.engine, job_id, owner)

    async def defer(self, job_id: int, owner: str, until: datetime, reason: str) -> bool:
        return await asyncio.to_thread(repo.defer, self.engine, job_id, owner, until, reason)
