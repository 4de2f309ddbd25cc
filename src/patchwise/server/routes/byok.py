"""An organization's own models (BYOK): save, show (masked), test, delete.

In fixed mode the server's global provider serves everyone: GET shows it read-only and writes
answer 409, so nobody believes they changed a configuration that is not in use.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, HTTPException, Response, status
from starlette.concurrency import run_in_threadpool

from patchwise.config.byok import build_org_slot
from patchwise.config.resolve import ResolvedConfig
from patchwise.config.spec import SlotSpec
from patchwise.gateway.errors import ConfigurationError
from patchwise.gateway.types import Secret, Slot
from patchwise.server.deps import BoxDep, EngineDep, OrgAccess, PolicyDep, SettingsDep
from patchwise.server.schemas import ByokIn, ByokPublic, ByokSlotPublic, ByokTestPublic, DiagnosisPublic
from patchwise.store.byok import SlotView, delete_byok, load_byok, save_byok, slots_for_org
from patchwise.store.orgs import get_org
from patchwise.store.secrets import SecretsError

log = logging.getLogger("patchwise.server")
router = APIRouter(prefix="/api/orgs/{org}/byok", tags=["byok"])

FIXED_MESSAGE = (
    "this server runs in fixed mode (PATCHWISE_MODEL is set in its environment): one global model "
    "configuration serves every organization and per-organization keys are disabled; ask the "
    "administrator to unset PATCHWISE_MODEL to enable BYOK"
)
_CONFLICT = {409: {"description": "fixed mode: BYOK is read-only"}}
# Resolves a stored slot for display without decrypting its key: only the key's presence matters.
_DISPLAY_KEY = Secret("display-only-placeholder")


def _resolved(slot: Slot) -> dict[str, Any]:
    return {
        "provider": slot.provider,
        "model": slot.model,
        "base_url": slot.base_url,
        "plan": slot.plan,
        "tier": slot.tier,
        "max_concurrent": slot.max_concurrent,
        "context_window": slot.context_window,
    }


def _masked(last4: str | None) -> str:
    return f"••••{last4}" if last4 else "••••"


def _view_public(view: SlotView, policy: PolicyDep) -> ByokSlotPublic:
    data: dict[str, Any] = {"role": view.role, "api_key": _masked(view.key_last4), "config": view.spec}
    try:
        built = build_org_slot(
            view.role,
            SlotSpec.model_validate(view.spec),
            _DISPLAY_KEY if view.has_key else None,
            policy=policy,
            at_save=False,
        )
        data.update(_resolved(built.slot), notes=built.notes)
    except ConfigurationError as exc:
        data["error"] = str(exc)
    return ByokSlotPublic(**data, updated_at=view.updated_at)


def _fixed_public(org: str, fixed: ResolvedConfig) -> ByokPublic:
    out = ByokPublic(org=org, mode="fixed", read_only=True, message=FIXED_MESSAGE, warnings=list(fixed.notes))
    for slot in fixed.slots[:2]:
        public = ByokSlotPublic(
            role="main" if slot.name == "main" else "fallback",
            api_key=slot.api_key.masked(),
            config={},
            **_resolved(slot),
        )
        setattr(out, public.role, public)
    return out


def _reject_in_fixed_mode(settings: SettingsDep) -> None:
    if settings.fixed() is not None:
        raise HTTPException(status.HTTP_409_CONFLICT, FIXED_MESSAGE)


@router.get("", response_model=ByokPublic)
async def read(org: OrgAccess, engine: EngineDep, settings: SettingsDep, policy: PolicyDep) -> ByokPublic:
    """The organization's slots with keys masked (last 4 characters), plus the resolved endpoint,
    concurrency, plan and tier. In fixed mode: the global configuration, read-only."""
    fixed = settings.fixed()
    if fixed is not None:
        return _fixed_public(org, fixed)

    def load() -> ByokPublic | None:
        views = load_byok(engine, org)
        if views is None:
            return None
        out = ByokPublic(org=org, mode="byok")
        for view in views:
            setattr(out, view.role, _view_public(view, policy))
        if not views:
            out.message = f"no models configured yet: PUT /api/orgs/{org}/byok"
        return out

    result = await run_in_threadpool(load)
    if result is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"organization {org!r} not found")
    return result


@router.put("", response_model=ByokPublic, responses=_CONFLICT)
async def write(
    org: OrgAccess, body: ByokIn, engine: EngineDep, settings: SettingsDep, box: BoxDep, policy: PolicyDep
) -> ByokPublic:
    """Save Main (+ Fallback) for the organization, creating it if needed. A slot without
    ``api_key`` keeps its stored key (same endpoint only). All or nothing."""
    _reject_in_fixed_mode(settings)
    slots: dict[str, SlotSpec | None] = {"main": body.main, "fallback": body.fallback}
    result = await run_in_threadpool(lambda: save_byok(engine, org, slots, box=box, policy=policy))
    log.info(
        "saved BYOK for %s: %s",
        org,
        ", ".join(f"{role}={b.slot.provider}/{b.slot.model}" for role, b in result.built.items()),
    )
    views = {v.role: v for v in await run_in_threadpool(load_byok, engine, org) or []}
    out = ByokPublic(org=org, mode="byok")
    for role, built in result.built.items():
        view = views[role]
        public = ByokSlotPublic(
            role=role,  # type: ignore[arg-type]
            api_key=_masked(view.key_last4),
            config=view.spec,
            notes=built.notes,
            updated_at=view.updated_at,
            **_resolved(built.slot),
        )
        setattr(out, role, public)
        out.warnings.extend(built.warnings)
    return out


@router.delete("", status_code=status.HTTP_204_NO_CONTENT, responses=_CONFLICT)
async def remove(org: OrgAccess, engine: EngineDep, settings: SettingsDep) -> Response:
    """Remove the organization's models and stored keys (the organization and its tokens stay)."""
    _reject_in_fixed_mode(settings)
    if not await run_in_threadpool(delete_byok, engine, org):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"organization {org!r} not found")
    log.info("deleted BYOK for %s", org)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/test", response_model=ByokTestPublic)
async def test(
    org: OrgAccess, engine: EngineDep, settings: SettingsDep, box: BoxDep, policy: PolicyDep
) -> ByokTestPublic:
    """Send one tiny request per slot and diagnose the answers (the same checks as ``patchwise test``)."""
    from patchwise.gateway.probe import probe_slots

    def resolve() -> tuple[bool, list[Slot]]:
        if settings.fixed() is None and get_org(engine, org) is None:
            return False, []
        return True, slots_for_org(engine, org, env=settings.env, box=box, policy=policy)

    try:
        exists, slots = await run_in_threadpool(resolve)
    except ConfigurationError as exc:
        if isinstance(exc, SecretsError):
            raise
        raise HTTPException(
            status.HTTP_409_CONFLICT, f"the stored configuration cannot be used right now: {exc}"
        ) from None
    if not exists:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"organization {org!r} not found")
    if not slots:
        raise HTTPException(
            status.HTTP_409_CONFLICT,
            f"organization {org!r} has no models configured: PUT /api/orgs/{org}/byok first",
        )
    diagnoses = await probe_slots(slots)
    mode = "fixed" if settings.fixed() is not None else "byok"
    return ByokTestPublic(
        org=org,
        mode=mode,
        ok=all(d.ok for d in diagnoses),
        diagnoses=[DiagnosisPublic(**d.as_dict()) for d in diagnoses],
    )
