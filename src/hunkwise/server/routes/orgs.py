"""Organizations (created by the admin) and their API tokens.

An organization may hold several tokens. The admin manages any organization's tokens; an
organization's own token manages that organization's tokens (list, create, revoke), so a team
can rotate a token without the admin. That is no escalation: the token already controls the
organization's models and keys. It also means a leaked token can mint another one, so after a
leak revoke every token you do not recognise (the list shows labels, creation and last use).
Revoking the organization's last working token needs ``confirm_last=true``: afterwards only the
admin can issue a new one. Creation and revocation are logged with who did it.

Named like :mod:`hunkwise.store.orgs` on purpose: route modules are named after the resource they
serve, store modules after the rows they keep.
"""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, status
from starlette.concurrency import run_in_threadpool

from hunkwise.config.review_settings import org_cost_ceiling, org_monthly_budget
from hunkwise.jobs.runtime import Runtime
from hunkwise.server.deps import Admin, CallerDep, EngineDep, OrgAccess, RuntimeDep
from hunkwise.server.schemas import (
    BudgetPublic,
    CostCeilingPublic,
    OrgCreated,
    OrgIn,
    OrgPublic,
    OrgSettingsIn,
    OrgTokenCreated,
    OrgTokenIn,
    OrgTokenPublic,
    SpillPublic,
)
from hunkwise.store.budget import burn
from hunkwise.store.orgs import (
    LastActiveToken,
    OrgExists,
    OrgInfo,
    TokenInfo,
    create_org,
    create_token,
    delete_org,
    get_org,
    list_orgs,
    list_tokens,
    revoke_token,
    set_org_max_cost,
    set_org_monthly_budget,
    set_org_spill,
)

router = APIRouter(prefix="/api/orgs", tags=["organizations"])
log = logging.getLogger("hunkwise.server")

FIXED_CEILING_MESSAGE = (
    "this server runs in fixed mode: its own key pays for every review, so only the administrator "
    "(the admin token) sets an organization's cost ceiling and monthly budget; the server-wide defaults "
    "are HUNKWISE_MAX_COST and HUNKWISE_MONTHLY_BUDGET"
)
SPEND_FIELDS = ("max_cost", "monthly_budget")

FIXED_SPILL_MESSAGE = (
    "this server runs in fixed mode: its own keys pay for the Fallback, so only the administrator "
    "(the admin token) sets an organization's spill policy; the server-wide default is HUNKWISE_SPILL"
)


def org_burn(runtime: Runtime, org: OrgInfo) -> BudgetPublic:
    """The organization's month (blocking: the database)."""
    budget = org_monthly_budget(org.monthly_budget, runtime.monthly_budget)
    return BudgetPublic(**burn(runtime.engine, org.slug, budget).as_dict())


def _public(org: OrgInfo, runtime: Runtime) -> OrgPublic:
    """Blocking (the month's burn is read): call in a thread."""
    ceiling = org_cost_ceiling(org.slug, org.max_cost, runtime.max_cost)
    return OrgPublic(
        slug=org.slug,
        name=org.name,
        created_at=org.created_at,
        max_cost=org.max_cost,
        cost_ceiling=CostCeilingPublic(usd=ceiling.usd, source=ceiling.source),  # type: ignore[arg-type]
        monthly_budget=org.monthly_budget,
        budget=org_burn(runtime, org),
        spill=org.spill,
        spill_policy=SpillPublic(
            policy=org.spill or runtime.spill,
            source="organization setting" if org.spill else "server default",
        ),
    )


def _no_org(org: str) -> HTTPException:
    return HTTPException(status.HTTP_404_NOT_FOUND, f"organization {org!r} not found")


@router.post("", response_model=OrgCreated, status_code=status.HTTP_201_CREATED)
async def create(body: OrgIn, runtime: RuntimeDep, _: Admin) -> OrgCreated:
    """Create an organization (admin). The response carries its API token: the only time it is shown."""
    try:
        org, token = await run_in_threadpool(create_org, runtime.engine, body.slug, body.name)
    except OrgExists as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
    public = await run_in_threadpool(_public, org, runtime)
    return OrgCreated(**public.model_dump(), token=token)


@router.get("", response_model=list[OrgPublic])
async def list_all(runtime: RuntimeDep, _: Admin) -> list[OrgPublic]:
    return await run_in_threadpool(lambda: [_public(o, runtime) for o in list_orgs(runtime.engine)])


@router.get("/{org}", response_model=OrgPublic)
async def read(org: OrgAccess, runtime: RuntimeDep) -> OrgPublic:
    found = await run_in_threadpool(get_org, runtime.engine, org)
    if found is None:
        raise _no_org(org)
    return await run_in_threadpool(_public, found, runtime)


@router.get("/{org}/budget", response_model=BudgetPublic, summary="This month's spend against the budget")
async def budget(org: OrgAccess, runtime: RuntimeDep) -> BudgetPublic:
    """The calendar month (UTC) so far: spent (the ledger's cost of the organization's reviews),
    reserved (estimates of reviews running now), the budget in force and the share used;
    ``warning`` from 80%. A review that does not fit what is left is not run (docs/server.md)."""
    found = await run_in_threadpool(get_org, runtime.engine, org)
    if found is None:
        raise _no_org(org)
    return await run_in_threadpool(org_burn, runtime, found)


