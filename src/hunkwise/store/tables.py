"""SQLAlchemy table definitions for the store.

The ORM classes mirror the Alembic migrations in ``store/migrations/versions``; the migrations are
the source of truth for the schema (``metadata.create_all`` is never used outside tests), so a new
table always arrives through a new numbered migration that SQLite and PostgreSQL both run.

Times are stored as naive UTC and handed back timezone-aware (:class:`UTCDateTime`): SQLite has no
timezone type, and one convention on both backends keeps window arithmetic identical.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

# Deterministic constraint names, so later migrations (and SQLite batch mode) can refer to them.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out; naive UTC on disk."""

    impl = DateTime(timezone=False)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Refuse naive datetimes (their zone is a guess) and store the rest as naive UTC, the one convention
        both backends share.
        """
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("store times must be timezone-aware (use datetime.now(UTC))")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        """Hand stored naive UTC back timezone-aware, so window arithmetic never mixes naive and aware."""
        if value is None:
            return None
        return value.replace(tzinfo=UTC)


def utcnow() -> datetime:
    """The one clock the store writes with: timezone-aware UTC, which :class:`UTCDateTime` requires."""
    return datetime.now(UTC)


class Base(DeclarativeBase):
    """The declarative base with the naming convention, so constraints get stable names the Alembic migrations
    can refer to.
    """

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class ReviewRun(Base):
    """One ``hunkwise review`` (or server job) with its totals, so summaries need no joins."""

    __tablename__ = "review_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    source: Mapped[str] = mapped_column(String(32))
    repository: Mapped[str | None] = mapped_column(String(500))
    ref: Mapped[str | None] = mapped_column(String(500))
    status: Mapped[str] = mapped_column(String(32))
    files_reviewed: Mapped[int] = mapped_column(Integer, default=0)
    lines_reviewed: Mapped[int] = mapped_column(Integer, default=0)
    findings_critical: Mapped[int] = mapped_column(Integer, default=0)
    findings_high: Mapped[int] = mapped_column(Integer, default=0)
    findings_medium: Mapped[int] = mapped_column(Integer, default=0)
    findings_low: Mapped[int] = mapped_column(Integer, default=0)
    failed_chunks: Mapped[int] = mapped_column(Integer, default=0)
    skipped_lines: Mapped[int] = mapped_column(Integer, default=0)
    calls: Mapped[int] = mapped_column(Integer, default=0)
    input_tokens: Mapped[int] = mapped_column(BigInteger, default=0)
    output_tokens: Mapped[int] = mapped_column(BigInteger, default=0)
    reasoning_tokens: Mapped[int] = mapped_column(BigInteger, default=0)
    cost_usd: Mapped[float] = mapped_column(Float, default=0.0)
    failovers: Mapped[int] = mapped_column(Integer, default=0)
    duration_ms: Mapped[int] = mapped_column(Integer, default=0)
    # Served by hunkwise's simulator (``review --offline``): no money was spent.
    simulated: Mapped[bool] = mapped_column(Boolean, default=False)


class ModelCall(Base):
    """The stored shape of one model call: a router's call record (``gateway.types.Attempt``),
    its usage spread into columns, its message left out. ``credential_id`` is the fingerprinted
    id, never a key."""

    __tablename__ = "model_calls"
    __table_args__ = (Index("ix_model_calls_credential_created", "credential_id", "created_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("review_runs.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    slot: Mapped[str] = mapped_column(String(64))
    provider: Mapped[str] = mapped_column(String(64))
    model: Mapped[str] = mapped_column(String(200))
    credential_id: Mapped[str | None] = mapped_column(String(600))
    plan: Mapped[str | None] = mapped_column(String(32))
    tier: Mapped[str | None] = mapped_column(String(32))
    purpose: Mapped[str] = mapped_column(String(32), default="review")
    outcome: Mapped[str] = mapped_column(String(64))
    status: Mapped[int | None] = mapped_column(Integer)
    code: Mapped[str | None] = mapped_column(String(32))
    input_tokens: Mapped[int] = mapped_column(BigInteger, default=0)
    output_tokens: Mapped[int] = mapped_column(BigInteger, default=0)
    reasoning_tokens: Mapped[int] = mapped_column(BigInteger, default=0)
    cached_tokens: Mapped[int] = mapped_column(BigInteger, default=0)
    cost_usd: Mapped[float] = mapped_column(Float, default=0.0)
    latency_ms: Mapped[float] = mapped_column(Float, default=0.0)
    waited_ms: Mapped[float] = mapped_column(Float, default=0.0)
    failover: Mapped[bool] = mapped_column(Boolean, default=False)
    # The slot was hunkwise's simulator: summaries and windows leave the call out unless asked.
    simulated: Mapped[bool] = mapped_column(Boolean, default=False)


class TokenCalibration(Base):
    """Characters per token observed per model, so token estimates improve with every review."""

    __tablename__ = "token_calibration"

    model: Mapped[str] = mapped_column(String(200), primary_key=True)
    chars_per_token: Mapped[float] = mapped_column(Float)
    samples: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Organization(Base):
    """A tenant: its BYOK slots, API tokens and (through the jobs) its reviews hang off this row."""

    __tablename__ = "organizations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slug: Mapped[str] = mapped_column(String(100), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The review cost ceiling: NULL = the server's default, "off", or USD as a decimal string.
    max_cost: Mapped[str | None] = mapped_column(String(16), nullable=True)
    # The monthly budget (calendar month, UTC): NULL = the server's default, "off", or USD.
    monthly_budget: Mapped[str | None] = mapped_column(String(16), nullable=True)
    # The spill policy (hunkwise.jobs.schedule.SPILL_POLICIES); None: the server's default.
    spill: Mapped[str | None] = mapped_column(String(20), nullable=True)


class OrgToken(Base):
    """An organization's API token, stored only as a SHA-256 hash (shown once when created)."""

    __tablename__ = "org_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    label: Mapped[str] = mapped_column(String(200), default="")
    prefix: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ConsoleSession(Base):
    """A signed-in browser. The cookie holds a random id; only its SHA-256 is stored here.

    An admin session records a fingerprint of the admin token it was opened with (changing
    ``HUNKWISE_ADMIN_TOKEN`` ends it) and the organization it is managing (``org_id``); an
    organization session points at its token and is deleted with it.
    """

    __tablename__ = "console_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    id_hash: Mapped[str] = mapped_column(String(64), unique=True)
    admin: Mapped[bool] = mapped_column(Boolean)
    admin_token_fp: Mapped[str | None] = mapped_column(String(64))
    org_token_id: Mapped[int | None] = mapped_column(
        ForeignKey("org_tokens.id", ondelete="CASCADE"), index=True
    )
    org_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class SigninFailure(Base):
    """Wrong tokens counted in one fixed window for one scope (a client address, or ``*``)."""

    __tablename__ = "signin_failures"

    scope: Mapped[str] = mapped_column(String(100), primary_key=True)
    window_start: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)


