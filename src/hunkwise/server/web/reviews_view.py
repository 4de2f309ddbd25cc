"""Review jobs as the Reviews pages show them: one row per job, and a detail with findings and
the model calls (attempts) the ledger recorded for the job's run.

Reads only: jobs from :mod:`hunkwise.store.jobs`, attempts from the ledger's ``model_calls``
rows of the run the job recorded (``run_id`` beside the report, :func:`stored_review`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from hunkwise.catalog.findings_contract import SEVERITIES
from hunkwise.jobs.review_job import stored_review
from hunkwise.jobs.schedule import job_schedule
from hunkwise.store import jobs as repo
from hunkwise.store.db import Db, use_session
from hunkwise.store.jobs import Job
from hunkwise.store.tables import ModelCall


@dataclass
class ReviewRow:
    id: int
    org: str
    status: str
    repository: str
    number: Any
    platform: str
    models: list[str]
    failovers: int | None
    by_severity: dict[str, int]
    findings: int | None
    tokens: int | None
    cost_usd: float | None
    duration_s: float | None
    created_at: str
    error: str | None
    attempts: int
    max_attempts: int
    reason: str | None = None  # not reviewed because of: budget_exhausted, review_ceiling
    # Scheduling (hunkwise.jobs.schedule.job_schedule): priority name, deferral, decision.
    schedule: dict[str, Any] = field(default_factory=dict)


@dataclass
class ReviewDetail:
    row: ReviewRow
    findings: list[dict[str, Any]]
    calls: list[dict[str, Any]] = field(default_factory=list)
    posted: dict[str, Any] | None = None
    head_sha: str | None = None
    incomplete: list[dict[str, Any]] = field(default_factory=list)


def review_row(job: Job) -> ReviewRow:
    report = stored_review(job).get("report") or {}
    usage = report.get("usage") or {}
    summary = report.get("summary") or {}
    p = job.payload
    number = p.get("number") if p.get("number") is not None else p.get("iid")
    has_report = bool(report)
    return ReviewRow(
        id=job.id,
        org=job.org,
        status=job.status,
        repository=str(p.get("repository") or p.get("project_path") or "–"),
        number=number,
        platform=str(p.get("platform") or job.kind),
        models=sorted((usage.get("models") or {}).keys()),
        failovers=usage.get("failovers"),
        by_severity={s: int((summary.get("by_severity") or {}).get(s, 0)) for s in SEVERITIES},
        findings=summary.get("findings"),
        tokens=(int(usage.get("input_tokens", 0)) + int(usage.get("output_tokens", 0)))
        if has_report
        else None,
        cost_usd=usage.get("cost_usd"),
        duration_s=report.get("duration_s"),
        created_at=job.created_at.isoformat(),
        error=job.error,
        attempts=job.attempts,
        max_attempts=job.max_attempts,
        reason=job.reason,
        schedule=job_schedule(job),
    )


def list_reviews(
    db: Db, *, org: str | None, status: str | None, limit: int = 50, offset: int = 0
) -> list[ReviewRow]:
    return [review_row(j) for j in repo.list_jobs(db, org=org, status=status, limit=limit, offset=offset)]


def _calls(db: Db, run_id: int) -> list[dict[str, Any]]:
    with use_session(db) as session:
        rows = session.scalars(
            select(ModelCall).where(ModelCall.run_id == run_id).order_by(ModelCall.created_at, ModelCall.id)
        )
        return [
            {
                "at": r.created_at.isoformat(),
                "slot": r.slot,
                "provider": r.provider,
                "model": r.model,
                "purpose": r.purpose,
                "outcome": r.outcome,
                "status": r.status,
                "code": r.code,
                "failover": r.failover,
                "input_tokens": r.input_tokens,
                "output_tokens": r.output_tokens,
                "cost_usd": r.cost_usd,
                "latency_ms": r.latency_ms,
            }
            for r in rows
        ]


def review_detail(db: Db, review_id: int, *, org: str | None) -> ReviewDetail | None:
    """One review, or None when it does not exist or belongs to another organization."""
    job = repo.get_job(db, review_id)
    if job is None or (org is not None and job.org != org):
        return None
    stage = stored_review(job)
    report = stage.get("report") or {}
    run_id = stage.get("run_id")
    order = {s: i for i, s in enumerate(SEVERITIES)}
    findings = sorted(
        report.get("findings") or [],
        key=lambda f: (order.get(f.get("severity"), 9), f.get("path", ""), f.get("start_line", 0)),
    )
    return ReviewDetail(
        row=review_row(job),
        findings=findings,
        calls=_calls(db, int(run_id)) if isinstance(run_id, int) else [],
        posted=(job.result or {}).get("posted"),
        head_sha=job.payload.get("head_sha"),
        incomplete=list((report.get("summary") or {}).get("failed_chunks") or []),
    )
