"""The one schema of hunkwise's TOML files: the repository's ``.hunkwise.toml`` and the user's
``config.toml`` accept the same sections, validated once, the same way for every command.

::

    profile = "team"                 # the default profile
    [main] / [fallback]              # slot settings every profile starts from (SlotInput)
    [profiles.<name>.main|fallback]  # named profiles (SlotInput)
    [models."<id>"] [tiers.<id>] [plans.<id>]   # catalog overrides (checked against the catalog)
    [peak_hours]                              # the Coding Plan's peak-hour weighting (catalog)
    [review]                         # review defaults: ignore/include globs, thresholds, max_cost
    [[rules]]                        # plain-language rules scoped by path globs

Every level forbids unknown keys, so a typo (``[reviw]``, ``modle``) is an error that names it
instead of silently keeping a default. The per-file rules that depend on *which* file it is (a
committed repository file must not hold a literal key) and on the catalog (override ids) are
checked by :mod:`hunkwise.config.files`, which turns every problem into one line.
"""

from __future__ import annotations

import math
import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StrictBool, StrictInt, field_validator

from hunkwise.catalog.findings_contract import SEVERITIES, Severity
from hunkwise.config.globs import compile_glob
from hunkwise.config.scheduling import SPILL_HELP, Spill, parse_spill
from hunkwise.config.spec import SlotInput
from hunkwise.errors import ConfigurationError

COST_OFF = "off"
CONFIDENCE_HELP = "a number from 0 to 1, such as 0.6"
MaxCost = float | Literal["off"]
MAX_COST_HELP = 'an amount in USD greater than 0, such as 2.50, or "off" to disable the ceiling'


MONTHLY_BUDGET_HELP = (
    'an amount in USD per calendar month (UTC) greater than 0, such as 50, or "off" for none'
)


def parse_max_cost(value: Any, *, noun: str = "ceiling", help_text: str = MAX_COST_HELP) -> MaxCost:
    """A cost ceiling as written in a flag, the environment, TOML or JSON: a positive amount in
    USD (``2.5``, ``"2.50"``, ``"$2.50"``) or ``"off"``. Raises ``ValueError`` saying why.

    ``0`` is refused rather than read as "off": a $0 ceiling would stop every review, and "no
    ceiling" deserves a word that cannot be mistaken for an amount. The monthly budget is spelled
    the same way (:func:`parse_monthly_budget`), only its messages name it.
    """
    if isinstance(value, str):
        text = value.strip().lower()
        if text == COST_OFF:
            return COST_OFF
        try:
            value = float(text.removeprefix("$"))
        except ValueError:
            raise ValueError(f"expected {help_text}") from None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"expected {help_text}")
    if value <= 0:
        raise ValueError(f'{value:g} would stop every review: write "off" to disable the {noun}')
    return float(value)


def parse_monthly_budget(value: Any) -> MaxCost:
    """A monthly budget (``[review] monthly_budget``, ``HUNKWISE_MONTHLY_BUDGET``, the API): USD
    per calendar month in UTC, or ``"off"``; spelled like the cost ceiling."""
    return parse_max_cost(value, noun="budget", help_text=MONTHLY_BUDGET_HELP)


def _severity(value: Any) -> Any:
    return value.strip().lower() if isinstance(value, str) else value


