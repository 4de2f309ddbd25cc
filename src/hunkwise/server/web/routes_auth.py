"""Sign in (organization token or admin token), sign out, and the admin's organization picker."""

from __future__ import annotations

import hmac
import secrets
from dataclasses import replace
from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from hunkwise.errors import ConfigurationError
from hunkwise.server.deps import EngineDep, RuntimeDep, SettingsDep
from hunkwise.server.routes.orgs import org_burn
from hunkwise.server.signin import count_failure, current_lockout, lockout_message
from hunkwise.server.web.auth import ConsoleUserDep, SessionDep
from hunkwise.server.web.render import page
from hunkwise.server.web.session import COOKIE, LOGIN_COOKIE, MAX_AGE_S, csrf_ok, set_cookie
from hunkwise.store.orgs import OrgExists, create_org, get_org, list_orgs, normalize_slug, token_owner
from hunkwise.store.sessions import admin_fingerprint, end_session, open_session, select_org

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
    locked = await current_lockout(request, settings, engine)
    if locked is not None:
        wait = locked.retry_after()
        message = lockout_message(locked, wait).capitalize() + "."
        refused = _login_page(request, message, next_url, status.HTTP_429_TOO_MANY_REQUESTS)
        refused.headers["Retry-After"] = str(wait)
        return refused
    admin = settings.admin_token.get_secret_value() if settings.admin_token else ""
    if admin and hmac.compare_digest(token.encode(), admin.encode()):
        orgs = await run_in_threadpool(list_orgs, engine)
        chosen = orgs[0] if len(orgs) == 1 else None
        session_id = await run_in_threadpool(
            lambda: open_session(
                engine, admin_fp=admin_fingerprint(admin), org_id=chosen.id if chosen else None
            )
        )
        if chosen is None:
            next_url = "/console/orgs"
    else:
        owner = await run_in_threadpool(token_owner, engine, token)
        if owner is None:
            await count_failure(request, settings, engine)
            return _login_page(
                request,
                "That token is not valid. Use the organization token the administrator gave you "
                "(it starts with hw_org_), or the admin token. A revoked token no longer works.",
                next_url,
                status.HTTP_401_UNAUTHORIZED,
            )
        session_id = await run_in_threadpool(
            lambda: open_session(engine, org_token_id=owner.token_id, org_id=owner.org.id)
        )
    previous = request.cookies.get(COOKIE)
    if previous:  # signing in again replaces the old session instead of leaving it alive
        await run_in_threadpool(end_session, engine, previous)
    response = RedirectResponse(next_url, status_code=status.HTTP_303_SEE_OTHER)
    set_cookie(response, request, COOKIE, session_id, MAX_AGE_S)
    response.delete_cookie(LOGIN_COOKIE, path="/")
    return response


@router.post("/logout")
async def logout(request: Request, user: ConsoleUserDep, engine: EngineDep) -> Response:
    """End the session on the server (the cookie alone would outlive a deleted copy)."""
    await run_in_threadpool(end_session, engine, request.cookies.get(COOKIE, ""))
    response = RedirectResponse("/login", status_code=status.HTTP_303_SEE_OTHER)
    response.delete_cookie(COOKIE, path="/")
    return response


@router.get("/console/orgs", response_class=HTMLResponse)
async def orgs_page(request: Request, user: ConsoleUserDep, runtime: RuntimeDep) -> Response:
    """The admin's organizations, with each one's month against its budget (the same figures
    as ``GET /api/orgs/{org}/budget``)."""
    if not user.admin:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "only the admin manages organizations")
    orgs = await run_in_threadpool(list_orgs, runtime.engine)
    burns = await run_in_threadpool(lambda: [org_burn(runtime, o) for o in orgs])
    return page(request, "orgs.html", user, orgs=orgs, created=None, error=None, burns=burns)


@router.post("/console/orgs", response_class=HTMLResponse)
async def orgs_action(
    request: Request,
    user: ConsoleUserDep,
    engine: EngineDep,
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
        else:
            found = await run_in_threadpool(get_org, engine, clean)
            if found is None:
                raise ConfigurationError(
                    f"organization {clean!r} does not exist: create it first", setting="slug"
                )
            info = found
    except (ConfigurationError, OrgExists) as exc:
        error = str(exc)
    if error is not None:
        orgs = await run_in_threadpool(list_orgs, engine)
        return page(request, "orgs.html", user, status_code=422, orgs=orgs, created=None, error=error)
    await run_in_threadpool(select_org, engine, user.session_id, info.id)
    if created is None:
        return RedirectResponse(HOME, status_code=status.HTTP_303_SEE_OTHER)
    orgs = await run_in_threadpool(list_orgs, engine)
    return page(request, "orgs.html", replace(user, org=info.slug), orgs=orgs, created=created, error=None)
