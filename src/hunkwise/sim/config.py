"""What a simulator serves: its keys, their plans and limits, and the global knobs.

Limits resolve in one order everywhere: a per-key setting beats a global flag, which beats the
catalog's tier default. Keeping that rule here (and not in each route) means the CLI, the config
file and the tests can never disagree about which limit a key really has.

Each kind of key has the limits its real counterpart has: a Coding Plan key is a subscription
with rolling prompt windows (5 hours, week) and no balance; a pay-per-token key (Z.AI Developer
API, OpenAI, Anthropic) has no prompt window but a prepaid balance in USD, spent at the catalog's
prices. So the global ``quota_5h``/``quota_week`` apply to coding keys only and ``balance`` to the
others, and a per-key setting of the wrong kind is refused.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from hunkwise.catalog.loader import Catalog, TierName, load_catalog

KeyKind = Literal["developer", "coding", "openai", "anthropic"]
FaultKind = Literal["500", "502", "503", "1305", "1312", "reset", "hang", "truncated"]
ALL_FAULTS: tuple[FaultKind, ...] = ("500", "502", "503", "1305", "1312", "reset", "hang", "truncated")

WINDOW_5H_SECONDS = 5 * 3600
WINDOW_WEEK_SECONDS = 7 * 24 * 3600

# Codes a key can be told to answer every chat request with (``force_error``): the Coding Plan's
# quota-exhausted and throttling codes besides the windows the simulator meters itself.
ForcedError = Literal["1309", "1313", "1316", "1317"]
FORCED_ERRORS: tuple[ForcedError, ...] = ("1309", "1313", "1316", "1317")


class SimConfigError(ValueError):
    """A simulator setting that cannot work; the message names the setting and the fix."""


class KeyConfig(BaseModel):
    """One API key the simulator accepts. ``None`` limits fall back to the global flag, then the
    catalog's tier default (coding keys) or "unlimited" (every other kind). ``balance`` is USD."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    key: str = Field(min_length=1)
    kind: KeyKind
    tier: TierName | None = None
    concurrency: int | None = Field(default=None, ge=1)
    quota_5h: int | None = Field(default=None, ge=0)
    quota_week: int | None = Field(default=None, ge=0)
    balance: float | None = Field(default=None, ge=0, allow_inf_nan=False)
    models: tuple[str, ...] | None = None
    # Answer every chat request with this Z.AI code (the catalog's message and status) once the
    # request passes authentication and validation: a plan that expired (1309), fair-use
    # throttling (1313), the quota-exhausted codes 1316/1317. Coding keys only.
    force_error: ForcedError | None = None

    @field_validator("key")
    @classmethod
    def _no_blank_key(cls, value: str) -> str:
        if value.strip() != value or any(c.isspace() for c in value):
            raise ValueError("an API key must not contain whitespace")
        return value

    @model_validator(mode="after")
    def _limits_of_its_kind(self) -> KeyConfig:
        if self.force_error is not None and self.kind != "coding":
            raise ValueError(
                f"force_error {self.force_error} is a Coding Plan code; set it on a coding key, "
                f"not a {self.kind} key"
            )
        if self.kind == "coding":
            if self.balance is not None:
                raise ValueError(
                    "balance is for pay-per-token keys (developer, openai, anthropic); a coding key "
                    "has prompt windows instead (quota_5h, quota_week)"
                )
            return self
        if self.tier is not None:
            raise ValueError(f"tier is only meaningful for coding keys, not {self.kind} keys")
        for name in ("quota_5h", "quota_week"):
            if getattr(self, name) is not None:
                raise ValueError(
                    f"{name} is a Coding Plan prompt window; {self.kind} keys have none "
                    "(limit their spending with balance, in USD, instead)"
                )
        return self

    @property
    def effective_tier(self) -> TierName | None:
        return (self.tier or "lite") if self.kind == "coding" else None


