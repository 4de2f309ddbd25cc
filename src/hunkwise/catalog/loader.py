"""Typed access to the packaged catalog (``data/catalog.toml``).

The catalog is read once per process and is immutable afterwards; user overrides produce a new
``Catalog`` via :meth:`Catalog.with_overrides` rather than mutating the shared one, so two
configurations in one process (two organizations on a server) never see each other's prices.
"""

from __future__ import annotations

import difflib
import tomllib
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from importlib import resources
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field

Wire = Literal["openai", "anthropic"]
ThinkingStyle = Literal["toggle", "effort", "budget", "none"]
PlanName = Literal["developer", "coding"]
TierName = Literal["lite", "pro", "max"]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Provider(_Frozen):
    id: str
    display_name: str
    wire: Wire
    namespace: str
    default_base_url: str
    key_env: str = ""
    docs: str = ""


class Plan(_Frozen):
    id: PlanName
    provider: str
    display_name: str
    description: str
    base_url: str
    path: str
    billing: Literal["per_token", "subscription"]
    default_max_concurrent: int | None = None
    default_tier: TierName | None = None


class Tier(_Frozen):
    id: TierName
    display_name: str
    price_usd_month: float
    api_value_multiple: float
    max_concurrent: int
    prompts_5h: int
    prompts_week: int
    source: str
    source_date: str = ""  # when the fee and the ceilings were read (YYYY-MM-DD)


def price_usd(
    input_tokens: int,
    output_tokens: int,
    *,
    input_price: float,
    output_price: float,
    cached_tokens: int = 0,
    cached_input_price: float | None = None,
) -> float:
    """The one pricing rule (USD; prices per 1M tokens), shared by the gateway's per-call cost, the
    simulator's bill and the plan advisor, so their totals agree.

    ``input_tokens`` includes the cached part (OpenAI/Z.AI ``prompt_tokens``; the Anthropic adapter
    adds cache reads in): cached tokens are billed at ``cached_input_price`` when the catalog knows
    one, else at the full input price (never a guessed discount).
    """
    cached = min(max(cached_tokens, 0), input_tokens) if cached_input_price is not None else 0
    cached_rate = cached_input_price if cached_input_price is not None else input_price
    return (
        (input_tokens - cached) * input_price + cached * cached_rate + output_tokens * output_price
    ) / 1_000_000


class ModelCard(_Frozen):
    id: str
    display_name: str
    provider: str
    recommended: bool = False
    default: bool = False
    context_window: int
    max_output_tokens: int
    input_price: float = Field(description="USD per 1M input tokens")
    output_price: float = Field(description="USD per 1M output tokens")
    cached_input_price: float | None = Field(
        None, description="USD per 1M cached input tokens; None = no discount known (full input price)"
    )
    cached_price_source: str = ""
    price_source: str
    price_date: str
    thinking: ThinkingStyle
    thinking_default: Literal["off", "low", "medium", "high"]
    reasoning_effort: bool = False
    json_mode: bool = True
    plans: tuple[PlanName, ...] = ()
    summary: str = ""

    def cost_usd(self, input_tokens: int, output_tokens: int, cached_tokens: int = 0) -> float:
        """A call's cost at this card's prices (:func:`price_usd`)."""
        return price_usd(
            input_tokens,
            output_tokens,
            input_price=self.input_price,
            output_price=self.output_price,
            cached_tokens=cached_tokens,
            cached_input_price=self.cached_input_price,
        )


class ErrorCode(_Frozen):
    code: str
    kind: str
    status: int
    message: str


class PeakHours(_Frozen):
    """How much one Coding Plan prompt weighs against the windows, by model and time of day.

    One rule for everyone who needs it (the simulator's counters, the window view's forecast), so
    a promotion at 1x is one override, not a hunt through the code."""

    models: tuple[str, ...]
    utc_offset_hours: int = Field(ge=-12, le=14)
    peak_start_hour: int = Field(ge=0, le=23)
    peak_end_hour: int = Field(ge=1, le=24)
    peak_multiplier: int = Field(ge=1)
    off_peak_multiplier: int = Field(ge=1)
    source: str
    date: str

    def is_peak(self, at: datetime) -> bool:
        """Whether ``at`` (timezone-aware) falls in the peak hours, judged on the provider's clock."""
        hour = at.astimezone(timezone(timedelta(hours=self.utc_offset_hours))).hour
        return self.peak_start_hour <= hour < self.peak_end_hour

    def multiplier(self, model: str, at: datetime) -> int:
        """How many prompts one request to ``model`` counts for at ``at``: 1 for models the rule
        does not name."""
        if model.strip().lower() not in self.models:
            return 1
        return self.peak_multiplier if self.is_peak(at) else self.off_peak_multiplier


class QuotaMonitorFacts(_Frozen):
    """Where the Coding Plan's quota monitor lives (same host as the plan's endpoint)."""

    path: str
    source: str
    date: str


