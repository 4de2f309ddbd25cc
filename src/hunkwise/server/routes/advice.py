"""``GET /api/plan/advice``: Developer API or a Coding Plan tier, priced from the usage ledger.

The admin sees the whole installation (or one organization with ``?org=``); an organization token
sees the calls of its own reviews only, and asking for another organization is 403. In BYOK mode
the organization's own Fallback model prices what a tier's windows would refuse, unless the caller
names one. The console's Plan page renders this same function's answer (:func:`plan_advice`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, status
from starlette.concurrency import run_in_threadpool

from hunkwise.catalog.loader import Catalog, load_catalog
from hunkwise.catalog.plan_advice import PlanAdvice, advise
from hunkwise.server.deps import CallerDep, EngineDep
from hunkwise.store.byok_slots import load_byok
from hunkwise.store.db import Db
from hunkwise.store.ledger import advice_calls, org_run_ids, parse_since

router = APIRouter(prefix="/api/plan", tags=["usage"])


def org_fallback_model(db: Db, org: str, catalog: Catalog) -> str | None:
    """The organization's BYOK Fallback model, when the catalog can price it."""
    views = load_byok(db, org) or []
    for view in views:
        if view.role == "fallback":
            model = str(view.spec.get("model") or view.spec.get("card") or "")
            return model if model and catalog.card(model) else None
    return None


def plan_advice(
    db: Db,
    *,
    org: str | None,
    since: str,
    fallback: str | None = None,
    now: datetime | None = None,
    catalog: Catalog | None = None,
) -> PlanAdvice:
    """The advice for one organization (or the installation, ``org=None``) since ``since`` until
    ``now``. Raises ``ValueError`` with a usable message for a bad period or Fallback model."""
    now = now or datetime.now(UTC)
    catalog = catalog or load_catalog()
    start = parse_since(since, now)
    run_ids = org_run_ids(db, org) if org is not None else None
    if fallback is None and org is not None:
        fallback = org_fallback_model(db, org, catalog)
    calls = advice_calls(db, start, now, run_ids=run_ids)
    return advise(calls, catalog, start=start, end=now, fallback_model=fallback)


def _invalid(field: str, message: str) -> HTTPException:
    return HTTPException(
        status.HTTP_422_UNPROCESSABLE_CONTENT,
        [{"loc": ["query", field], "msg": message, "type": "value_error"}],
    )


@router.get("/advice", summary="Developer API vs each Coding Plan tier for a period, and a recommendation")
async def get_advice(
    caller: CallerDep,
    engine: EngineDep,
    since: Annotated[str, Query(description="30d, 2w, 24h, or a date like 2026-11-01 (UTC)")] = "30d",
    org: Annotated[str | None, Query(description="admin only: one organization")] = None,
    fallback: Annotated[
        str | None,
        Query(description="price spilled prompts at this catalog model (default: the org's Fallback)"),
    ] = None,
) -> dict[str, Any]:
    if not caller.admin:
        if org is not None and org.strip().lower() != caller.org:
            raise HTTPException(
                status.HTTP_403_FORBIDDEN, "this token does not grant access to that organization"
            )
        org = caller.org
    scope = org.strip().lower() if org else None
    try:
        advice = await run_in_threadpool(
            lambda: plan_advice(engine, org=scope, since=since, fallback=fallback)
        )
    except ValueError as exc:
        raise _invalid("fallback" if "Fallback" in str(exc) else "since", str(exc)) from None
    return {"org": scope, **advice.as_dict()}
