"""Organizations: created by the admin, each with an API token shown once."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, status
from starlette.concurrency import run_in_threadpool

from hunkwise.config.review_settings import org_cost_ceiling
from hunkwise.server.deps import Admin, CallerDep, EngineDep, OrgAccess, SettingsDep
from hunkwise.server.schemas import CostCeilingPublic, OrgCreated, OrgIn, OrgPublic, OrgSettingsIn
from hunkwise.server.settings import Settings
from hunkwise.store.db import use_session
from hunkwise.store.orgs import (
    OrgExists,
    OrgInfo,
    create_org,
    delete_org,
    get_org,
    issue_token,
    list_orgs,
    set_org_max_cost,
)

router = APIRouter(prefix="/api/orgs", tags=["organizations"])

FIXED_CEILING_MESSAGE = (
    "this server runs in fixed mode: its own key pays for every review, so only the administrator "
    "(the admin token) sets an organization's cost ceiling; the server-wide default is HUNKWISE_MAX_COST"
)


def _public(org: OrgInfo, settings: Settings) -> OrgPublic:
    ceiling = org_cost_ceiling(org.slug, org.max_cost, settings.max_cost)
    return OrgPublic(
        slug=org.slug,
        name=org.name,
        created_at=org.created_at,
        max_cost=org.max_cost,
        cost_ceiling=CostCeilingPublic(usd=ceiling.usd, source=ceiling.source),  # type: ignore[arg-type]
    )


@router.post("", response_model=OrgCreated, status_code=status.HTTP_201_CREATED)
async def create(body: OrgIn, engine: EngineDep, settings: SettingsDep, _: Admin) -> OrgCreated:
    """Create an organization (admin). The response carries its API token: the only time it is shown."""
    try:
        org, token = await run_in_threadpool(create_org, engine, body.slug, body.name)
    except OrgExists as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
    return OrgCreated(**_public(org, settings).model_dump(), token=token)


@router.get("", response_model=list[OrgPublic])
async def list_all(engine: EngineDep, settings: SettingsDep, _: Admin) -> list[OrgPublic]:
    return [_public(o, settings) for o in await run_in_threadpool(list_orgs, engine)]


@router.get("/{org}", response_model=OrgPublic)
async def read(org: OrgAccess, engine: EngineDep, settings: SettingsDep) -> OrgPublic:
    found = await run_in_threadpool(get_org, engine, org)
    if found is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"organization {org!r} not found")
    return _public(found, settings)


@router.patch(
    "/{org}", response_model=OrgPublic, responses={409: {"description": "fixed mode: the admin sets it"}}
)
async def update(
    body: OrgSettingsIn, org: OrgAccess, caller: CallerDep, engine: EngineDep, settings: SettingsDep
) -> OrgPublic:
    """Change the organization's settings. ``max_cost``: the most a review may be estimated to
    cost before its first request (USD), ``"off"``, or ``null`` for the server's default; a job
    above it fails with the estimate and how to raise it. With BYOK the organization's own key
    pays, so its token may change it; in fixed mode only the admin may."""
    if "max_cost" in body.model_fields_set and settings.fixed() is not None and not caller.admin:
        raise HTTPException(status.HTTP_409_CONFLICT, FIXED_CEILING_MESSAGE)
    if "max_cost" in body.model_fields_set:
        found = await run_in_threadpool(set_org_max_cost, engine, org, body.max_cost)
    else:
        found = await run_in_threadpool(get_org, engine, org)
    if found is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"organization {org!r} not found")
    return _public(found, settings)


@router.post("/{org}/tokens", response_model=OrgCreated, status_code=status.HTTP_201_CREATED)
async def new_token(org: OrgAccess, engine: EngineDep, settings: SettingsDep, _: Admin) -> OrgCreated:
    """Issue another API token for the organization (admin); existing tokens keep working."""

    def issue() -> OrgCreated | None:
        found = get_org(engine, org)
        if found is None:
            return None
        with use_session(engine, write=True) as session:
            token = issue_token(session, found.id, label="issued by the admin")
        return OrgCreated(**_public(found, settings).model_dump(), token=token)

    created = await run_in_threadpool(issue)
    if created is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"organization {org!r} not found")
    return created


@router.delete("/{org}", status_code=status.HTTP_204_NO_CONTENT)
async def remove(org: OrgAccess, engine: EngineDep, _: Admin) -> None:
    """Delete an organization with its tokens and stored keys (admin)."""
    if not await run_in_threadpool(delete_org, engine, org):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"organization {org!r} not found")