class CommandCount(Base):
    """``@hunkwise`` commands accepted on one pull request in one clock hour (UTC): the rate
    limit's counter, shared by every server process (:mod:`hunkwise.store.command_counts`)."""

    __tablename__ = "command_counts"

    pull_key: Mapped[str] = mapped_column(String(300), primary_key=True)
    window_start: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    commands: Mapped[int] = mapped_column(Integer, default=0)


class ByokSlot(Base):
    """One model slot (main or fallback) of an organization: the spec without its key, the key
    encrypted (``hunkwise.store.secrets``) and its last four characters for display."""

    __tablename__ = "byok_slots"
    __table_args__ = (
        UniqueConstraint("org_id", "role", name="uq_byok_slots_org_role"),
        CheckConstraint("role IN ('main', 'fallback')", name="role"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(16))
    spec: Mapped[dict[str, Any]] = mapped_column(JSON)
    key_ciphertext: Mapped[str | None] = mapped_column(Text)
    key_last4: Mapped[str | None] = mapped_column(String(8))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    def __repr__(self) -> str:  # never show the ciphertext either: it is nobody's business
        return f"ByokSlot(org_id={self.org_id!r}, role={self.role!r})"


class ReviewJob(Base):
    """A durable review job (``hunkwise.jobs``): the queue row and, when done, its report.

    ``dedupe_key`` is unique (a webhook delivery id, or ``repo#pr@sha``), so a re-delivered event
    finds the existing job instead of creating a second one. A worker owns a running job until
    ``lease_expires_at``; a job whose lease ran out (its worker died) is claimed again.
    ``org`` is the organization's slug, not a foreign key: fixed mode reviews for organizations
    that have no row.
    """

    __tablename__ = "review_jobs"
    __table_args__ = (
        Index("ix_review_jobs_claim", "status", "next_run_at"),
        Index("ix_review_jobs_org_created", "org", "created_at"),
        Index("ix_review_jobs_claim_order", "status", "priority", "next_run_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    org: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(32))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    dedupe_key: Mapped[str] = mapped_column(String(300), unique=True)
    status: Mapped[str] = mapped_column(String(16), default="queued")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=5)
    next_run_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    error: Mapped[str | None] = mapped_column(Text)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    checkpoint: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    lease_owner: Mapped[str | None] = mapped_column(String(100))
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Why a job ended without a review, for machines (``budget_exhausted``, ``review_ceiling``);
    # ``error`` says it for people. NULL for every other outcome.
    reason: Mapped[str | None] = mapped_column(String(32))
    # Who asked (hunkwise.jobs.schedule.PRIORITIES): claimed highest first.
    priority: Mapped[int] = mapped_column(Integer, default=10, server_default="10")
    # Waiting for a Coding Plan window's reset (next_run_at is the same time); None once it runs.
    deferred_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    defer_reason: Mapped[str | None] = mapped_column(Text)


class BudgetReservation(Base):
    """The estimate of one review job held against its organization's monthly budget
    (:mod:`hunkwise.store.budget`): ``held`` while the review runs (until ``expires_at``, so a
    crashed worker's hold lapses), then ``settled`` to the ledger's actual cost or ``released``.
    One row per job (``job_key``, its dedupe key): a retry of the job replaces its own hold."""

    __tablename__ = "budget_reservations"
    __table_args__ = (Index("ix_budget_reservations_org_month", "org", "month", "status"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    org: Mapped[str] = mapped_column(String(100))
    job_key: Mapped[str] = mapped_column(String(300), unique=True)
    # Who holds it: a random token per reservation, so a worker that lost its job to another one
    # cannot release or settle the hold the new owner took under the same job key.
    token: Mapped[str] = mapped_column(String(32))
    month: Mapped[str] = mapped_column(String(7))  # "2026-12", UTC
    status: Mapped[str] = mapped_column(String(16))  # held | settled | released
    estimate_usd: Mapped[float] = mapped_column(Float)
    actual_usd: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class PostedFinding(Base):
    """A finding hunkwise posted on a pull request, by fingerprint (``review/fingerprint.py``), and
    what became of its thread: ``open``, ``resolved`` or ``wont_fix`` (the author said so). Read
    on the next push so a finding is never posted twice and a closed thread never reopened; the
    same fingerprints ride in the comments' hidden markers for runs without this table."""

    __tablename__ = "posted_findings"
    __table_args__ = (
        UniqueConstraint("platform", "repository", "number", "fingerprint", name="uq_posted_findings_key"),
        CheckConstraint("state IN ('open', 'resolved', 'wont_fix')", name="state"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    platform: Mapped[str] = mapped_column(String(16))
    repository: Mapped[str] = mapped_column(String(300))
    number: Mapped[int] = mapped_column(Integer)
    fingerprint: Mapped[str] = mapped_column(String(240))
    state: Mapped[str] = mapped_column(String(16), default="open")
    path: Mapped[str] = mapped_column(String(1000), default="")
    title: Mapped[str] = mapped_column(String(300), default="")
    head_sha: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class FindingSuppression(Base):
    """A fingerprint a user asked not to see again (``@hunkwise ignore``): on one pull request
    (``number`` > 0) or on the whole repository (``number`` = 0)."""

    __tablename__ = "finding_suppressions"
    __table_args__ = (
        UniqueConstraint(
            "platform", "repository", "number", "fingerprint", name="uq_finding_suppressions_key"
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    org: Mapped[str] = mapped_column(String(100))
    platform: Mapped[str] = mapped_column(String(16))
    repository: Mapped[str] = mapped_column(String(300))
    number: Mapped[int] = mapped_column(Integer, default=0)
    fingerprint: Mapped[str] = mapped_column(String(240))
    reason: Mapped[str] = mapped_column(String(500), default="")
    created_by: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


__all__ = [
    "Base",
    "BudgetReservation",
    "ByokSlot",
    "ConsoleSession",
    "FindingSuppression",
    "ModelCall",
    "OrgToken",
    "Organization",
    "PostedFinding",
    "ReviewJob",
    "ReviewRun",
    "SigninFailure",
    "TokenCalibration",
    "UTCDateTime",
    "utcnow",
]


class FindingFeedback(Base):
    """What people did with one comment hunkwise posted (convevents): thumbs up/down counts as
    last read from the platform, and whether its thread was resolved. Keyed by the comment, so
    reading the same reactions again updates, never double counts."""

    __tablename__ = "finding_feedback"
    __table_args__ = (
        UniqueConstraint("platform", "repository", "comment_id", name="uq_finding_feedback_comment"),
        Index("ix_finding_feedback_org_repository", "org", "repository"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    org: Mapped[str] = mapped_column(String(100))
    platform: Mapped[str] = mapped_column(String(16))
    repository: Mapped[str] = mapped_column(String(300))
    number: Mapped[int] = mapped_column(Integer)
    comment_id: Mapped[str] = mapped_column(String(64))
    category: Mapped[str] = mapped_column(String(64), default="")
    path: Mapped[str] = mapped_column(String(1000), default="")
    path_pattern: Mapped[str] = mapped_column(String(1000), default="")
    up: Mapped[int] = mapped_column(Integer, default=0)
    down: Mapped[int] = mapped_column(Integer, default=0)
    resolved: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class FeedbackOverride(Base):
    """An un-demotion: a category or path pattern a person decided to keep inline, whatever the
    acceptance rate says (``repository`` empty: every repository of the organization)."""

    __tablename__ = "feedback_overrides"
    __table_args__ = (
        UniqueConstraint("org", "repository", "kind", "value", name="uq_feedback_overrides_key"),
        CheckConstraint("kind IN ('category', 'path')", name="kind"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    org: Mapped[str] = mapped_column(String(100))
    repository: Mapped[str] = mapped_column(String(300))
    kind: Mapped[str] = mapped_column(String(16))
    value: Mapped[str] = mapped_column(String(1000))
    created_by: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class GitHubInstallation(Base):
    """A GitHub App installation (``installation`` webhooks): the account it is installed on,
    which is the hunkwise organization (``org``, its normalized login), and whether GitHub has
    it suspended. ``repository_selection``: ``all`` or ``selected``, as GitHub says."""

    __tablename__ = "github_installations"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    org: Mapped[str] = mapped_column(String(100), index=True)
    account_login: Mapped[str] = mapped_column(String(100))
    account_type: Mapped[str] = mapped_column(String(32))
    repository_selection: Mapped[str] = mapped_column(String(16), default="selected")
    suspended: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class GitHubRepository(Base):
    """A repository an installation can see, and whether hunkwise reviews its pull requests
    (``enabled``: new repositories get ``True``; a person turns one off in the API or console)."""

    __tablename__ = "github_repositories"
    __table_args__ = (UniqueConstraint("installation_id", "full_name", name="uq_github_repositories_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    installation_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("github_installations.id", ondelete="CASCADE"), index=True
    )
    full_name: Mapped[str] = mapped_column(String(300))  # "owner/name", lower-cased
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
