"""Connection test: one tiny request per slot, and a diagnosis a person can act on.

The CLI (``hunkwise test``) and the web console print these same sentences, so the wording is
part of the contract: ``summary`` is one line, ``advice`` the lines that say what to change.
A probe bypasses the router on purpose: no retries, no failover, no circuits, so what it reports
is this slot's own state.

Named like :mod:`hunkwise.cli.probe` on purpose: that module is the CLI command over this probe.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Callable, Sequence
from typing import Any

from hunkwise.catalog.loader import load_catalog
from hunkwise.errors import ConfigurationError
from hunkwise.gateway.adapters import ClientPool, adapter_for
from hunkwise.gateway.errors import ErrorKind, ProviderError
from hunkwise.gateway.probe_text import advise
from hunkwise.gateway.thinking import profile_for
from hunkwise.gateway.types import ChatRequest, Slot

PROBE_OUTPUT_TOKENS = 16
PROBE_PROMPT = "Reply with the single word: ok"


@dataclasses.dataclass(slots=True)
class Diagnosis:
    """One slot's probe outcome in the words the CLI and the console both print,
    so the advice is the same everywhere.
    """

    slot: str  # the slot's label
    ok: bool
    kind: str | None = None  # an ErrorKind value, or "configuration"
    status: int | None = None
    code: str | None = None
    latency_ms: float = 0.0
    provider_message: str = ""
    summary: str = ""
    advice: list[str] = dataclasses.field(default_factory=list)
    detected_plan: str | None = None
    reset_at: str | None = None  # ISO 8601, UTC
    suggestions: list[str] = dataclasses.field(default_factory=list)
    name: str = ""
    provider: str = ""
    model: str = ""

    def as_dict(self) -> dict[str, Any]:
        """The JSON shape of a diagnosis for ``hunkwise test --json`` and the console's Test button."""
        data = dataclasses.asdict(self)
        data["latency_ms"] = round(self.latency_ms, 1)
        return data


def _probe_copy(slot: Slot, timeout_s: float) -> Slot:
    """The slot as probed: thinking off (a few output tokens must suffice) and a short timeout.

    The user's custom override is validated before this but not sent: a budget meant for a real
    review would not fit in a probe's few tokens.
    """
    return dataclasses.replace(
        slot,
        thinking="off",
        max_output_tokens=PROBE_OUTPUT_TOKENS,
        timeout_s=min(slot.timeout_s, timeout_s),
    )


async def _call(slot: Slot, clients: ClientPool, timeout_s: float) -> tuple[ProviderError | None, float, str]:
    """One request; returns the error (or None), the latency in ms and the answering model."""
    probe = _probe_copy(slot, timeout_s)
    profile = profile_for(probe)
    clients.warm(profile.wire, probe)
    started = time.perf_counter()
    try:
        async with asyncio.timeout(timeout_s + 1.0):
            result = await adapter_for(profile.wire, clients).chat(
                probe, ChatRequest.of(PROBE_PROMPT, purpose="probe"), profile
            )
    except ProviderError as err:
        return err, (time.perf_counter() - started) * 1000, slot.model
    except TimeoutError:
        err = ProviderError(
            ErrorKind.TIMEOUT,
            f"no answer within {timeout_s:g} s from {slot.base_url}",
            provider=slot.provider,
            model=slot.model,
            slot=slot.name,
        )
        return err, (time.perf_counter() - started) * 1000, slot.model
    return None, (time.perf_counter() - started) * 1000, result.model


def other_plan_url(base_url: str) -> tuple[str, str] | None:
    """The same host with the other Z.AI plan's path, and that plan's id; None for non-plan URLs."""
    catalog = load_catalog()
    plan = catalog.plan_for_url(base_url)
    if plan is None:
        return None
    other = next(p for p in catalog.plans.values() if p.id != plan.id and p.provider == plan.provider)
    trimmed = base_url.rstrip("/")
    return trimmed[: len(trimmed) - len(plan.path)] + other.path, other.id


async def probe_slot(
    slot: Slot,
    *,
    timeout_s: float = 15.0,
    clients: ClientPool | None = None,
    fallback: str | None = None,
    clock: Callable[[], float] | None = None,
) -> Diagnosis:
    """Probe one slot. ``fallback`` is the label of the slot that would serve if this one can't."""
    own = clients is None
    pool = clients if clients is not None else ClientPool()
    base = Diagnosis(slot=slot.label, ok=False, name=slot.name, provider=slot.provider, model=slot.model)
    plan = load_catalog().plan_for_url(slot.base_url) if slot.provider == "zai" else None
    base.detected_plan = plan.id if plan else None
    try:
        try:
            profile_for(slot)  # the real configuration, override included, must be valid
        except ConfigurationError as exc:
            base.kind = "configuration"
            base.provider_message = str(exc)
            base.summary = f"{slot.label}: invalid configuration: {exc}"
            base.advice = ["Fix the setting named above; nothing was sent to the provider."]
            return base
        err, latency, model = await _call(slot, pool, timeout_s)
        base.latency_ms = latency
        if err is None:
            base.ok = True
            base.summary = f"{slot.label}: OK, {model} answered in {latency:.0f} ms"
            return base
        base.kind, base.status, base.code = err.kind.value, err.status, err.code
        base.provider_message = err.message
        base.reset_at = err.reset_at.isoformat(timespec="seconds") if err.reset_at else None
        other_result: tuple[str, bool] | None = None
        if err.kind is ErrorKind.AUTH and slot.provider == "zai":
            other = other_plan_url(slot.base_url)
            if other is not None:
                other_err, _, _ = await _call(dataclasses.replace(slot, base_url=other[0]), pool, timeout_s)
                accepted = other_err is None or other_err.kind is not ErrorKind.AUTH
                other_result = (other[1], accepted)
                if accepted:
                    base.detected_plan = other[1]
        advise(base, slot, err, fallback=fallback, other_plan=other_result, now=(clock or time.time)())
        return base
    finally:
        if own:
            await pool.aclose()


async def probe_slots(
    slots: Sequence[Slot],
    *,
    timeout_s: float = 15.0,
    clients: ClientPool | None = None,
    clock: Callable[[], float] | None = None,
) -> list[Diagnosis]:
    """Probe every slot concurrently; each learns which slot would take over from it."""
    own = clients is None
    pool = clients if clients is not None else ClientPool()
    try:
        labels = [s.label for s in slots]
        return list(
            await asyncio.gather(
                *(
                    probe_slot(
                        s,
                        timeout_s=timeout_s,
                        clients=pool,
                        fallback=labels[i + 1] if i + 1 < len(slots) else None,
                        clock=clock,
                    )
                    for i, s in enumerate(slots)
                )
            )
        )
    finally:
        if own:
            await pool.aclose()