@router.patch(
    "/{org}", response_model=OrgPublic, responses={409: {"description": "fixed mode: the admin sets it"}}
)
async def update(body: OrgSettingsIn, org: OrgAccess, caller: CallerDep, runtime: RuntimeDep) -> OrgPublic:
    """Change the organization's settings. ``max_cost``: the most a review may be estimated to
    cost before its first request (USD), ``"off"``, or ``null`` for the server's default; a job
    above it fails with the estimate and how to raise it. ``monthly_budget``: what the
    organization's reviews may spend per calendar month (UTC), ``"off"``, or ``null`` for the
    server's default; a review that does not fit what is left is not run. With BYOK the
    organization's own key pays, so its token may change them; in fixed mode only the admin may.
    ``spill``: what a review
    does when Main's Coding Plan window cannot cover it, ``"never"`` (wait for the reset),
    ``"when-exhausted"`` (go to the Fallback), ``"to-finish-faster"`` (also spread a large
    review over Main and the Fallback), or ``null`` for the server's default (docs/quota-and-cost.md);
    in fixed mode only the admin may change it too (the Fallback's spend is the server's)."""
    changing = body.model_fields_set & set(SPEND_FIELDS)
    if changing and runtime.fixed is not None and not caller.admin:
        raise HTTPException(status.HTTP_409_CONFLICT, FIXED_CEILING_MESSAGE)
    if "spill" in body.model_fields_set and runtime.fixed is not None and not caller.admin:
        raise HTTPException(status.HTTP_409_CONFLICT, FIXED_SPILL_MESSAGE)
    found = await run_in_threadpool(get_org, runtime.engine, org)
    if "max_cost" in changing:
        found = await run_in_threadpool(set_org_max_cost, runtime.engine, org, body.max_cost)
    if "monthly_budget" in changing:
        found = await run_in_threadpool(set_org_monthly_budget, runtime.engine, org, body.monthly_budget)
    if found is not None and "spill" in body.model_fields_set:
        found = await run_in_threadpool(set_org_spill, runtime.engine, org, body.spill)
    if found is None:
        raise _no_org(org)
    return await run_in_threadpool(_public, found, runtime)


def _token_public(info: TokenInfo) -> OrgTokenPublic:
    return OrgTokenPublic.model_validate(info, from_attributes=True)


@router.get("/{org}/tokens", response_model=list[OrgTokenPublic], summary="List tokens")
async def tokens(org: OrgAccess, engine: EngineDep) -> list[OrgTokenPublic]:
    """The organization's tokens, newest first, revoked ones included (marked by ``revoked_at``)."""
    found = await run_in_threadpool(list_tokens, engine, org)
    if found is None:
        raise _no_org(org)
    return [_token_public(t) for t in found]


@router.post(
    "/{org}/tokens",
    response_model=OrgTokenCreated,
    status_code=status.HTTP_201_CREATED,
    summary="Create a token",
)
async def new_token(
    org: OrgAccess, engine: EngineDep, caller: CallerDep, body: OrgTokenIn | None = None
) -> OrgTokenCreated:
    """Issue another API token (the response is the only time it is shown); others keep working."""
    made = await run_in_threadpool(create_token, engine, org, body.label if body else "")
    if made is None:
        raise _no_org(org)
    info, token = made
    log.info("organization %s: token %d created by %s", org, info.id, caller.describe())
    return OrgTokenCreated(**_token_public(info).model_dump(), org=org, token=token)


@router.delete("/{org}/tokens/{token_id}", status_code=status.HTTP_204_NO_CONTENT, summary="Revoke a token")
async def revoke(
    org: OrgAccess,
    token_id: int,
    engine: EngineDep,
    caller: CallerDep,
    confirm_last: Annotated[
        bool, Query(description="allow revoking the organization's last working token")
    ] = False,
) -> None:
    """Revoke a token: it stops working at once, and the console sessions opened with it end.
    Revoking an already revoked token changes nothing (204)."""
    try:
        done = await run_in_threadpool(lambda: revoke_token(engine, org, token_id, allow_last=confirm_last))
    except LastActiveToken as exc:
        raise HTTPException(
            status.HTTP_409_CONFLICT, f"{exc} (repeat with ?confirm_last=true to revoke it anyway)"
        ) from None
    if done is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"organization {org!r} has no token {token_id}")
    if done[1]:
        log.info("organization %s: token %d revoked by %s", org, token_id, caller.describe())


@router.delete("/{org}", status_code=status.HTTP_204_NO_CONTENT)
async def remove(org: OrgAccess, engine: EngineDep, _: Admin) -> None:
    """Delete an organization with its tokens and stored keys (admin)."""
    if not await run_in_threadpool(delete_org, engine, org):
        raise _no_org(org)
