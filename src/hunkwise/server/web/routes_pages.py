"""The Reviews, Usage and Plan pages, and the console's static files."""

from __future__ import annotations

from datetime import UTC
from importlib import resources
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request, status
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from hunkwise.server.deps import EngineDep, RuntimeDep
from hunkwise.server.routes.advice import plan_advice
from hunkwise.server.usage_windows import org_windows
from hunkwise.server.web.auth import ConsoleUserDep
from hunkwise.server.web.charts import colour, stacked_bars
from hunkwise.server.web.render import page, tokens, usd
from hunkwise.server.web.reviews_view import list_reviews, review_detail
from hunkwise.server.web.usage_view import usage_data
from hunkwise.store.jobs import STATUSES

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 50

_STATIC_TYPES = {
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".svg": "image/svg+xml",
}


@router.get("/static/{name}")
async def static(name: str) -> Response:
    """The console's own CSS/JS, shipped in the package (no CDN: works offline)."""
    suffix = name[name.rfind(".") :] if "." in name else ""
    if "/" in name or "\\" in name or name.startswith(".") or suffix not in _STATIC_TYPES:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such file")
    item = resources.files("hunkwise.server") / "static" / name
    if not item.is_file():
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such file")
    return Response(
        item.read_bytes(), media_type=_STATIC_TYPES[suffix], headers={"Cache-Control": "public, max-age=300"}
    )


@router.get("/console/reviews", response_class=HTMLResponse)
async def reviews_page(
    request: Request,
    user: ConsoleUserDep,
    engine: EngineDep,
    status_: Annotated[str | None, Query(alias="status")] = None,
    page_: Annotated[int, Query(alias="page", ge=1, le=10_000)] = 1,
) -> Response:
    chosen = status_ if status_ in STATUSES else None
    offset = (page_ - 1) * PAGE_SIZE
    rows = await run_in_threadpool(
        lambda: list_reviews(engine, org=user.org, status=chosen, limit=PAGE_SIZE + 1, offset=offset)
    )
    return page(
        request,
        "reviews.html",
        user,
        rows=rows[:PAGE_SIZE],
        statuses=STATUSES,
        chosen=chosen,
        page_no=page_,
        more=len(rows) > PAGE_SIZE,
    )


@router.get("/console/reviews/{review_id}", response_class=HTMLResponse)
async def review_page(request: Request, review_id: int, user: ConsoleUserDep, engine: EngineDep) -> Response:
    detail = await run_in_threadpool(lambda: review_detail(engine, review_id, org=user.org))
    if detail is None:
        return page(request, "not_found.html", user, status_code=404, what=f"review {review_id}")
    return page(request, "review.html", user, d=detail)


@router.get("/console/usage", response_class=HTMLResponse)
async def usage_page(
    request: Request,
    user: ConsoleUserDep,
    engine: EngineDep,
    runtime: RuntimeDep,
    days: Annotated[int, Query(ge=1, le=90)] = 14,
    include_simulated: Annotated[bool, Query()] = False,
) -> Response:
    data = await run_in_threadpool(
        lambda: usage_data(engine, org=user.org, days=days, include_simulated=include_simulated)
    )
    windows, windows_note = await org_windows(runtime, user.org, include_simulated=include_simulated)
    charts = {
        "tokens": stacked_bars("Tokens per day by model", data.days, data.tokens, tokens),
        "cost": stacked_bars("Cost per day by model (USD)", data.days, data.cost, usd),
        "failovers": stacked_bars(
            "Failovers per day", data.days, {"failovers": data.failovers}, lambda v: f"{v:.0f}", integer=True
        ),
    }
    legend = [(m, colour(i)) for i, m in enumerate(data.models)]
    return page(
        request,
        "usage.html",
        user,
        data=data,
        charts=charts,
        legend=legend,
        days=days,
        windows=windows,
        windows_note=windows_note,
        utc=UTC,
    )


PLAN_PERIODS = ("7d", "14d", "30d", "90d")


@router.get("/console/plan", response_class=HTMLResponse)
async def plan_page(
    request: Request,
    user: ConsoleUserDep,
    engine: EngineDep,
    since: Annotated[str, Query(max_length=40)] = "30d",
) -> Response:
    """Developer API or a Coding Plan tier: the same advice as ``GET /api/plan/advice``, scoped to the
    signed-in organization (the admin without one sees the installation)."""
    try:
        advice = await run_in_threadpool(lambda: plan_advice(engine, org=user.org, since=since))
    except ValueError as exc:
        return page(
            request, "plan.html", user, status_code=400, error=str(exc), since=since, periods=PLAN_PERIODS
        )
    return page(request, "plan.html", user, a=advice.as_dict(), since=since, periods=PLAN_PERIODS, error=None)