class SimConfig(BaseModel):
    """The whole simulator configuration (CLI flags and ``sim.toml`` both produce one)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    keys: tuple[KeyConfig, ...] = ()
    latency_ms: float = Field(default=0.0, ge=0)
    jitter_ms: float = Field(default=0.0, ge=0)
    fault_rate: float = Field(default=0.0, ge=0.0, le=1.0)
    faults: tuple[FaultKind, ...] = ALL_FAULTS
    seed: int = 0
    hang_seconds: float = Field(default=300.0, gt=0)
    # Global overrides of the tier defaults (a per-key value still wins). The windows apply to
    # coding keys only, the balance (USD) to pay-per-token keys only.
    concurrency: int | None = Field(default=None, ge=1)
    quota_5h: int | None = Field(default=None, ge=0)
    quota_week: int | None = Field(default=None, ge=0)
    balance: float | None = Field(default=None, ge=0, allow_inf_nan=False)
    # The peak-hour multiplier of the 2026 FAQ (the catalog's [peak_hours]: GLM-5.1 and
    # GLM-5-Turbo count 3x at peak, 2x off-peak). Off by default, which is a promotion period at
    # 1x: one prompt, one count, the arithmetic every window test and benchmark was written against.
    peak_multiplier: bool = False
    # Whether the quota monitor's limits carry ``usage``/``currentValue``/``remaining``. The real
    # service sends them only sometimes, so by default the simulator sends ``percentage`` alone:
    # a client that needs the counts finds out here, not in production.
    monitor_usage_fields: bool = False

    @model_validator(mode="after")
    def _check(self) -> SimConfig:
        seen: set[str] = set()
        for k in self.keys:
            if k.key in seen:
                raise ValueError(f"key {_mask(k.key)} is configured twice; each key needs one plan")
            seen.add(k.key)
        if not self.faults:
            raise ValueError("faults must list at least one fault kind")
        catalog = load_catalog()
        for k in self.keys:
            for model in k.models or ():
                if catalog.card(model) is None:
                    raise ValueError(f"key {_mask(k.key)}: unknown model {model!r} in models")
        return self

    # -- limit resolution --------------------------------------------------------------------
    def limits_for(self, key: KeyConfig, catalog: Catalog | None = None) -> KeyLimits:
        catalog = catalog or load_catalog()
        tier = catalog.tiers[key.effective_tier] if key.effective_tier else None
        concurrency = _first(key.concurrency, self.concurrency, tier.max_concurrent if tier else None)
        if tier is not None:  # a Coding Plan key: prompt windows, no balance
            quota_5h = _first(key.quota_5h, self.quota_5h, tier.prompts_5h)
            quota_week = _first(key.quota_week, self.quota_week, tier.prompts_week)
            return KeyLimits(concurrency=concurrency, quota_5h=quota_5h, quota_week=quota_week, balance=None)
        balance = key.balance if key.balance is not None else self.balance
        return KeyLimits(concurrency=concurrency, quota_5h=None, quota_week=None, balance=balance)


class KeyLimits(BaseModel):
    """Resolved limits of one key; ``None`` means unlimited (or, for a kind of key that has no such
    limit, not applicable). ``balance`` is in USD."""

    model_config = ConfigDict(frozen=True)

    concurrency: int | None
    quota_5h: int | None
    quota_week: int | None
    balance: float | None


def _first(*values: int | None) -> int | None:
    return next((v for v in values if v is not None), None)


def _mask(key: str) -> str:
    """Keys are secrets even in the simulator: show only enough to tell them apart."""
    return f"{key[:4]}…{key[-2:]}" if len(key) > 8 else "…"


def mask_key(key: str) -> str:
    return _mask(key)


def format_validation_error(exc: ValidationError, where: str) -> str:
    """One readable line per problem, naming the setting, for the CLI and config loader."""
    parts = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"] if p != "__root__") or "(top level)"
        msg = err["msg"].removeprefix("Value error, ")
        parts.append(f"{loc}: {msg}")
    return f"{where}: " + "; ".join(parts)


def build_config(data: dict[str, Any], where: str = "simulator config") -> SimConfig:
    try:
        return SimConfig.model_validate(data)
    except ValidationError as exc:
        raise SimConfigError(format_validation_error(exc, where)) from None


def load_config_file(path: Path) -> dict[str, Any]:
    """Read ``sim.toml`` into the dict :func:`build_config` takes.

    The file mirrors the CLI flags: top-level ``latency_ms``, ``fault_rate``... and one
    ``[[keys]]`` table per key (``key``, ``kind``, ``tier``, ``concurrency``, ``quota_5h``,
    ``quota_week``, ``balance``, ``models``, ``force_error``).
    """
    try:
        text = path.read_text("utf-8")
    except OSError as exc:
        raise SimConfigError(f"cannot read simulator config {path}: {exc.strerror or exc}") from None
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SimConfigError(f"simulator config {path} is not valid TOML: {exc}") from None
    if "keys" in raw and not isinstance(raw["keys"], list):
        raise SimConfigError(f"{path}: keys must be an array of tables ([[keys]] sections)")
    return raw
