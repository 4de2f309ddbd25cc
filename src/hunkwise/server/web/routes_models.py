"""The Models page (BYOK) and the three calls its script makes: save, test, preview.

The calls reuse the JSON API's route functions (:mod:`hunkwise.server.routes.byok`) with the
console session standing in for the Bearer token, so validation, key handling, fixed-mode
refusal and the 422 ``loc`` shapes are the API's, byte for byte.
"""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from hunkwise.server.deps import BoxDep, EngineDep, PolicyDep, SettingsDep
from hunkwise.server.routes import byok as api
from hunkwise.server.schemas import ByokIn, ByokPublic, ByokSlotIn, ByokTestPublic, PreviewPublic
from hunkwise.server.web.auth import ConsoleApiDep, ConsoleUser, ConsoleUserDep
from hunkwise.server.web.models_view import models_state
from hunkwise.server.web.render import page

router = APIRouter(include_in_schema=False)


def _org(user: ConsoleUser) -> str:
    if user.org is None:
        raise HTTPException(status.HTTP_409_CONFLICT, "choose an organization first (Organizations page)")
    return user.org


@router.get("/console/models", response_class=HTMLResponse)
async def models_page(
    request: Request, user: ConsoleUserDep, engine: EngineDep, settings: SettingsDep, policy: PolicyDep
) -> Response:
    if user.org is None:
        return RedirectResponse("/console/orgs", status_code=status.HTTP_303_SEE_OTHER)
    byok = await api.read(user.org, engine, settings, policy)
    return page(request, "models.html", user, byok=byok, state=models_state(byok))


@router.put("/console/api/byok", response_model=ByokPublic)
async def save(
    body: ByokIn,
    user: ConsoleApiDep,
    engine: EngineDep,
    settings: SettingsDep,
    box: BoxDep,
    policy: PolicyDep,
) -> ByokPublic:
    return await api.write(_org(user), body, engine, settings, box, policy)


@router.post("/console/api/byok/test", response_model=ByokTestPublic)
async def test(
    user: ConsoleApiDep,
    engine: EngineDep,
    settings: SettingsDep,
    box: BoxDep,
    policy: PolicyDep,
    body: ByokIn | None = None,
) -> ByokTestPublic:
    """Test what is on the screen (saved or not); in fixed mode, the server's own models."""
    fixed = settings.fixed() is not None
    return await api.test(_org(user), engine, settings, box, policy, None if fixed else body)


@router.post("/console/api/byok/preview", response_model=PreviewPublic)
async def preview(body: ByokSlotIn, user: ConsoleApiDep, role: str = "main") -> PreviewPublic:
    _org(user)
    return api.preview_slot(body, role=role)
