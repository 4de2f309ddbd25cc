"""The Models page (BYOK) and the three calls its script makes: save, test, preview; and the
organization's review cost ceiling and monthly budget, plain forms on the same page.

The calls reuse the JSON API's route functions (:mod:`hunkwise.server.routes.byok`) with the
console session standing in for the Bearer token, so validation, key handling, fixed-mode
refusal and the 422 ``loc`` shapes are the API's, byte for byte.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from hunkwise.config.review_settings import org_cost_ceiling
from hunkwise.server.deps import Caller, RuntimeDep
from hunkwise.server.routes import byok as api
from hunkwise.server.routes import orgs as orgs_api
from hunkwise.server.schemas import (
    ByokIn,
    ByokPublic,
    ByokSlotIn,
    ByokTestPublic,
    OrgSettingsIn,
    PreviewPublic,
)
from hunkwise.server.web.auth import ConsoleApiDep, ConsoleUser, ConsoleUserDep
from hunkwise.server.web.models_view import models_state
from hunkwise.server.web.render import page
from hunkwise.store.orgs import get_org

router = APIRouter(include_in_schema=False)


def _org(user: ConsoleUser) -> str:
    if user.org is None:
        raise HTTPException(status.HTTP_409_CONFLICT, "choose an organization first (Organizations page)")
    return user.org


@router.get("/console/models", response_class=HTMLResponse)
async def models_page(request: Request, user: ConsoleUserDep, runtime: RuntimeDep) -> Response:
    if user.org is None:
        return RedirectResponse("/console/orgs", status_code=status.HTTP_303_SEE_OTHER)
    return await _models(request, user, user.org, runtime)


async def _models(
    request: Request,
    user: ConsoleUser,
    org: str,
    runtime: RuntimeDep,
    *,
    ceiling_error: str | None = None,
    budget_error: str | None = None,
    spill_error: str | None = None,
    status_code: int = 200,
) -> Response:
    byok = await api.read(org, runtime)
    found = await run_in_threadpool(get_org, runtime.engine, org)
    own = found.max_cost if found is not None else None
    own_budget = found.monthly_budget if found is not None else None
    ceiling = org_cost_ceiling(org, own, runtime.max_cost)
    burn = await run_in_threadpool(orgs_api.org_burn, runtime, found) if found is not None else None
    spill_own = found.spill if found is not None else None
    return page(
        request, "models.html", user, status_code=status_code, byok=byok, state=models_state(byok),
        ceiling=ceiling, ceiling_own="" if own is None else own, ceiling_error=ceiling_error,
        ceiling_locked=runtime.fixed is not None and not user.admin,
        burn=burn, budget_own="" if own_budget is None else own_budget, budget_error=budget_error,
        spill_own=spill_own or "", spill_now=spill_own or runtime.spill,
        spill_source="organization setting" if spill_own else "server default", spill_error=spill_error,
    )  # fmt: skip


async def _save_setting(
    request: Request, user: ConsoleUser, runtime: RuntimeDep, field: str, raw: str, error_key: str
) -> Response:
    """One organization setting from a console form, through the JSON API's rules (``PATCH
    /api/orgs/{org}``, empty meaning the server's default): a bad value re-renders the page with
    the message beside its form (``error_key``), a good one is saved and the page reloaded."""
    org = _org(user)
    try:
        body = OrgSettingsIn.model_validate({field: raw.strip() or None})
    except ValidationError as exc:
        err = exc.errors()[0]
        message = f"{raw!r}: {err.get('ctx', {}).get('error', err['msg'])}"
        return await _models(request, user, org, runtime, status_code=422, **{error_key: message})
    await orgs_api.update(body, org, Caller(admin=user.admin, org=user.org), runtime)
    return RedirectResponse("/console/models", status_code=status.HTTP_303_SEE_OTHER)


@router.post("/console/cost-ceiling", response_class=HTMLResponse)
async def cost_ceiling(
    request: Request, user: ConsoleUserDep, runtime: RuntimeDep, max_cost: Annotated[str, Form()] = ""
) -> Response:
    """The organization's review cost ceiling."""
    return await _save_setting(request, user, runtime, "max_cost", max_cost, "ceiling_error")


@router.post("/console/monthly-budget", response_class=HTMLResponse)
async def monthly_budget(
    request: Request, user: ConsoleUserDep, runtime: RuntimeDep, monthly_budget: Annotated[str, Form()] = ""
) -> Response:
    """The organization's monthly budget."""
    return await _save_setting(request, user, runtime, "monthly_budget", monthly_budget, "budget_error")


@router.post("/console/spill", response_class=HTMLResponse)
async def spill(
    request: Request, user: ConsoleUserDep, runtime: RuntimeDep, spill: Annotated[str, Form()] = ""
) -> Response:
    """The organization's spill policy."""
    return await _save_setting(request, user, runtime, "spill", spill, "spill_error")


@router.put("/console/api/byok", response_model=ByokPublic)
async def save(body: ByokIn, user: ConsoleApiDep, runtime: RuntimeDep) -> ByokPublic:
    return await api.write(_org(user), body, runtime)


@router.post("/console/api/byok/test", response_model=ByokTestPublic)
async def test(user: ConsoleApiDep, runtime: RuntimeDep, body: ByokIn | None = None) -> ByokTestPublic:
    """Test what is on the screen (saved or not); in fixed mode, the server's own models."""
    return await api.test(_org(user), runtime, None if runtime.fixed is not None else body)


@router.post("/console/api/byok/preview", response_model=PreviewPublic)
async def preview(body: ByokSlotIn, user: ConsoleApiDep, role: str = "main") -> PreviewPublic:
    _org(user)
    return api.preview_slot(body, role=role)
