"""Coding Plan quota windows, counted from the ledger.

A GLM Coding Plan key has two ceilings on prompts: a rolling 5-hour window and a weekly window
(the tier's ``prompts_5h`` / ``prompts_week`` in the catalog, which users may override). Z.AI says
nothing until a window is spent (error 1308/1310), so we count what this installation sent and
warn before that happens.

What counts as a prompt: every call on the credential that reached the model and was answered
(``ok``), plus calls that timed out (the provider likely ran them to the end and charged the
quota). Rejected calls (rate limits, quota errors, auth) did not consume a prompt. This is an
estimate from our side only: other tools using the same key, and Z.AI's reported 2-3x peak-hour
weighting for GLM-5.x, are invisible to us, so treat the numbers as a floor.

Calls served by hunkwise's simulator (``model_calls.simulated``) consumed no real window, so they
are left out unless a caller asks for them; a credential counted that way says so (``simulated``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from hunkwise.catalog.loader import Catalog, load_catalog
from hunkwise.catalog.plan_advice import (
    CODING_PLAN,
    FIVE_HOURS,
    QUOTA_CONSUMING_OUTCOMES,
    QUOTA_WINDOW_OUTCOME,
    WEEK,
)
from hunkwise.store.db import Db, use_session
from hunkwise.store.tables import ModelCall

WARN_AT = 0.8


@dataclass(frozen=True, slots=True)
class WindowCount:
    """Prompts counted in one rolling window and what that means against the tier's ceiling."""

    span: timedelta
    used: int
    limit: int | None  # None: the tier is unknown to the catalog
    oldest_at: datetime | None  # the oldest counted prompt still inside the window
    resets_at: datetime | None  # when that prompt leaves the window (one prompt freed)
    available_at: datetime | None  # when the count drops below the ceiling again, if it is spent

    @property
    def fraction(self) -> float | None:
        """How full the window is; None without a known limit (no made-up percentage)."""
        return None if not self.limit else self.used / self.limit

    @property
    def warning(self) -> bool:
        """Whether the window is nearly spent (``WARN_AT``), so people can slow down before requests start
        failing.
        """
        return self.fraction is not None and self.fraction >= WARN_AT

    @property
    def exhausted(self) -> bool:
        """Whether the window is spent: further requests on this key would be refused until it rolls."""
        return self.limit is not None and self.used >= self.limit

    def as_dict(self) -> dict[str, Any]:
        """The JSON shape of one window for ``hunkwise usage --windows --json`` and the console."""
        frac = self.fraction
        return {
            "used": self.used,
            "limit": self.limit,
            "percent": None if frac is None else round(frac * 100, 1),
            "warning": self.warning,
            "oldest_at": _iso(self.oldest_at),
            "resets_at": _iso(self.resets_at),
            "available_at": _iso(self.available_at),
        }


@dataclass(frozen=True, slots=True)
class WindowUsage:
    """Both windows of one Coding Plan credential (identified by fingerprint, never by key)."""

    credential_id: str
    plan: str
    tier: str
    models: tuple[str, ...]
    five_hour: WindowCount
    week: WindowCount
    last_quota_error_at: datetime | None  # the provider said a window was spent (1308/1310)
    simulated: bool = False  # the credential's calls were served by hunkwise's simulator

    @property
    def provider(self) -> str:
        """The provider part of the credential id, for display without parsing the id elsewhere."""
        return self.credential_id.split("|", 1)[0]

    @property
    def base_url(self) -> str:
        """The endpoint part of the credential id (empty for old two-part ids), so two endpoints with one key
        are told apart.
        """
        parts = self.credential_id.split("|")
        return parts[1] if len(parts) == 3 else ""

    @property
    def fingerprint(self) -> str:
        """The key's fingerprint part of the credential id: what is shown instead of the key."""
        return self.credential_id.rsplit("|", 1)[-1]

    @property
    def warning(self) -> bool:
        """Whether either window (five hours or week) is nearly spent: one flag for the report line."""
        return self.five_hour.warning or self.week.warning

    def as_dict(self) -> dict[str, Any]:
        """The JSON shape of one key's windows for ``hunkwise usage --windows --json`` and the console."""
        return {
            "credential": self.fingerprint,
            "provider": self.provider,
            "base_url": self.base_url,
            "plan": self.plan,
            "tier": self.tier,
            "models": list(self.models),
            "five_hour": self.five_hour.as_dict(),
            "week": self.week.as_dict(),
            "warning": self.warning,
            "last_quota_error_at": _iso(self.last_quota_error_at),
            "simulated": self.simulated,
        }


