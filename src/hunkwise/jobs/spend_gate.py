"""The spend gate of a review job: the per-review cost ceiling and the monthly budget.

A review that would pass either does not run. The job then posts one notice on the pull request
(:func:`hunkwise.jobs.posting.build_notice`, fingerprinted per pull request, reason and month,
so it is said once and not on every push) and fails for good with a machine-readable
``reason`` on its row (:data:`REVIEW_CEILING`, :data:`BUDGET_EXHAUSTED`): the reviews API, the
dead letters and any status posted for the commit can say why. Raised as the message says, the
job runs when retried (``POST /api/jobs/{id}/retry``).

The monthly budget is enforced by reservation (:mod:`hunkwise.store.budget`): the review
engine asks :meth:`BudgetGate.admit` with its plan's estimate before its first request; the
reservation is settled with the ledger's record of the run, or released when the review fails.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Engine

from hunkwise.config.review_settings import MonthlyBudget, money
from hunkwise.errors import PermanentError
from hunkwise.jobs.review_status import Incomplete
from hunkwise.review.report import ReviewReport
from hunkwise.store import budget as store

BUDGET_EXHAUSTED = "budget_exhausted"
REVIEW_CEILING = "review_ceiling"
REASONS = (BUDGET_EXHAUSTED, REVIEW_CEILING)


class ReviewRefused(PermanentError):
    """The review was not started because of its cost; nothing was sent to a model. ``reason``
    (also ``job_reason``, which the job engine writes on the row) is the machine-readable word,
    ``headline`` the notice's first line, the message the job's
    error; ``facts`` (label, value) and ``advice`` say the same in the notice, as a table and a
    line (without them the notice shows the message)."""

    def __init__(
        self,
        reason: str,
        headline: str,
        message: str,
        *,
        facts: tuple[tuple[str, str], ...] = (),
        advice: str = "",
    ) -> None:
        super().__init__(message)
        self.reason = self.job_reason = reason
        self.headline = headline
        self.facts = facts
        self.advice = advice

    @property
    def status_reason(self) -> Incomplete:
        """What the merge status says (hunkwise.jobs.review_status.reason_of reads it)."""
        return Incomplete.BUDGET_EXHAUSTED if self.reason == BUDGET_EXHAUSTED else Incomplete.COST_CAP


def budget_refusal(org: str, refused: store.Reservation, budget: MonthlyBudget) -> ReviewRefused:
    """What a job says when the month cannot take its estimate: spent, reserved, budget, how to raise it."""
    b = refused.burn
    needed = math.ceil((b.used_usd + refused.estimate_usd) * 100) / 100
    renews = f"{b.resets_at:%Y-%m-%d} 00:00 UTC"
    message = (
        f"review not started: the monthly budget of organization {org!r} is reached: "
        f"{money(b.spent_usd)} spent and {money(b.reserved_usd)} reserved by running reviews of "
        f"{money(b.budget_usd or 0.0)} ({budget.source}) in {b.month} (UTC), and this review's estimated "
        f"{money(refused.estimate_usd)} does not fit; nothing was sent. The budget renews on "
        f"{renews}. To review now, it must be at least ${needed:.2f}. " + budget.raise_with(org)
    )
    facts = (
        (f"Spent in {b.month} (UTC)", money(b.spent_usd)),
        ("Reserved by reviews running now", money(b.reserved_usd)),
        (f"Monthly budget ({budget.source})", money(b.budget_usd or 0.0)),
        ("This review's estimate", money(refused.estimate_usd)),
        ("The budget renews", renews),
    )
    advice = f"To review this change now, the budget must be at least ${needed:.2f}. " + budget.raise_with(
        org
    )
    return ReviewRefused(
        BUDGET_EXHAUSTED,
        "The monthly review budget of this organization is reached.",
        message,
        facts=facts,
        advice=advice,
    )


def ceiling_refusal(text: str) -> ReviewRefused:
    """The per-review cost ceiling's stop (its message already says how to raise it)."""
    return ReviewRefused(
        REVIEW_CEILING,
        "This change is above the per-review cost ceiling.",
        f"review not started: {text}",
    )


@dataclass
class BudgetGate:
    """Reserves a review job's estimate against its organization's month (blocking store calls
    run in a thread). One per job: it remembers whether it holds a reservation."""

    engine: Engine
    org: str
    job_key: str
    budget_for_org: Callable[[str], MonthlyBudget]
    token: str | None = None  # the hold this gate took (hunkwise.store.budget.Reservation.token)

    async def admit(self, report: ReviewReport) -> None:
        """The review engine's ``admit`` hook: reserve the plan's estimate or refuse the review."""
        budget = await asyncio.to_thread(self.budget_for_org, self.org)
        outcome = await asyncio.to_thread(
            store.reserve, self.engine, self.org, self.job_key, report.estimated_cost_usd, budget
        )
        if not outcome.granted:
            raise budget_refusal(self.org, outcome, budget)
        self.token = outcome.token

    async def release(self) -> None:
        """Give the hold back (the review failed); a no-op when nothing is held."""
        if self.token is not None:
            await asyncio.to_thread(store.release, self.engine, self.job_key, token=self.token)
            self.token = None


__all__ = ["BUDGET_EXHAUSTED", "REASONS", "REVIEW_CEILING", "BudgetGate", "ReviewRefused", "budget_refusal"]
