"""``GET /api/reviews`` and ``GET /api/reviews/{id}``: the review jobs and what they found.

The admin sees every organization's reviews; an organization token sees its own only. Another
organization's review answers 404, exactly like a missing one, so ids cannot be probed.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, status
from starlette.concurrency import run_in_threadpool

from hunkwise.jobs.review_job import stored_review
from hunkwise.jobs.schedule import job_schedule
from hunkwise.server.deps import CallerDep, EngineDep
from hunkwise.store import jobs as repo
from hunkwise.store.jobs import STATUSES, Job

router = APIRouter(prefix="/api/reviews", tags=["reviews"])


def _report(job: Job) -> dict[str, Any]:
    """The job's report (stored once, whether the review has been posted yet or not)."""
    report: dict[str, Any] = stored_review(job).get("report") or {}
    return report


def _summary(job: Job) -> dict[str, Any]:
    p = job.payload
    report = _report(job)
    summary = report.get("summary") or {}
    usage = report.get("usage") or {}
    return {
        "id": job.id,
        "org": job.org,
        "kind": job.kind,
        "status": job.status,
        "platform": p.get("platform"),
        "repository": p.get("repository") or p.get("project_path"),
        "number": p.get("number") if p.get("number") is not None else p.get("iid"),
        "head_sha": p.get("head_sha"),
        "attempts": job.attempts,
        "max_attempts": job.max_attempts,
        "findings": summary.get("findings"),
        "by_severity": summary.get("by_severity"),
        "cost_usd": usage.get("cost_usd"),
        "failovers": usage.get("failovers"),
        "error": job.error,
        "reason": job.reason,  # why it was not reviewed, for machines: budget_exhausted, review_ceiling
        "created_at": job.created_at.isoformat(),
        "updated_at": job.updated_at.isoformat(),
    } | job_schedule(job)


@router.get("", summary="Review jobs, newest first")
async def list_reviews(
    caller: CallerDep,
    engine: EngineDep,
    status_: Annotated[
        str | None,
        Query(alias="status", description="queued, running, done, failed (or dead: the same as failed)"),
    ] = None,
    org: Annotated[str | None, Query(description="admin only: one organization")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[dict[str, Any]]:
    if status_ == "dead":  # a dead letter is a job that failed for good
        status_ = "failed"
    if status_ is not None and status_ not in STATUSES:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            [
                {
                    "loc": ["query", "status"],
                    "msg": f"status must be one of {', '.join(STATUSES)} or dead",
                    "type": "value_error",
                }
            ],
        )
    if not caller.admin:
        if org is not None and org.lower() != caller.org:
            raise HTTPException(
                status.HTTP_403_FORBIDDEN, "this token does not grant access to that organization"
            )
        org = caller.org
    jobs = await run_in_threadpool(
        lambda: repo.list_jobs(
            engine, org=org.lower() if org else None, status=status_, limit=limit, offset=offset
        )
    )
    return [_summary(j) for j in jobs]


@router.get("/{review_id}", summary="One review: status, findings, usage, attempts, failovers, error")
async def get_review(review_id: int, caller: CallerDep, engine: EngineDep) -> dict[str, Any]:
    job = await run_in_threadpool(repo.get_job, engine, review_id)
    if job is None or (not caller.admin and job.org != caller.org):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no review {review_id}")
    report = _report(job)
    out = _summary(job)
    out.update(
        {
            "findings": report.get("findings", []),
            "summary": report.get("summary"),
            "usage": report.get("usage"),
            "since": stored_review(job).get("since"),
            "posted": (job.result or {}).get("posted"),
            "next_run_at": job.next_run_at.isoformat() if job.status == "queued" else None,
        }
    )
    return out