class Catalog(_Frozen):
    version: str
    updated: str
    providers: dict[str, Provider]
    plans: dict[str, Plan]
    tiers: dict[str, Tier]
    cards: tuple[ModelCard, ...]
    thinking_budgets: dict[str, int]
    zai_errors: dict[str, ErrorCode]
    peak_hours: PeakHours
    quota_monitor: QuotaMonitorFacts

    # -- lookups -------------------------------------------------------------------------------
    def card(self, model_id: str) -> ModelCard | None:
        """Find a card by id, case-insensitively (users type ``GLM-5.1`` as often as ``glm-5.1``)."""
        wanted = model_id.strip().lower()
        return next((c for c in self.cards if c.id == wanted), None)

    def default_card(self) -> ModelCard:
        return next(c for c in self.cards if c.default)

    def cards_for(self, provider: str) -> list[ModelCard]:
        return [c for c in self.cards if c.provider == provider]

    def suggest(self, model_id: str, provider: str | None = None, n: int = 3) -> list[str]:
        """Nearest known model ids, for "model not found" diagnoses."""
        pool = [c.id for c in self.cards if provider is None or c.provider == provider]
        return difflib.get_close_matches(model_id.strip().lower(), pool, n=n, cutoff=0.4)

    def plan_for_url(self, base_url: str) -> Plan | None:
        """The Z.AI plan a base URL belongs to, judged by its path so any host (a proxy, the
        simulator) is recognised; ``None`` for a URL that is not a Z.AI plan endpoint."""
        path = urlsplit(base_url).path.rstrip("/")
        # Longest path first: /api/coding/paas/v4 must not be mistaken for /api/paas/v4.
        for plan in sorted(self.plans.values(), key=lambda p: len(p.path), reverse=True):
            if path.endswith(plan.path):
                return plan
        return None

    def error_code(self, code: str | int | None) -> ErrorCode | None:
        return self.zai_errors.get(str(code)) if code is not None else None

    # -- overrides -----------------------------------------------------------------------------
    def with_overrides(self, overrides: dict[str, Any]) -> Catalog:
        """Return a copy with user overrides applied.

        ``overrides`` looks like the user's config: ``{"models": {"glm-5.1": {"input_price": 1.2}},
        "tiers": {"lite": {"prompts_5h": 100}}, "plans": {...}}``. Unknown ids or fields raise
        ``ValueError`` naming them, so a typo never silently keeps the default.
        """
        models = dict(overrides.get("models", {}))
        cards = []
        for c in self.cards:
            patch = models.pop(c.id, None)
            cards.append(_patched(c, patch, f"models.{c.id}") if patch else c)
        if models:
            raise ValueError(f"unknown model id(s) in overrides: {', '.join(sorted(models))}")
        tiers = _patch_map(self.tiers, overrides.get("tiers", {}), "tiers")
        plans = _patch_map(self.plans, overrides.get("plans", {}), "plans")
        peak = overrides.get("peak_hours")
        peak_hours = _patched(self.peak_hours, peak, "peak_hours") if peak else self.peak_hours
        return self.model_copy(
            update={"cards": tuple(cards), "tiers": tiers, "plans": plans, "peak_hours": peak_hours}
        )


def _patched(item: _Frozen, patch: dict[str, Any], where: str) -> Any:
    unknown = set(patch) - set(type(item).model_fields) | ({"id"} & set(patch))
    if unknown:
        raise ValueError(f"{where}: unknown or read-only field(s) {', '.join(sorted(unknown))}")
    return type(item).model_validate({**item.model_dump(), **patch})


def _patch_map(items: dict[str, Any], patches: dict[str, Any], section: str) -> dict[str, Any]:
    unknown = set(patches) - set(items)
    if unknown:
        raise ValueError(f"unknown {section} in overrides: {', '.join(sorted(unknown))}")
    return {k: _patched(v, patches[k], f"{section}.{k}") if k in patches else v for k, v in items.items()}


def parse_catalog(raw: dict[str, Any]) -> Catalog:
    return Catalog(
        version=raw["version"],
        updated=raw["updated"],
        providers={k: Provider(id=k, **v) for k, v in raw["providers"].items()},
        plans={
            k: Plan(id=k, **{**v, "default_max_concurrent": v.get("default_max_concurrent") or None})
            for k, v in raw["plans"].items()
        },
        tiers={k: Tier(id=k, **v) for k, v in raw["tiers"].items()},
        cards=tuple(ModelCard(**c) for c in raw["cards"]),
        thinking_budgets=dict(raw["thinking_budgets"]),
        zai_errors={k: ErrorCode(code=k, **v) for k, v in raw["zai_errors"].items()},
        peak_hours=PeakHours(**raw["peak_hours"]),
        quota_monitor=QuotaMonitorFacts(**raw["quota_monitor"]),
    )


@lru_cache(maxsize=1)
def load_catalog() -> Catalog:
    """The packaged catalog, parsed once per process."""
    text = resources.files("hunkwise.catalog").joinpath("data/catalog.toml").read_text("utf-8")
    return parse_catalog(tomllib.loads(text))
