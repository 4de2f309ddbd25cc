"""Who is using the console, decided once per request (the pages never look at cookies).

``ConsoleUserDep`` is for pages: no valid session redirects to the sign-in page.
``ConsoleApiDep`` is for the console's own fetch endpoints: it answers 401/403 as JSON and
requires the CSRF header on every state-changing method.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, HTTPException, Request, status
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from hunkwise.server.deps import BoxDep, EngineDep, SettingsDep
from hunkwise.server.web.session import COOKIE, CSRF_HEADER, Session, csrf_ok, signing_key, unsign
from hunkwise.store.db import use_session
from hunkwise.store.models import Organization, OrgToken

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


@dataclass(frozen=True)
class ConsoleUser:
    session: Session

    @property
    def admin(self) -> bool:
        return self.session.admin

    @property
    def org(self) -> str | None:
        return self.session.org

    @property
    def csrf(self) -> str:
        return self.session.csrf


class NeedsSignIn(Exception):
    """Raised by the page dependency; the web router turns it into a redirect to /login."""

    def __init__(self, next_url: str) -> None:
        super().__init__(next_url)
        self.next_url = next_url


def _token_still_valid(engine: object, session: Session, admin_token: str) -> bool:
    if session.admin:
        current = hashlib.sha256(admin_token.encode()).hexdigest() if admin_token else ""
        return bool(current) and hmac.compare_digest(current, session.token_hash)
    with use_session(engine) as db:  # type: ignore[arg-type]
        found = db.scalar(
            select(OrgToken.id)
            .join(Organization)
            .where((OrgToken.token_hash == session.token_hash) & (Organization.slug == session.org))
        )
    return found is not None


async def read_session(
    request: Request, settings: SettingsDep, engine: EngineDep, box: BoxDep
) -> Session | None:
    raw = request.cookies.get(COOKIE)
    if not raw:
        return None
    session = unsign(raw, signing_key(box))
    if session is None:
        return None
    admin = settings.admin_token.get_secret_value() if settings.admin_token else ""
    if not await run_in_threadpool(_token_still_valid, engine, session, admin):
        return None
    return session


SessionDep = Annotated[Session | None, Depends(read_session)]


async def console_user(request: Request, session: SessionDep) -> ConsoleUser:
    if session is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise NeedsSignIn(f"/login?next={quote(target, safe='')}")
    if request.method not in SAFE_METHODS:
        form = await request.form()
        given = form.get("csrf")
        if not csrf_ok(session.csrf, given if isinstance(given, str) else None):
            raise HTTPException(
                status.HTTP_403_FORBIDDEN, "the form's security token is missing or stale: reload the page"
            )
    return ConsoleUser(session)


async def console_api_user(request: Request, session: SessionDep) -> ConsoleUser:
    if session is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "your console session has ended: sign in again")
    if request.method not in SAFE_METHODS and not csrf_ok(session.csrf, request.headers.get(CSRF_HEADER)):
        raise HTTPException(
            status.HTTP_403_FORBIDDEN, f"missing or wrong {CSRF_HEADER} header: reload the page and retry"
        )
    return ConsoleUser(session)


ConsoleUserDep = Annotated[ConsoleUser, Depends(console_user)]
ConsoleApiDep = Annotated[ConsoleUser, Depends(console_api_user)]
