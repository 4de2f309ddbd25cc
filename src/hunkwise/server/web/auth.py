"""Who is using the console, decided once per request (the pages never look at cookies).

``ConsoleUserDep`` is for pages: no valid session redirects to the sign-in page.
``ConsoleApiDep`` is for the console's own fetch endpoints: it answers 401/403 as JSON and
requires the CSRF header on every state-changing method.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, HTTPException, Request, status
from starlette.concurrency import run_in_threadpool

from hunkwise.config.settings import Settings
from hunkwise.server.deps import EngineDep, SettingsDep
from hunkwise.server.web.session import COOKIE, CSRF_HEADER, csrf_for, csrf_ok
from hunkwise.store.sessions import admin_fingerprint, load_session

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


@dataclass(frozen=True)
class ConsoleUser:
    """A signed-in console user: the admin (``org``: the organization being managed, possibly
    None until one is picked) or one organization, signed in with token ``org_token_id``."""

    session_id: int
    admin: bool
    org: str | None
    org_token_id: int | None
    csrf: str


class NeedsSignIn(Exception):
    """Raised by the page dependency; the web router turns it into a redirect to /login."""

    def __init__(self, next_url: str) -> None:
        super().__init__(next_url)
        self.next_url = next_url


def current_admin_fp(settings: Settings) -> str | None:
    return admin_fingerprint(settings.admin_token.get_secret_value()) if settings.admin_token else None


async def read_session(request: Request, settings: SettingsDep, engine: EngineDep) -> ConsoleUser | None:
    raw = request.cookies.get(COOKIE)
    if not raw:
        return None
    found = await run_in_threadpool(lambda: load_session(engine, raw, admin_fp=current_admin_fp(settings)))
    if found is None:
        return None
    return ConsoleUser(
        session_id=found.id,
        admin=found.admin,
        org=found.org,
        org_token_id=found.org_token_id,
        csrf=csrf_for(raw),
    )


SessionDep = Annotated[ConsoleUser | None, Depends(read_session)]


async def console_user(request: Request, user: SessionDep) -> ConsoleUser:
    if user is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise NeedsSignIn(f"/login?next={quote(target, safe='')}")
    if request.method not in SAFE_METHODS:
        form = await request.form()
        given = form.get("csrf")
        if not csrf_ok(user.csrf, given if isinstance(given, str) else None):
            raise HTTPException(
                status.HTTP_403_FORBIDDEN, "the form's security token is missing or stale: reload the page"
            )
    return user


async def console_api_user(request: Request, user: SessionDep) -> ConsoleUser:
    if user is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "your console session has ended: sign in again")
    if request.method not in SAFE_METHODS and not csrf_ok(user.csrf, request.headers.get(CSRF_HEADER)):
        raise HTTPException(
            status.HTTP_403_FORBIDDEN, f"missing or wrong {CSRF_HEADER} header: reload the page and retry"
        )
    return user


ConsoleUserDep = Annotated[ConsoleUser, Depends(console_user)]
ConsoleApiDep = Annotated[ConsoleUser, Depends(console_api_user)]
