"""Sign in (organization token or admin token), sign out, and the admin's organization picker."""

from __future__ import annotations

import hmac
import secrets
from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from hunkwise.gateway.errors import ConfigurationError
from hunkwise.server.deps import BoxDep, EngineDep, SettingsDep
from hunkwise.server.web.auth import ConsoleUser, ConsoleUserDep, SessionDep
from hunkwise.server.web.render import page
from hunkwise.server.web.session import (
    COOKIE,
    LOGIN_COOKIE,
    MAX_AGE_S,
    Session,
    csrf_ok,
    new_session,
    set_cookie,
    sign,
    signing_key,
)
from hunkwise.store.orgs import OrgExists, create_org, get_org, list_orgs, normalize_slug, org_for_token

router = APIRouter(include_in_schema=False)
HOME = "/console/models"


def _safe_next(target: str | None) -> str:
    """Only same-site paths: a sign-in link must not bounce people to another site."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return HOME


def _login_page(
    request: Request, error: str | None = None, next_url: str = HOME, status_code: int = 200
) -> Response:
    token = request.cookies.get(LOGIN_COOKIE) or secrets.token_urlsafe(24)
    response = page(
        request, "login.html", None, status_code=status_code, error=error, login_csrf=token, next_url=next_url
    )
    set_cookie(response, request, LOGIN_COOKIE, token, 3600)
    return response


@router.get("/", response_class=HTMLResponse)
async def root(session: SessionDep) -> Response:
    return RedirectResponse(HOME if session else "/login", status_code=status.HTTP_303_SEE_OTHER)


@router.get("/login", response_class=HTMLResponse)
async def login_form(request: Request, next: str | None = None) -> Response:
    return _login_page(request, next_url=_safe_next(next))


@router.post("/login", response_class=HTMLResponse)
async def login(
    request: Request,
    settings: SettingsDep,
    engine: EngineDep,
    box: BoxDep,
    token: Annotated[str, Form()] = "",
    csrf: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = HOME,
) -> Response:
    next_url = _safe_next(next)
    if not csrf_ok(request.cookies.get(LOGIN_COOKIE, ""), csrf):
        return _login_page(
            request, "The sign-in form expired: try again.", next_url, status.HTTP_403_FORBIDDEN
        )
    token = token.strip()
    if not token:
        return _login_page(request, "Enter your organization's API token or the admin token.", next_url, 422)
    admin = settings.admin_token.get_secret_value() if settings.admin_token else ""
    session: Session
    if admin and hmac.compare_digest(token.encode(), admin.encode()):
        orgs = await run_in_threadpool(list_orgs, engine)
        session = new_session(admin=True, org=orgs[0].slug if len(orgs) == 1 else None, token=token)
        if session.org is None:
            next_url = "/console/orgs"
    else:
        org = await run_in_threadpool(org_for_token, engine, token)
        if org is None:
            return _login_page(
                request,
                "That token is not valid. Use the organization token the administrator gave you "
                "(it starts with the prefix shown when it was created), or the admin token.",
                next_url,
                status.HTTP_401_UNAUTHORIZED,
            )
        session = new_session(admin=False, org=org.slug, token=token)
    response = RedirectResponse(next_url, status_code=status.HTTP_303_SEE_OTHER)
    set_cookie(response, request, COOKIE, sign(session, signing_key(box)), MAX_AGE_S)
    response.delete_cookie(LOGIN_COOKIE, path="/")
    return response


@router.post("/logout")
async def logout(request: Request, user: ConsoleUserDep) -> Response:
    response = RedirectResponse("/login", status_code=status.HTTP_303_SEE_OTHER)
    response.delete_cookie(COOKIE, path="/")
    return response


@router.get("/console/orgs", response_class=HTMLResponse)
async def orgs_page(request: Request, user: ConsoleUserDep, engine: EngineDep) -> Response:
    if not user.admin:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "only the admin manages organizations")
    orgs = await run_in_threadpool(list_orgs, engine)
    return page(request, "orgs.html", user, orgs=orgs, created=None, error=None)


@router.post("/console/orgs", response_class=HTMLResponse)
async def orgs_action(
    request: Request,
    user: ConsoleUserDep,
    engine: EngineDep,
    box: BoxDep,
    action: Annotated[str, Form()] = "select",
    slug: Annotated[str, Form()] = "",
    name: Annotated[str, Form()] = "",
) -> Response:
    """Select an organization to manage, or create one (its token is shown once, right here)."""
    if not user.admin:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "only the admin manages organizations")
    created = None
    error = None
    try:
        clean = normalize_slug(slug)
        if action == "create":
            info, org_token = await run_in_threadpool(create_org, engine, clean, name.strip() or None)
            created = {"slug": info.slug, "token": org_token}
        elif await run_in_threadpool(get_org, engine, clean) is None:
            raise ConfigurationError(
                f"organization {clean!r} does not exist: create it first", setting="slug"
            )
    except (ConfigurationError, OrgExists) as exc:
        error = str(exc)
    if error is not None:
        orgs = await run_in_threadpool(list_orgs, engine)
        return page(request, "orgs.html", user, status_code=422, orgs=orgs, created=None, error=error)
    chosen = Session(
        admin=True,
        org=clean,
        token_hash=user.session.token_hash,
        csrf=user.session.csrf,
        issued_at=user.session.issued_at,
    )
    if created is not None:
        orgs = await run_in_threadpool(list_orgs, engine)
        response: Response = page(
            request, "orgs.html", ConsoleUser(chosen), orgs=orgs, created=created, error=None
        )
    else:
        response = RedirectResponse(HOME, status_code=status.HTTP_303_SEE_OTHER)
    set_cookie(response, request, COOKIE, sign(chosen, signing_key(box)), MAX_AGE_S)
    return response
