"""Organizations: created by the admin, each with an API token shown once."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, status
from starlette.concurrency import run_in_threadpool

from hunkwise.server.deps import Admin, EngineDep, OrgAccess
from hunkwise.server.schemas import OrgCreated, OrgIn, OrgPublic
from hunkwise.store.db import use_session
from hunkwise.store.orgs import OrgExists, create_org, delete_org, get_org, issue_token, list_orgs

router = APIRouter(prefix="/api/orgs", tags=["organizations"])


def _public(org: object) -> OrgPublic:
    return OrgPublic.model_validate(org, from_attributes=True)


@router.post("", response_model=OrgCreated, status_code=status.HTTP_201_CREATED)
async def create(body: OrgIn, engine: EngineDep, _: Admin) -> OrgCreated:
    """Create an organization (admin). The response carries its API token: the only time it is shown."""
    try:
        org, token = await run_in_threadpool(create_org, engine, body.slug, body.name)
    except OrgExists as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
    return OrgCreated(slug=org.slug, name=org.name, created_at=org.created_at, token=token)


@router.get("", response_model=list[OrgPublic])
async def list_all(engine: EngineDep, _: Admin) -> list[OrgPublic]:
    return [_public(o) for o in await run_in_threadpool(list_orgs, engine)]


@router.get("/{org}", response_model=OrgPublic)
async def read(org: OrgAccess, engine: EngineDep) -> OrgPublic:
    found = await run_in_threadpool(get_org, engine, org)
    if found is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"organization {org!r} not found")
    return _public(found)


@router.post("/{org}/tokens", response_model=OrgCreated, status_code=status.HTTP_201_CREATED)
async def new_token(org: OrgAccess, engine: EngineDep, _: Admin) -> OrgCreated:
    """Issue another API token for the organization (admin); existing tokens keep working."""

    def issue() -> OrgCreated | None:
        found = get_org(engine, org)
        if found is None:
            return None
        with use_session(engine, write=True) as session:
            token = issue_token(session, found.id, label="issued by the admin")
        return OrgCreated(slug=found.slug, name=found.name, created_at=found.created_at, token=token)

    created = await run_in_threadpool(issue)
    if created is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"organization {org!r} not found")
    return created


@router.delete("/{org}", status_code=status.HTTP_204_NO_CONTENT)
async def remove(org: OrgAccess, engine: EngineDep, _: Admin) -> None:
    """Delete an organization with its tokens and stored keys (admin)."""
    if not await run_in_threadpool(delete_org, engine, org):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"organization {org!r} not found")