def window_usage(
    db: Db,
    credential_id: str,
    now: datetime | None = None,
    *,
    tier: str | None = None,
    catalog: Catalog | None = None,
    include_simulated: bool = False,
) -> WindowUsage:
    """Prompts on ``credential_id`` in the rolling 5-hour and weekly windows ending at ``now``.

    ``tier`` defaults to the tier recorded with the credential's latest call, then to the Coding
    Plan's default tier. ``catalog`` lets a caller pass its user-overridden catalog. Simulated
    calls count only with ``include_simulated``.
    """
    now = now or datetime.now(UTC)
    catalog = catalog or load_catalog()
    week_start = now - WEEK
    mine = ModelCall.credential_id == credential_id
    if not include_simulated:
        mine = mine & ModelCall.simulated.is_(False)
    in_week = mine & (ModelCall.created_at > week_start) & (ModelCall.created_at <= now)
    with use_session(db) as session:
        times = list(
            session.scalars(
                select(ModelCall.created_at)
                .where(in_week & ModelCall.outcome.in_(QUOTA_CONSUMING_OUTCOMES))
                .order_by(ModelCall.created_at)
            )
        )
        models = tuple(
            session.scalars(select(ModelCall.model).where(in_week).distinct().order_by(ModelCall.model))
        )
        last = session.execute(
            select(ModelCall.tier, ModelCall.plan, ModelCall.simulated)
            .where(mine)
            .order_by(ModelCall.created_at.desc(), ModelCall.id.desc())
            .limit(1)
        ).first()
        quota_error = session.scalar(
            select(ModelCall.created_at)
            .where(in_week & (ModelCall.outcome == QUOTA_WINDOW_OUTCOME))
            .order_by(ModelCall.created_at.desc())
            .limit(1)
        )
    plan_id = (last.plan if last else None) or CODING_PLAN
    plan = catalog.plans.get(plan_id)
    tier_id = tier or (last.tier if last else None) or (plan.default_tier if plan else None) or "lite"
    tier_card = catalog.tiers.get(tier_id)
    five_start = now - FIVE_HOURS
    limit_5h = tier_card.prompts_5h if tier_card else None
    limit_week = tier_card.prompts_week if tier_card else None
    return WindowUsage(
        credential_id=credential_id,
        plan=plan_id,
        tier=tier_id,
        models=models,
        five_hour=_count([t for t in times if t > five_start], FIVE_HOURS, limit_5h),
        week=_count(times, WEEK, limit_week),
        last_quota_error_at=quota_error,
        simulated=bool(last.simulated) if last else False,
    )


def coding_plan_windows(
    db: Db, now: datetime | None = None, *, catalog: Catalog | None = None, include_simulated: bool = False
) -> list[WindowUsage]:
    """Windows for every Coding Plan credential that made a call in the last week (real calls only,
    unless ``include_simulated``)."""
    now = now or datetime.now(UTC)
    recent = (
        (ModelCall.plan == CODING_PLAN)
        & ModelCall.credential_id.is_not(None)
        & (ModelCall.created_at > now - WEEK)
        & (ModelCall.created_at <= now)
    )
    if not include_simulated:
        recent = recent & ModelCall.simulated.is_(False)
    with use_session(db) as session:
        credentials = list(
            session.scalars(
                select(ModelCall.credential_id).where(recent).distinct().order_by(ModelCall.credential_id)
            )
        )
        return [
            window_usage(session, c, now, catalog=catalog, include_simulated=include_simulated)
            for c in credentials
        ]


def _count(times: list[datetime], span: timedelta, limit: int | None) -> WindowCount:
    """``times`` are sorted ascending and all inside the window."""
    oldest = times[0] if times else None
    available = None
    if limit is not None and len(times) >= limit:
        # The window is back under its ceiling once all but limit-1 of these prompts have left it.
        available = times[len(times) - limit] + span
    return WindowCount(
        span=span,
        used=len(times),
        limit=limit,
        oldest_at=oldest,
        resets_at=oldest + span if oldest else None,
        available_at=available,
    )


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None
