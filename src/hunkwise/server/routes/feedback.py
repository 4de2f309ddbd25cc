"""``/api/orgs/{org}/feedback``: acceptance rates of hunkwise's comments, and demotions undone.

The rates are what the reviews of the organization learned from reactions (👍/👎) and
resolved threads on hunkwise's comments (docs/conversation.md). A category or path pattern
below ``HUNKWISE_FEEDBACK_THRESHOLD`` (with ``HUNKWISE_FEEDBACK_MIN_SAMPLES`` samples) is
demoted: its findings go to the summary only, which says so. ``undemote`` keeps it inline
whatever its rate; ``redemote`` gives the decision back to the rate.

Named like :mod:`hunkwise.store.feedback` (the rows) and :mod:`hunkwise.cli.feedback` (the
command) on purpose: route modules are named after the resource they serve.
"""

from __future__ import annotations

import logging
from typing import Any, Literal

from fastapi import APIRouter
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from hunkwise.server.deps import CallerDep, OrgAccess, RuntimeDep
from hunkwise.store import feedback as store

router = APIRouter(prefix="/api/orgs", tags=["feedback"])
log = logging.getLogger("hunkwise.server")


class OverrideIn(BaseModel):
    repository: str = Field(
        "", max_length=300, description="owner/name or group/project; empty: every repository"
    )
    kind: Literal["category", "path"]
    value: str = Field(
        min_length=1, max_length=1000, description="a category, or a path pattern such as src/legacy/**"
    )


@router.get("/{org}/feedback", summary="Acceptance rates and demotions")
async def feedback(org: OrgAccess, runtime: RuntimeDep) -> dict[str, Any]:
    settings = runtime.settings
    rates = await run_in_threadpool(
        lambda: store.rates(
            runtime.engine,
            org=org,
            threshold=settings.feedback_threshold,
            min_samples=settings.feedback_min_samples,
        )
    )
    return {
        "threshold": settings.feedback_threshold,
        "min_samples": settings.feedback_min_samples,
        "rates": [r.as_dict() for r in rates],
    }


@router.post("/{org}/feedback/undemote", summary="Keep a category or path inline")
async def undemote(
    body: OverrideIn, org: OrgAccess, caller: CallerDep, runtime: RuntimeDep
) -> dict[str, Any]:
    changed = await run_in_threadpool(
        lambda: store.undemote(
            runtime.engine, org=org, repository=body.repository, kind=body.kind, value=body.value,
            created_by=caller.describe(),
        )
    )  # fmt: skip
    log.info(
        "organization %s: %s %r un-demoted in %r by %s",
        org,
        body.kind,
        body.value,
        body.repository,
        caller.describe(),
    )
    return {"changed": changed}


@router.post("/{org}/feedback/redemote", summary="Let the acceptance rate decide again")
async def redemote(body: OverrideIn, org: OrgAccess, runtime: RuntimeDep) -> dict[str, Any]:
    changed = await run_in_threadpool(
        lambda: store.redemote(
            runtime.engine, org=org, repository=body.repository, kind=body.kind, value=body.value
        )
    )
    return {"changed": changed}
