"""The GitHub page: the organization's GitHub App installations, their repositories, and a
button per repository that turns its reviews off or on.

Over the same store functions as the JSON API (``/api/orgs/{org}/github/...``,
server/routes/installations.py); the form carries the console's CSRF token like every other.
"""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from hunkwise.platforms import identity
from hunkwise.platforms.identity import IdentityError
from hunkwise.server.deps import RuntimeDep
from hunkwise.server.web.auth import ConsoleUser, ConsoleUserDep
from hunkwise.server.web.render import page
from hunkwise.store import github_installations as store

router = APIRouter(include_in_schema=False)
log = logging.getLogger("hunkwise.server")
PATH = "/console/github"


async def _render(
    request: Request, user: ConsoleUser, runtime: Any, status_code: int = 200, error: str | None = None
) -> Response:
    installations = await run_in_threadpool(store.installations_of, runtime.engine, user.org)
    return page(
        request, "github.html", user, status_code=status_code, installations=installations,
        app_mode=runtime.github_clients().app is not None, error=error,
    )  # fmt: skip


@router.get(PATH, response_class=HTMLResponse)
async def github_page(request: Request, user: ConsoleUserDep, runtime: RuntimeDep) -> Response:
    if user.org is None:
        return RedirectResponse("/console/orgs", status_code=status.HTTP_303_SEE_OTHER)
    return await _render(request, user, runtime)


@router.post(PATH, response_class=HTMLResponse)
async def github_action(
    request: Request,
    user: ConsoleUserDep,
    runtime: RuntimeDep,
    repository: Annotated[str, Form(max_length=300)] = "",
    enabled: Annotated[str, Form()] = "",
) -> Response:
    if user.org is None:
        return RedirectResponse("/console/orgs", status_code=status.HTTP_303_SEE_OTHER)
    try:
        owner, name = identity.github_repository(repository, "repository")
    except IdentityError:
        return await _render(request, user, runtime, 422, error="Choose a repository to change.")
    if enabled not in ("true", "false"):
        return await _render(request, user, runtime, 422, error="Choose whether to turn reviews on or off.")
    full_name, on = f"{owner}/{name}", enabled == "true"
    found = await run_in_threadpool(store.set_repository_enabled, runtime.engine, user.org, full_name, on)
    if found is None:
        error = f"No installation of {user.org} has repository {full_name}."
        return await _render(request, user, runtime, 404, error=error)
    who = "the admin (console)" if user.admin else f"token {user.org_token_id} of {user.org} (console)"
    log.info(
        "organization %s: reviews of %s turned %s by %s", user.org, full_name, "on" if on else "off", who
    )
    return RedirectResponse(PATH, status_code=status.HTTP_303_SEE_OTHER)
