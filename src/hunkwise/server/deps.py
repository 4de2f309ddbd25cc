"""Typed dependencies: the process's runtime (settings, store, secret box, SSRF policy, slot
resolver), and who is calling (admin or one organization).

Authorization is decided here once: routes declare ``Admin`` or ``OrgAccess`` and never compare
tokens themselves. An organization token that names another organization gets 403 whether or not
that organization exists, so tokens cannot be used to enumerate tenants. Wrong tokens are counted
per client address and overall (:mod:`hunkwise.server.signin`): past the limit, every Bearer call
from that client (or from everyone) gets 429 with ``Retry-After``, right token or not.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Path, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool

from hunkwise.config.settings import Settings
from hunkwise.errors import ConfigurationError
from hunkwise.jobs.runtime import Runtime
from hunkwise.server.signin import count_failure, current_lockout, too_many
from hunkwise.store.orgs import normalize_slug, token_owner

_bearer = HTTPBearer(auto_error=False, description="HUNKWISE_ADMIN_TOKEN or an organization's API token")


def get_runtime(request: Request) -> Runtime:
    """The runtime :func:`hunkwise.server.app.create_app` was given (or built), once per process."""
    return request.app.state.runtime  # type: ignore[no-any-return]


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


def get_settings(runtime: RuntimeDep) -> Settings:
    return runtime.settings


def get_engine(runtime: RuntimeDep) -> Engine:
    return runtime.engine


SettingsDep = Annotated[Settings, Depends(get_settings)]
EngineDep = Annotated[Engine, Depends(get_engine)]
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


@dataclass(frozen=True)
class Caller:
    """Who is calling: the admin, or the organization ``org`` (its slug) with token ``token_id``."""

    admin: bool
    org: str | None = None
    token_id: int | None = None

    def describe(self) -> str:
        return "the admin" if self.admin else f"token {self.token_id} of {self.org}"


def _unauthorized(message: str) -> HTTPException:
    return HTTPException(status.HTTP_401_UNAUTHORIZED, message, headers={"WWW-Authenticate": "Bearer"})


async def get_caller(
    request: Request, credentials: Credentials, settings: SettingsDep, engine: EngineDep
) -> Caller:
    if credentials is None or not credentials.credentials:
        raise _unauthorized(
            "missing Authorization: Bearer <token> (the admin token or your organization's token)"
        )
    locked = await current_lockout(request, settings, engine)
    if locked is not None:
        raise too_many(locked)
    token = credentials.credentials
    admin = settings.admin_token.get_secret_value() if settings.admin_token else ""
    if admin and hmac.compare_digest(token.encode(), admin.encode()):
        return Caller(admin=True)
    owner = await run_in_threadpool(token_owner, engine, token)
    if owner is None:
        await count_failure(request, settings, engine)
        raise _unauthorized("the token is not valid (unknown or revoked)")
    return Caller(admin=False, org=owner.org.slug, token_id=owner.token_id)


CallerDep = Annotated[Caller, Depends(get_caller)]


async def require_admin(caller: CallerDep) -> Caller:
    if not caller.admin:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "this needs the admin token (HUNKWISE_ADMIN_TOKEN)")
    return caller


Admin = Annotated[Caller, Depends(require_admin)]


async def org_access(caller: CallerDep, org: Annotated[str, Path(description="organization slug")]) -> str:
    """The normalized slug of the organization in the path, if the caller may act on it."""
    try:
        slug = normalize_slug(org)
    except ConfigurationError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from None
    if not caller.admin and caller.org != slug:
        raise HTTPException(
            status.HTTP_403_FORBIDDEN, "this token does not grant access to that organization"
        )
    return slug


OrgAccess = Annotated[str, Depends(org_access)]
