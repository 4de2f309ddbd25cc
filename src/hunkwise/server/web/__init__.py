"""The web console: server-rendered pages over the same functions as the JSON API.

``install(app)`` is called by :func:`hunkwise.server.app.create_app`, after the API's routers. Pages
need a console session (:mod:`.session`); a page request without one is redirected to
``/login``. Modules: ``session`` (opaque cookie, CSRF), ``auth`` (dependencies), ``render``
(templates, formatting), ``routes_*`` (pages and the Models page's calls), ``*_view`` (what a
page shows, read from the catalog and the store), ``charts`` (SVG).
"""

from __future__ import annotations

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import RedirectResponse, Response

from hunkwise.server.web import (
    routes_auth,
    routes_feedback,
    routes_github,
    routes_models,
    routes_pages,
    routes_tokens,
)
from hunkwise.server.web.auth import NeedsSignIn

router = APIRouter(include_in_schema=False)
router.include_router(routes_auth.router)
router.include_router(routes_models.router)
router.include_router(routes_pages.router)
router.include_router(routes_tokens.router)
router.include_router(routes_feedback.router)
router.include_router(routes_github.router)


async def _to_login(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, NeedsSignIn)
    return RedirectResponse(exc.next_url, status_code=303)


def install(app: FastAPI) -> None:
    """Mount the console on ``app``: its pages and the sign-in redirect."""
    app.include_router(router)
    app.add_exception_handler(NeedsSignIn, _to_login)


__all__ = ["install", "router"]
