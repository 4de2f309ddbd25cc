"""An organization's own models (BYOK): save, show (masked), test, delete.

In fixed mode the server's global provider serves everyone: GET shows it read-only and writes
answer 409, so nobody believes they changed a configuration that is not in use.

Named like :mod:`hunkwise.config.byok` on purpose: route modules are named after the resource they
serve; the rules they apply are that module's.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, HTTPException, Response, status
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool

from hunkwise.config.byok import build_org_slot, configure_org, parse_stored_spec
from hunkwise.config.resolve import ResolvedConfig
from hunkwise.config.spec import SlotEntry, SlotInput
from hunkwise.config.ssrf import SsrfPolicy
from hunkwise.errors import ConfigurationError
from hunkwise.gateway import Slot
from hunkwise.server.deps import OrgAccess, RuntimeDep
from hunkwise.server.schemas import (
    ByokIn,
    ByokPublic,
    ByokSlotIn,
    ByokSlotPublic,
    ByokTestPublic,
    DiagnosisPublic,
    PreviewPublic,
)
from hunkwise.store.byok_slots import SlotView, delete_byok, load_byok, save_byok, stored_slots
from hunkwise.store.orgs import get_org
from hunkwise.store.secrets import SecretBox, SecretsError

log = logging.getLogger("hunkwise.server")
router = APIRouter(prefix="/api/orgs/{org}/byok", tags=["byok"])

FIXED_MESSAGE = (
    "this server runs in fixed mode (HUNKWISE_MODEL is set in its environment): one global model "
    "configuration serves every organization and per-organization keys are disabled; ask the "
    "administrator to unset HUNKWISE_MODEL to enable BYOK"
)
_CONFLICT = {409: {"description": "fixed mode: BYOK is read-only"}}


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


def _view_public(view: SlotView, policy: SsrfPolicy) -> ByokSlotPublic:
    data: dict[str, Any] = {"role": view.role, "api_key": _masked(view.key_last4), "config": view.spec}
    try:
        # Shown without decrypting the key: only whether one is stored matters here.
        built = build_org_slot(
            view.role,
            parse_stored_spec(view.role, view.spec),
            None,
            policy=policy,
            at_save=False,
            key_stored=view.has_key,
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


def _reject_in_fixed_mode(runtime: RuntimeDep) -> None:
    if runtime.fixed is not None:
        raise HTTPException(status.HTTP_409_CONFLICT, FIXED_MESSAGE)


@router.get("", response_model=ByokPublic)
async def read(org: OrgAccess, runtime: RuntimeDep) -> ByokPublic:
    """The organization's slots with keys masked (last 4 characters), plus the resolved endpoint,
    concurrency, plan and tier. In fixed mode: the global configuration, read-only."""
    if runtime.fixed is not None:
        return _fixed_public(org, runtime.fixed)
    engine, policy = runtime.engine, runtime.policy

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
async def write(org: OrgAccess, body: ByokIn, runtime: RuntimeDep) -> ByokPublic:
    """Save Main (+ Fallback) for the organization, creating it if needed. A slot without
    ``api_key`` keeps its stored key (same endpoint only). All or nothing."""
    _reject_in_fixed_mode(runtime)
    engine, slots = runtime.engine, _entries(body)
    result = await run_in_threadpool(
        lambda: save_byok(engine, org, slots, box=runtime.box, policy=runtime.policy)
    )
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
async def remove(org: OrgAccess, runtime: RuntimeDep) -> Response:
    """Remove the organization's models and stored keys (the organization and its tokens stay)."""
    _reject_in_fixed_mode(runtime)
    if not await run_in_threadpool(delete_byok, runtime.engine, org):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"organization {org!r} not found")
    log.info("deleted BYOK for %s", org)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


def _entries(body: ByokIn) -> dict[str, SlotEntry | None]:
    """Per role, the settings and the typed key apart (the key already a ``Secret``)."""
    return {"main": body.main.split(), "fallback": body.fallback.split() if body.fallback else None}