def _glob(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    try:
        compile_glob(value)
    except re.error as exc:  # its position is in the translated regex, not in the glob: leave it out
        raise ValueError(f"bad glob {value!r}: {exc.msg}") from None
    except ValueError as exc:
        raise ValueError(f"bad glob {value!r}: {exc}") from None
    return value.strip()


def _one_or_many(value: Any) -> Any:
    """``ignore = "docs/**"`` is read as a list of one, as people write it."""
    return [value] if isinstance(value, str) else value


def _blank(value: Any) -> bool:
    return isinstance(value, str) and not value.strip()


def _drop_blank(value: Any) -> Any:
    """A blank string means "not set here" in a slot table, as in the environment."""
    if isinstance(value, dict):
        return {k: v for k, v in value.items() if k == "api_key" or not _blank(v)}
    return value


Glob = Annotated[str, BeforeValidator(_glob)]
Globs = Annotated[tuple[Glob, ...], BeforeValidator(_one_or_many)]
SeverityValue = Annotated[Severity, BeforeValidator(_severity)]
MaxCostValue = Annotated[MaxCost, BeforeValidator(parse_max_cost)]
BudgetValue = Annotated[MaxCost, BeforeValidator(parse_monthly_budget)]


def _spill(value: Any) -> Any:
    try:
        return parse_spill(value)
    except ConfigurationError as exc:
        raise ValueError(SPILL_HELP) from exc


SpillValue = Annotated[Spill, BeforeValidator(_spill)]
FileSlot = Annotated[SlotInput, BeforeValidator(_drop_blank)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class ReviewSection(_Strict):
    """``[review]``: defaults for ``hunkwise review``; a command-line flag wins over each."""

    ignore: Globs = ()
    include: Globs = ()
    max_file_lines: StrictInt | None = Field(None, ge=1)
    min_severity: SeverityValue | None = None
    max_findings: StrictInt | None = Field(None, ge=1)
    fail_on: SeverityValue | None = None
    max_cost: MaxCostValue | None = None
    # A server's monthly budget per organization (hunkwise.store.budget); the CLI does not use it.
    monthly_budget: BudgetValue | None = None
    # What a review does when Main's Coding Plan window cannot cover it (hunkwise.config.scheduling):
    # a server's default for its organizations; `hunkwise review` spreads with to-finish-faster.
    spill: SpillValue | None = None
    # Noise controls (hunkwise.review.noise): what is shown of the findings.
    min_confidence: float | None = Field(None, ge=0.0, le=1.0, allow_inf_nan=False)
    severity_floor: dict[Glob, SeverityValue] = Field(default_factory=dict)  # the last match wins
    tests: Literal["review", "relaxed", "skip"] = "review"
    test_paths: Globs | None = None  # None: hunkwise.review.noise.DEFAULT_TEST_PATHS
    merge_repeats: StrictBool = False
    # The verification pass (hunkwise.review.verification): a second request scores findings 0-10.
    context: Literal["none", "hunk", "function", "file"] = "hunk"  # hunkwise.review.context
    verify: StrictBool = False
    min_score: StrictInt = Field(5, ge=0, le=10)
    verify_action: Literal["drop", "summary"] = "drop"

    @field_validator("min_confidence", mode="before")
    @classmethod
    def _confidence_is_a_number(cls, value: Any) -> Any:
        if isinstance(value, bool) or (value is not None and not isinstance(value, int | float)):
            raise ValueError(CONFIDENCE_HELP)
        return value


class RuleEntry(_Strict):
    """One ``[[rules]]`` block: a plain-language rule for the files its ``paths`` globs match."""

    text: str = Field(min_length=1)
    paths: Globs = ("**",)
    severity: SeverityValue | None = None
    name: str | None = None

    @field_validator("paths")
    @classmethod
    def _everywhere_when_empty(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return value or ("**",)


class ProfileEntry(_Strict):
    main: FileSlot | None = None
    fallback: FileSlot | None = None


class ConfigFileSchema(_Strict):
    """A whole file. Catalog overrides are tables here; their ids and fields are checked against
    the catalog by :mod:`hunkwise.config.files` (the schema cannot know the catalog's ids)."""

    profile: str | None = None
    main: FileSlot | None = None
    fallback: FileSlot | None = None
    profiles: dict[str, ProfileEntry] = Field(default_factory=dict)
    models: dict[str, dict[str, Any]] = Field(default_factory=dict)
    tiers: dict[str, dict[str, Any]] = Field(default_factory=dict)
    plans: dict[str, dict[str, Any]] = Field(default_factory=dict)
    peak_hours: dict[str, Any] = Field(default_factory=dict)
    review: ReviewSection | None = None
    rules: tuple[RuleEntry, ...] = ()


# What a valid value looks like, for the keys outside slot tables (those use spec.FIELD_HELP).
SEVERITY_HELP = f"one of {', '.join(SEVERITIES)}"
GLOBS_HELP = 'a list of glob strings, e.g. ["src/**/*.py"]'
FILE_HELP: dict[str, str] = {
    "profile": "the name of a profile defined under [profiles.<name>]",
    "main": "a table: [main] with model settings",
    "fallback": "a table: [fallback] with model settings",
    "profiles": "tables like [profiles.team.main]",
    "models": 'tables like [models."glm-5.1"] with catalog fields to override',
    "tiers": "tables like [tiers.lite] with catalog fields to override",
    "plans": "tables like [plans.coding] with catalog fields to override",
    "peak_hours": "a table: [peak_hours] with catalog fields to override (1 and 1 for a promotion)",
    "review": "a table: [review]",
    "rules": 'an array of tables: write [[rules]] blocks with text = "..."',
    "ignore": GLOBS_HELP,
    "include": GLOBS_HELP,
    "paths": GLOBS_HELP,
    "max_file_lines": "a whole number ≥ 1",
    "max_findings": "a whole number ≥ 1",
    "min_confidence": CONFIDENCE_HELP,
    "severity_floor": 'a table of glob = severity, such as { "docs/**" = "high" }',
    "tests": 'one of "review" (like other files), "relaxed" (only high and critical), "skip"',
    "test_paths": GLOBS_HELP,
    "merge_repeats": "true or false",
    "verify": "true or false",
    "context": 'one of "none", "hunk", "function", "file"',
    "min_score": "a whole number from 0 to 10",
    "verify_action": 'one of "drop" (leave them out) or "summary" (list them in the summary)',
    "min_severity": SEVERITY_HELP,
    "fail_on": SEVERITY_HELP,
    "severity": SEVERITY_HELP,
    "max_cost": MAX_COST_HELP,
    "monthly_budget": MONTHLY_BUDGET_HELP,
    "spill": SPILL_HELP,
    "text": "a non-empty string saying what to check",
    "name": "a string",
}


def model_at(section: tuple[str | int, ...]) -> type[BaseModel] | None:
    """The schema class of the table at ``section`` (a pydantic error location without its key),
    so an unknown key can be compared with the keys that table does allow."""
    if not section:
        return ConfigFileSchema
    head, depth = section[0], len(section)
    if head in ("main", "fallback") and depth == 1:
        return SlotInput
    if head == "profiles":
        return {2: ProfileEntry, 3: SlotInput}.get(depth)
    if head == "review" and depth == 1:
        return ReviewSection
    if head == "rules" and depth == 2:
        return RuleEntry
    return None


def keys_of(model: type[BaseModel]) -> list[str]:
    """The keys a table accepts, as people write them (``max_concurrent`` as well)."""
    keys = set(model.model_fields)
    if model is SlotInput:
        keys.add("max_concurrent")
    return sorted(keys)
