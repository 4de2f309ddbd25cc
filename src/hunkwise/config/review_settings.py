"""What a review takes from configuration: the ``[review]`` defaults, the ``[[rules]]`` and the
cost ceiling, merged from the files (and, for the ceiling, a flag and the environment).

The review engine receives these as validated values and never reads a file itself.

The cost ceiling stops a review *before its first request* when the plan's estimate is above it.
Precedence: ``--max-cost`` > ``HUNKWISE_MAX_COST`` > ``max_cost`` in ``[review]`` (repository
file, then user file) > :data:`DEFAULT_MAX_COST_USD`; ``"off"`` disables it. A server applies
the organization's own setting, else ``HUNKWISE_MAX_COST`` in its environment, else the default.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from hunkwise.config.files import ConfigFiles
from hunkwise.config.scheduling import DEFAULT_SPILL, Spill
from hunkwise.config.schema import (
    COST_OFF,
    MaxCost,
    ReviewSection,
    RuleEntry,
    parse_max_cost,
    parse_monthly_budget,
)
from hunkwise.errors import ConfigurationError

if TYPE_CHECKING:
    from hunkwise.config.settings import Settings

# A typical pull request (a few hundred changed lines) costs cents with GLM-5.1; $2 is far above
# that and still small next to a mistaken review of a whole vendored tree (docs/reviewing.md).
DEFAULT_MAX_COST_USD = 2.00
MAX_COST_ENV = "HUNKWISE_MAX_COST"
MONTHLY_BUDGET_ENV = "HUNKWISE_MONTHLY_BUDGET"
DEFAULT_SOURCE = "default"

CLI_RAISE_WITH = (
    "To allow it: --max-cost {amount} for this run, HUNKWISE_MAX_COST={amount}, or max_cost = {amount} "
    'under [review] in .hunkwise.toml ("off" disables the ceiling); or review less (--base/--head, '
    "[review] ignore)"
)


def money(usd: float) -> str:
    """Cents for amounts a ceiling is set in; four decimals below $1, where reviews usually are."""
    return f"${usd:,.2f}" if usd >= 1 or usd == 0 else f"${usd:.4f}"


@dataclass(frozen=True, slots=True)
class CostCeiling:
    """The most a review may be estimated to cost before it starts; ``usd`` None means no ceiling.

    ``source`` says where the value came from, ``subject`` how to call it in a refusal ("the cost
    ceiling", "this organization's ceiling"), ``raise_with`` how to raise it, ``{amount}`` being
    replaced by an amount that would let the refused review run."""

    usd: float | None
    source: str = DEFAULT_SOURCE
    subject: str = "the cost ceiling"
    raise_with: str = CLI_RAISE_WITH

    def exceeded_by(self, estimate_usd: float) -> bool:
        return self.usd is not None and estimate_usd > self.usd

    def describe(self) -> str:
        value = "off" if self.usd is None else money(self.usd)
        return f"{value} ({self.source})"

    def refusal(self, estimate_usd: float, requests: int) -> str:
        """The one-line explanation of a stop: the estimate, the ceiling, how to raise it."""
        amount = f"{max(math.ceil(estimate_usd * 100) / 100, 0.01):.2f}"
        return (
            f"estimated cost {money(estimate_usd)} for {requests} request(s) is above {self.subject} of "
            f"{self.describe()}; nothing was sent. " + self.raise_with.replace("{amount}", amount)
        )


def _ceiling(value: MaxCost, **kwargs: Any) -> CostCeiling:
    return CostCeiling(None if value == COST_OFF else float(value), **kwargs)


def parse_max_cost_setting(value: str, setting: str) -> MaxCost:
    """Parse a flag or environment value, raising a one-line error that names ``setting``."""
    try:
        return parse_max_cost(value)
    except ValueError as exc:
        raise ConfigurationError(f"{setting} = {value!r} is not valid: {exc}", setting=setting) from None


def parse_budget_setting(value: str, setting: str) -> MaxCost:
    """Parse an environment value of the monthly budget, raising a one-line error naming ``setting``."""
    try:
        return parse_monthly_budget(value)
    except ValueError as exc:
        raise ConfigurationError(f"{setting} = {value!r} is not valid: {exc}", setting=setting) from None


def cost_ceiling(
    flag: str | None = None, *, settings: Settings, files: ConfigFiles | None = None
) -> CostCeiling:
    """The CLI's ceiling: ``--max-cost`` > ``HUNKWISE_MAX_COST`` > the files > the default."""
    if flag is not None and flag.strip():
        return _ceiling(parse_max_cost_setting(flag, "--max-cost"), source="--max-cost")
    if settings.max_cost is not None:
        return _ceiling(settings.max_cost, source=MAX_COST_ENV)
    for f in reversed(list(files or ())):  # the repository file wins over the user file
        if f.data.review is not None and f.data.review.max_cost is not None:
            return _ceiling(f.data.review.max_cost, source=f"max_cost in [review] of {f.path}")
    return CostCeiling(DEFAULT_MAX_COST_USD)


def server_spill(settings: Settings, files: ConfigFiles | None = None) -> Spill:
    """A server's spill policy for organizations without their own: ``HUNKWISE_SPILL``, else
    ``spill`` under ``[review]`` in ``files`` (a server passes :func:`server_config_files`, read
    once by its runtime, like the spend defaults), else ``when-exhausted``
    (hunkwise.config.scheduling)."""
    if settings.spill is not None:
        return settings.spill
    for f in reversed(list(files or ())):  # a later file (the repository's) wins over the user's
        if f.data.review is not None and f.data.review.spill is not None:
            return f.data.review.spill
    return DEFAULT_SPILL


def server_cost_ceiling(settings: Settings, files: ConfigFiles | None = None) -> MaxCost:
    """A server's default for organizations without their own: ``HUNKWISE_MAX_COST``, else
    ``max_cost`` in ``[review]`` of the server's config file (:func:`server_config_files`), else
    $2.00 (validated when read, so a typo stops the server instead of every review)."""
    if settings.max_cost is not None:
        return settings.max_cost
    for f in reversed(list(files or ())):
        if f.data.review is not None and f.data.review.max_cost is not None:
            return f.data.review.max_cost
    return DEFAULT_MAX_COST_USD


def org_cost_ceiling(org: str, own: MaxCost | None, server_default: MaxCost) -> CostCeiling:
    """The ceiling a server applies to ``org``'s reviews: its own setting, else the server's."""
    value, source = (own, "organization setting") if own is not None else (server_default, "server default")
    return _ceiling(
        value,
        source=source,
        subject="this organization's ceiling",
        raise_with=(
            f'Raise it with PATCH /api/orgs/{org} {{"max_cost": {{amount}}}} ("off" disables it; in fixed '
            f"mode with the admin token), or set the server's default with {MAX_COST_ENV}"
        ),
    )


@dataclass(frozen=True, slots=True)
class MonthlyBudget:
    """What an organization's reviews may spend per calendar month (UTC); ``usd`` None: no budget.
    ``source`` says where the value came from, as for :class:`CostCeiling`."""

    usd: float | None
    source: str = "server default"

    def raise_with(self, org: str) -> str:
        """How to raise it, for the refusal comment and the job's error."""
        return (
            f'Raise it with PATCH /api/orgs/{org} {{"monthly_budget": <USD>}} (or on the console\'s '
            f'Models page; "off" removes it; in fixed mode with the admin token), or set the server\'s '
            f"default with {MONTHLY_BUDGET_ENV} or monthly_budget under [review] in the server's config file"
        )


def server_monthly_budget(settings: Settings, files: ConfigFiles | None = None) -> tuple[MaxCost, str]:
    """A server's default monthly budget for organizations without their own, and where it came
    from: ``HUNKWISE_MONTHLY_BUDGET`` > ``monthly_budget`` in ``[review]`` of the server's config
    file > ``"off"`` (no budget: spend is shown, never capped)."""
    if settings.monthly_budget is not None:
        return settings.monthly_budget, MONTHLY_BUDGET_ENV
    for f in reversed(list(files or ())):
        if f.data.review is not None and f.data.review.monthly_budget is not None:
            return f.data.review.monthly_budget, f"monthly_budget in [review] of {f.path}"
    return COST_OFF, DEFAULT_SOURCE


def server_config_files(settings: Settings) -> ConfigFiles:
    """The server's own config file (``HUNKWISE_CONFIG``, else ``$HUNKWISE_HOME/config.toml``) when
    it exists: where a server's spend defaults may be written below the environment. Read once
    when the process starts; a repository's ``.hunkwise.toml`` never sets a server's limits."""
    from hunkwise.config.files import read_config_file

    user = settings.user_config
    return ConfigFiles([read_config_file(user, "user")] if user.is_file() else [])


def org_monthly_budget(own: MaxCost | None, server_default: tuple[MaxCost, str]) -> MonthlyBudget:
    """The budget a server applies to an organization: its own setting, else the server's."""
    if own is not None:
        return MonthlyBudget(None if own == COST_OFF else float(own), "organization setting")
    value, source = server_default
    return MonthlyBudget(None if value == COST_OFF else float(value), f"server default ({source})")


@dataclass(frozen=True)
class ReviewConfig:
    """``[review]`` merged key by key (the repository file's value wins over the user file's),
    the ``[[rules]]`` of both files (the user's first), and the cost ceiling."""

    settings: ReviewSection = field(default_factory=ReviewSection)
    rules: tuple[RuleEntry, ...] = ()
    max_cost: CostCeiling = field(default_factory=lambda: CostCeiling(DEFAULT_MAX_COST_USD))
    source: str | None = None  # the files they came from, for messages


def review_config(
    files: ConfigFiles, *, settings: Settings, max_cost_flag: str | None = None
) -> ReviewConfig:
    merged: dict[str, Any] = {}
    rules: list[RuleEntry] = []
    for f in files:  # user first, then repo: later files win
        if f.data.review is not None:
            merged.update({k: getattr(f.data.review, k) for k in f.data.review.model_fields_set})
        rules.extend(f.data.rules)
    return ReviewConfig(
        settings=ReviewSection.model_validate(merged),
        rules=tuple(rules),
        max_cost=cost_ceiling(max_cost_flag, settings=settings, files=files),
        source=", ".join(str(p) for p in files.paths) or None,
    )
