"""``GET /metrics``: Prometheus text format (jobs by status, queue depth, the cluster's model calls,
failovers and slot waits read from the usage ledger, and in embedded mode the per-process counts
of the jobs this server ran). Counts only, no secrets, so it is unauthenticated like
``/healthz``; keep it off the public listener if that matters to you.

Named like :mod:`hunkwise.jobs.metrics` on purpose: route modules are named after the resource they
serve; the numbers are that module's.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from hunkwise.jobs.metrics import CONTENT_TYPE, JobMetrics

router = APIRouter(tags=["health"])


@router.get("/metrics", response_class=Response, summary="Prometheus metrics")
async def metrics(request: Request) -> Response:
    registry = getattr(request.app.state, "job_metrics", None)
    if registry is None:  # an app built without the job service (tests): the shared numbers only
        registry = JobMetrics()
        registry.add_shared(request.app.state.runtime.engine, None)
        request.app.state.job_metrics = registry
    body = await run_in_threadpool(registry.render)  # reads the database and the broker
    return Response(body, media_type=CONTENT_TYPE)