def unsaved_slots(
    engine: Engine, org: str, body: ByokIn, *, box: SecretBox, policy: SsrfPolicy
) -> list[Slot]:
    """The slots ``body`` describes, before it is saved, so Test works before Save: validated by
    the same rules as saving (:func:`hunkwise.config.byok.configure_org`), a slot without
    ``api_key`` borrowing the stored key of its role for the same endpoint only. Raises
    :class:`ConfigurationError` with ``setting="<role>.<field>"`` (a 422 naming the field).
    """
    stored = {s.role: s for s in stored_slots(engine, org, box=box) or []}
    built = configure_org(_entries(body), stored, policy=policy, at_save=False)
    return [b.slot for b in built.values()]


@router.post("/preview", response_model=PreviewPublic)
async def preview(org: OrgAccess, body: ByokSlotIn, role: str = "main") -> PreviewPublic:
    """The request body exactly as the gateway will send it for this (unsaved) slot: thinking
    level or custom JSON override applied, wrapped/unwrapped under the provider's namespace.

    Nothing is sent and no key is needed; the endpoint's address is not checked here (saving
    does that), so a preview never waits on DNS.
    """
    return preview_slot(body, role=role)


def preview_slot(item: SlotInput, *, role: str = "main") -> PreviewPublic:
    """Shared by the JSON API and the web console. Raises :class:`ConfigurationError` (-> 422)."""
    from hunkwise.catalog.loader import load_catalog
    from hunkwise.config.slots import plan_slot
    from hunkwise.gateway import preview_request_body

    if role not in ("main", "fallback"):
        raise ConfigurationError(f"unknown slot {role!r}: use main or fallback", setting="role")
    spec = item.split().spec
    catalog = load_catalog()
    # The body does not depend on the key or on where it is read from; plain http is saving's to judge.
    spec = spec.model_copy(update={"api_key_env": None, "allow_http": True})
    slot = plan_slot(spec, name=role, catalog=catalog)
    provider = catalog.providers.get(slot.provider)
    return PreviewPublic(
        provider=slot.provider,
        namespace=provider.namespace if provider else slot.provider,
        model=slot.model,
        base_url=slot.base_url,
        body=preview_request_body(slot),
    )


@router.post("/test", response_model=ByokTestPublic)
async def test(org: OrgAccess, runtime: RuntimeDep, body: ByokIn | None = None) -> ByokTestPublic:
    """Send one tiny request per slot and diagnose the answers (the same checks as ``hunkwise test``).

    Without a body the stored configuration is tested. With a body (the ``PUT`` shape) that
    configuration is tested *before* saving; a slot without ``api_key`` uses the stored key of
    the same role when the endpoint's host is unchanged."""
    from hunkwise.gateway import probe_slots

    if body is not None:
        _reject_in_fixed_mode(runtime)
    engine, resolver = runtime.engine, runtime.slots

    def resolve() -> tuple[bool, list[Slot]]:
        if resolver.fixed is None and get_org(engine, org) is None:
            return False, []
        if body is not None:
            return True, unsaved_slots(engine, org, body, box=runtime.box, policy=runtime.policy)
        return True, resolver.slots_for(org)

    try:
        exists, slots = await run_in_threadpool(resolve)
    except ConfigurationError as exc:
        if isinstance(exc, SecretsError) or body is not None:
            raise  # an unsaved configuration's mistakes are 422s naming the field
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
    # BYOK slots connect through the SSRF guard (the dialled address is re-checked).
    pool = resolver.clients()
    try:
        diagnoses = await probe_slots(slots, clients=pool)
    finally:
        if pool is not None:
            await pool.aclose()
    return ByokTestPublic(
        org=org,
        mode=resolver.mode,
        ok=all(d.ok for d in diagnoses),
        diagnoses=[DiagnosisPublic(**d.as_dict()) for d in diagnoses],
    )
