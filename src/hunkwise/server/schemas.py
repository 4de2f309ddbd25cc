"""What the API accepts, and what it shows: separate shapes so a stored key cannot leak out.

``ByokSlotIn`` is the SlotInput shape (the key write-only, a ``Secret`` from the moment it is
parsed); ``ByokSlotPublic`` has no field
that could hold a key, only ``api_key`` as ``"••••abcd"``. Responses are declared with
``response_model`` so FastAPI filters every reply through these public shapes.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from hunkwise.config.byok import key_env_problem
from hunkwise.config.scheduling import Spill, parse_spill
from hunkwise.config.schema import parse_max_cost, parse_monthly_budget
from hunkwise.config.spec import SlotInput
from hunkwise.errors import ConfigurationError


class ByokSlotIn(SlotInput):
    """One slot as an organization sends it (a catalog card + plan + tier, or a manual config).

    ``api_key`` may be omitted to keep the stored key (same endpoint only)."""

    model_config = ConfigDict(
        extra="forbid",
        populate_by_name=True,
        str_strip_whitespace=True,
        json_schema_extra={
            "examples": [{"card": "glm-5.1", "plan": "coding", "tier": "lite", "api_key": "your-zai-key"}]
        },
    )

    @field_validator("api_key_env")
    @classmethod
    def _no_server_env(cls, value: str | None) -> str | None:
        # The rule of config.byok, refused as the body is read so the 422 comes first.
        problem = key_env_problem(value)
        if problem:
            raise ValueError(problem)
        return value


class ByokIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    main: ByokSlotIn
    fallback: ByokSlotIn | None = None


class ByokSlotPublic(BaseModel):
    """A configured slot as anyone with access may see it. Never a key: its last 4 at most."""

    role: Literal["main", "fallback"]
    api_key: str = Field(description="masked: '••••' and the key's last 4 characters")
    config: dict[str, Any] = Field(description="the settings as saved, without the key")
    provider: str | None = None
    model: str | None = None
    base_url: str | None = Field(None, description="the resolved endpoint")
    plan: str | None = None
    tier: str | None = None
    max_concurrent: int | None = Field(None, description="resolved concurrency cap (null = no cap)")
    context_window: int | None = None
    notes: list[str] = Field(default_factory=list)
    error: str | None = Field(None, description="why this stored slot is not usable right now")
    updated_at: datetime | None = None


class ByokPublic(BaseModel):
    org: str
    mode: Literal["byok", "fixed"]
    read_only: bool = False
    main: ByokSlotPublic | None = None
    fallback: ByokSlotPublic | None = None
    warnings: list[str] = Field(default_factory=list)
    message: str | None = None


class DiagnosisPublic(BaseModel):
    slot: str
    ok: bool
    kind: str | None = None
    status: int | None = None
    code: str | None = None
    latency_ms: float = 0.0
    provider_message: str = ""
    summary: str = ""
    advice: list[str] = Field(default_factory=list)
    detected_plan: str | None = None
    reset_at: str | None = None
    suggestions: list[str] = Field(default_factory=list, description="close model ids (unknown model)")


class PreviewPublic(BaseModel):
    """What the gateway would send for a slot: the body without the messages' real content."""

    provider: str
    namespace: str = Field(description="where a custom JSON override is wrapped for this provider")
    model: str
    base_url: str
    body: dict[str, Any]


class ByokTestPublic(BaseModel):
    org: str
    mode: Literal["byok", "fixed"]
    ok: bool
    diagnoses: list[DiagnosisPublic]


class OrgIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    slug: str = Field(min_length=1, max_length=100, description="the GitHub/GitLab owner name")
    name: str | None = Field(None, max_length=200)


class CostCeilingPublic(BaseModel):
    usd: float | None = Field(description="the ceiling review jobs run under; null: no ceiling")
    source: Literal["organization setting", "server default"]


class BudgetPublic(BaseModel):
    """The month's burn: ``GET /api/orgs/{org}/budget``, and ``budget`` on the organization."""

    org: str
    month: str = Field(description="the calendar month in UTC, YYYY-MM")
    budget_usd: float | None = Field(description="the budget in force; null: none (spend is not capped)")
    source: str = Field(description="where the budget came from: organization setting or server default")
    spent_usd: float = Field(description="cost of this month's reviews recorded in the ledger")
    reserved_usd: float = Field(description="estimates held by reviews running now")
    reservations: int
    used_usd: float = Field(description="spent + reserved")
    remaining_usd: float | None
    percent_used: float | None = Field(description="used / budget x 100; null without a budget")
    warning: bool = Field(description="80% or more of the budget is used")
    exhausted: bool
    resets_at: str = Field(description="when the next month starts (UTC)")


