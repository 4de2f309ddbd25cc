"""``GET /api/jobs/dead`` and ``POST /api/jobs/{id}/retry``: the dead-letter view; and
``POST /api/jobs/{id}/run-now``: a person asks for a queued or deferred review now.

A dead letter is a job that failed for good: a permanent error, the last allowed attempt failing,
or its worker dying on the last attempt. Its reason is the ``error``. Retrying queues it again
with fresh attempts (and publishes it in distributed mode). Admin sees all; an organization token
its own, as for ``/api/reviews``.

Named like :mod:`hunkwise.store.jobs` (the rows) and :mod:`hunkwise.cli.jobs` (the command) on
purpose: route modules are named after the resource they serve.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request, status
from starlette.concurrency import run_in_threadpool

from hunkwise.config.scheduling import MANUAL_PRIORITY
from hunkwise.jobs.schedule import job_schedule
from hunkwise.server.deps import CallerDep, EngineDep
from hunkwise.store import jobs as repo

router = APIRouter(prefix="/api/jobs", tags=["reviews"])


def _dead(job: repo.Job) -> dict[str, Any]:
    p = job.payload
    return {
        "id": job.id,
        "org": job.org,
        "kind": job.kind,
        "status": "dead",
        "repository": p.get("repository") or p.get("project_path"),
        "number": p.get("number") if p.get("number") is not None else p.get("iid"),
        "head_sha": p.get("head_sha"),
        "attempts": job.attempts,
        "max_attempts": job.max_attempts,
        "reason": job.error or "failed without a recorded reason",
        "reason_code": job.reason,  # budget_exhausted, review_ceiling, or null
        "updated_at": job.updated_at.isoformat(),
    }


@router.get("/dead", summary="Dead-lettered jobs with their reasons, newest first")
async def dead_letters(
    caller: CallerDep,
    engine: EngineDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[dict[str, Any]]:
    org = None if caller.admin else caller.org
    jobs = await run_in_threadpool(
        lambda: repo.list_jobs(engine, org=org, status="failed", limit=limit, offset=offset)
    )
    return [_dead(j) for j in jobs]


@router.post("/{job_id}/retry", summary="Queue a dead-lettered job again with fresh attempts")
async def retry_job(job_id: int, request: Request, caller: CallerDep, engine: EngineDep) -> dict[str, Any]:
    job = await run_in_threadpool(repo.get_job, engine, job_id)
    if job is None or (not caller.admin and job.org != caller.org):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no job {job_id}")
    if not await run_in_threadpool(repo.retry, engine, job_id):
        raise HTTPException(
            status.HTTP_409_CONFLICT, f"job {job_id} is {job.status}; only a dead (failed) job can be retried"
        )
    await _wake(request, job_id)
    return {"id": job_id, "status": "queued"}


@router.post("/{job_id}/run-now", summary="A person asks for a queued (or deferred) review now")
async def run_now(job_id: int, request: Request, caller: CallerDep, engine: EngineDep) -> dict[str, Any]:
    """The job takes a person's priority, which is claimed first and never deferred for a
    Coding Plan window (docs/quota-and-cost.md), and is due at once."""
    job = await run_in_threadpool(repo.get_job, engine, job_id)
    if job is None or (not caller.admin and job.org != caller.org):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no job {job_id}")
    found = await run_in_threadpool(lambda: repo.run_now(engine, job_id, priority=MANUAL_PRIORITY))
    if found is None:
        raise HTTPException(
            status.HTTP_409_CONFLICT,
            f"job {job_id} is {job.status}; only a queued job can be run now (a dead one: POST .../retry)",
        )
    await _wake(request, job_id)
    return {"id": job_id, "status": "queued"} | job_schedule(found)


async def _wake(request: Request, job_id: int) -> None:
    """A job became runnable: its broker message (distributed), or an idle embedded worker."""
    queue = getattr(request.app.state, "job_queue", None)
    if hasattr(queue, "publish"):
        await queue.publish(job_id)
    pool = getattr(request.app.state, "worker_pool", None)
    if pool is not None and not hasattr(queue, "publish"):
        pool.notify()
