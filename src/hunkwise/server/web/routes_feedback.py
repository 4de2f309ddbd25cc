"""The Feedback page: acceptance rates of hunkwise's comments, demotions and their undoing.

Over the same store functions as the JSON API (``/api/orgs/{org}/feedback``): a demoted category
or path pattern shows why (accepted of samples, the threshold) and a button that keeps it
inline; an override shows a button that gives the decision back to the rate. Visible and
reversible, never silent (docs/conversation.md).
"""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from hunkwise.server.deps import RuntimeDep
from hunkwise.server.web.auth import ConsoleUser, ConsoleUserDep
from hunkwise.server.web.render import page
from hunkwise.store import feedback as store

router = APIRouter(include_in_schema=False)
log = logging.getLogger("hunkwise.server")
PATH = "/console/feedback"


async def _render(
    request: Request, user: ConsoleUser, runtime: Any, status_code: int = 200, **context: Any
) -> Response:
    settings = runtime.settings
    rates = await run_in_threadpool(
        lambda: store.rates(
            runtime.engine,
            org=user.org,
            threshold=settings.feedback_threshold,
            min_samples=settings.feedback_min_samples,
        )
    )
    context.setdefault("error", None)
    return page(
        request, "feedback.html", user, status_code=status_code, rates=rates,
        threshold=settings.feedback_threshold, min_samples=settings.feedback_min_samples, **context,
    )  # fmt: skip


@router.get(PATH, response_class=HTMLResponse)
async def feedback_page(request: Request, user: ConsoleUserDep, runtime: RuntimeDep) -> Response:
    if user.org is None:
        return RedirectResponse("/console/orgs", status_code=status.HTTP_303_SEE_OTHER)
    return await _render(request, user, runtime)


@router.post(PATH, response_class=HTMLResponse)
async def feedback_action(
    request: Request,
    user: ConsoleUserDep,
    runtime: RuntimeDep,
    action: Annotated[str, Form()] = "",
    repository: Annotated[str, Form(max_length=300)] = "",
    kind: Annotated[str, Form()] = "",
    value: Annotated[str, Form(max_length=1000)] = "",
) -> Response:
    if user.org is None:
        return RedirectResponse("/console/orgs", status_code=status.HTTP_303_SEE_OTHER)
    if action not in ("undemote", "redemote") or kind not in store.KINDS or not value:
        return await _render(request, user, runtime, 422, error="Choose a category or path to change.")
    org = user.org
    if action == "undemote":
        who = "the admin (console)" if user.admin else f"token {user.org_token_id} of {org} (console)"
        await run_in_threadpool(
            lambda: store.undemote(
                runtime.engine, org=org, repository=repository, kind=kind, value=value, created_by=who
            )  # type: ignore[arg-type]
        )
        log.info("organization %s: %s %r un-demoted in %r by %s", org, kind, value, repository, who)
    else:
        await run_in_threadpool(
            lambda: store.redemote(runtime.engine, org=org, repository=repository, kind=kind, value=value)  # type: ignore[arg-type]
        )
    return RedirectResponse(PATH, status_code=status.HTTP_303_SEE_OTHER)