class SpillPublic(BaseModel):
    policy: Spill = Field(description="the spill policy review jobs run under (docs/quota-and-cost.md)")
    source: Literal["organization setting", "server default"]


class OrgPublic(BaseModel):
    slug: str
    name: str
    created_at: datetime
    max_cost: float | Literal["off"] | None = Field(
        None, description='the organization\'s own review cost ceiling in USD, "off", or null (the default)'
    )
    cost_ceiling: CostCeilingPublic
    monthly_budget: float | Literal["off"] | None = Field(
        None,
        description='the organization\'s own monthly budget in USD (calendar month, UTC), "off", or null',
    )
    budget: BudgetPublic
    spill: Spill | None = Field(
        None, description="the organization's own spill policy, or null (the server's default)"
    )
    spill_policy: SpillPublic


class OrgSettingsIn(BaseModel):
    """``PATCH /api/orgs/{org}``: only the fields sent change."""

    model_config = ConfigDict(extra="forbid")

    max_cost: float | Literal["off"] | None = Field(
        None,
        description='review cost ceiling: an amount in USD greater than 0, "off" for none, or null to use '
        "the server's default (HUNKWISE_MAX_COST, else 2.00)",
    )

    monthly_budget: float | Literal["off"] | None = Field(
        None,
        description='monthly budget: USD per calendar month (UTC) greater than 0, "off" for none, or null to '
        "use the server's default (HUNKWISE_MONTHLY_BUDGET, else none)",
    )
    spill: Spill | None = Field(
        None,
        description='"never" (wait for the window\'s reset), "when-exhausted" (go to the Fallback), '
        '"to-finish-faster" (also spread large reviews over Main and the Fallback), or null to use the '
        "server's default (HUNKWISE_SPILL, else when-exhausted)",
    )

    @field_validator("max_cost", mode="before")
    @classmethod
    def _ceiling(cls, value: Any) -> Any:
        return None if value is None else parse_max_cost(value)

    @field_validator("monthly_budget", mode="before")
    @classmethod
    def _budget(cls, value: Any) -> Any:
        return None if value is None else parse_monthly_budget(value)

    @field_validator("spill", mode="before")
    @classmethod
    def _spill(cls, value: Any) -> Any:
        if value is None:
            return None
        try:
            return parse_spill(value)
        except ConfigurationError as exc:
            raise ValueError(str(exc)) from None


class OrgCreated(OrgPublic):
    token: str = Field(description="the organization's API token: shown once, store it now")


class OrgTokenIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    label: str = Field("", max_length=200, description="what the token is for, e.g. 'CI' or 'Alice'")


class OrgTokenPublic(BaseModel):
    """A token as it may be listed: never the token, never its hash."""

    id: int
    label: str
    prefix: str | None = Field(
        description="the token's first characters, to tell tokens apart (null for older tokens)"
    )
    created_at: datetime
    last_used_at: datetime | None = Field(
        description="when it was last presented to the API or the sign-in form (to the minute)"
    )
    revoked_at: datetime | None = Field(description="null while the token works")


class OrgTokenCreated(OrgTokenPublic):
    org: str
    token: str = Field(description="the new API token: shown once, store it now")


class Health(BaseModel):
    status: Literal["ok"] = "ok"


class Ready(BaseModel):
    status: Literal["ready"] = "ready"
    database: str
    mode: Literal["byok", "fixed"]


class GitHubRepositoryPublic(BaseModel):
    """A repository of a GitHub App installation and whether hunkwise reviews it."""

    full_name: str
    enabled: bool


class GitHubInstallationPublic(BaseModel):
    """A GitHub App installation on the organization's account (docs/github.md)."""

    id: int
    account_login: str
    account_type: str
    repository_selection: str
    suspended: bool
    repositories: list[GitHubRepositoryPublic]


class GitHubRepositoryIn(BaseModel):
    """``PUT /api/orgs/{org}/github/repositories/{owner}/{repo}``: turn reviews on or off."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool
