"""The Tokens page: list, create (shown once) and revoke the organization's API tokens.

Plain forms with the session's CSRF token, over the same store functions as the JSON API
(``/api/orgs/{org}/tokens``), with the same rules: the last working token is only revoked with
an explicit confirmation, and revoking the token this session was opened with signs it out.
"""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from hunkwise.server.deps import EngineDep
from hunkwise.server.web.auth import ConsoleUser, ConsoleUserDep
from hunkwise.server.web.render import page
from hunkwise.server.web.session import COOKIE
from hunkwise.store.orgs import LastActiveToken, create_token, list_tokens, revoke_token

router = APIRouter(include_in_schema=False)
log = logging.getLogger("hunkwise.server")
PATH = "/console/tokens"


def _who(user: ConsoleUser) -> str:
    return "the admin (console)" if user.admin else f"token {user.org_token_id} of {user.org} (console)"


async def _render(
    request: Request, user: ConsoleUser, engine: Any, status_code: int = 200, **context: Any
) -> Response:
    assert user.org is not None
    tokens = await run_in_threadpool(list_tokens, engine, user.org)
    if tokens is None:  # the organization was deleted under us
        return RedirectResponse("/console/orgs", status_code=status.HTTP_303_SEE_OTHER)
    context.setdefault("created", None)
    context.setdefault("error", None)
    return page(request, "tokens.html", user, status_code=status_code, tokens=tokens, **context)


@router.get(PATH, response_class=HTMLResponse)
async def tokens_page(request: Request, user: ConsoleUserDep, engine: EngineDep) -> Response:
    if user.org is None:
        return RedirectResponse("/console/orgs", status_code=status.HTTP_303_SEE_OTHER)
    return await _render(request, user, engine)


@router.post(PATH, response_class=HTMLResponse)
async def tokens_action(
    request: Request,
    user: ConsoleUserDep,
    engine: EngineDep,
    action: Annotated[str, Form()] = "",
    label: Annotated[str, Form(max_length=200)] = "",
    token_id: Annotated[int | None, Form()] = None,
    confirm_last: Annotated[str, Form()] = "",
) -> Response:
    if user.org is None:
        return RedirectResponse("/console/orgs", status_code=status.HTTP_303_SEE_OTHER)
    org = user.org
    if action == "create":
        made = await run_in_threadpool(create_token, engine, org, label)
        if made is None:
            return RedirectResponse("/console/orgs", status_code=status.HTTP_303_SEE_OTHER)
        info, token = made
        log.info("organization %s: token %d created by %s", org, info.id, _who(user))
        return await _render(
            request, user, engine, created={"token": token, "label": info.label, "id": info.id}
        )
    if action != "revoke" or token_id is None:
        return await _render(request, user, engine, 422, error="Choose a token to revoke, or create one.")
    try:
        done = await run_in_threadpool(
            lambda: revoke_token(engine, org, token_id, allow_last=confirm_last == "yes")
        )
    except LastActiveToken as exc:
        return await _render(
            request, user, engine, status.HTTP_409_CONFLICT, error=f"{exc}: tick the box to confirm."
        )
    if done is None:
        return await _render(request, user, engine, 404, error=f"{org} has no token #{token_id}.")
    if done[1]:
        log.info("organization %s: token %d revoked by %s", org, token_id, _who(user))
    if token_id == user.org_token_id:  # this session was opened with it: it has just ended
        signed_out = RedirectResponse("/login", status_code=status.HTTP_303_SEE_OTHER)
        signed_out.delete_cookie(COOKIE, path="/")
        return signed_out
    return RedirectResponse(PATH, status_code=status.HTTP_303_SEE_OTHER)
