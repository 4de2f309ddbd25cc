"""Monthly budgets: what an organization's reviews spent this month, what running reviews hold,
and the reservation a review takes before its first model request.

The month is the calendar month in UTC (``2026-12``: from 2026-12-01 00:00 UTC to 2027-01-01
00:00 UTC). **Spent** is the ledger's cost of the runs the organization's review jobs recorded in
the month (``review_runs`` joined to ``review_jobs`` by the job's idempotency key; simulator
calls excluded), so it is the same money ``hunkwise usage`` and the console count. **Reserved**
is the sum of the estimates of reviews that hold a reservation now.

A review job reserves its estimate (:func:`reserve`) before it sends anything: under a lock per
organization (PostgreSQL: a transaction-level advisory lock, released by the database when the
transaction ends, even if the worker dies in it; SQLite: the write transaction is already
exclusive), the month's spent plus the live reservations plus the estimate is compared with the
budget, and only then is the reservation written. Two workers racing for the last dollars are
serialized by that lock: the second sees the first's reservation and is refused. After the review
the reservation is settled in the same transaction that records the run in the ledger
(:func:`settle`), so the money moves from "reserved" to "spent" at once; a failed review releases
it (:func:`release`). A worker that dies holding one leaves a row that stops counting at
``expires_at`` (:data:`RESERVATION_TTL` after it was taken), so a crash never blocks a budget for
long; a retry of the same job replaces its own reservation rather than adding a second.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, literal, select, text, update
from sqlalchemy.orm import Session

from hunkwise.store.db import Db, use_session
from hunkwise.store.presence import key as lock_key
from hunkwise.store.tables import BudgetReservation, ReviewJob, ReviewRun, utcnow

if TYPE_CHECKING:
    from hunkwise.config.review_settings import MonthlyBudget

RESERVATION_TTL = timedelta(hours=1)
"""How long a reservation counts without being settled or released: longer than a review takes
(a review past it keeps running; only its hold stops counting), short enough that a dead
worker's hold does not block the budget for the rest of the day."""
WARN_AT = 0.8
"""The share of the budget at which the console and the API warn."""
LOCK_NAMESPACE = 0x6275_6467  # "budg": the first key of the per-organization budget lock
HELD, SETTLED, RELEASED = "held", "settled", "released"
JOB_RUN_PREFIX = "job:"  # a review job's ledger run is keyed "job:<dedupe key>" (jobs.review_job)


def month_of(now: datetime) -> str:
    """The budget month of an instant: its calendar month in UTC, ``YYYY-MM``."""
    return now.astimezone(UTC).strftime("%Y-%m")


def month_bounds(month: str) -> tuple[datetime, datetime]:
    """``[start, end)`` of a ``YYYY-MM`` month in UTC."""
    start = datetime.strptime(month, "%Y-%m").replace(tzinfo=UTC)
    end = (
        start.replace(year=start.year + 1, month=1)
        if start.month == 12
        else start.replace(month=start.month + 1)
    )
    return start, end


@dataclass(frozen=True, slots=True)
class Burn:
    """An organization's month: the budget, what was spent and what running reviews hold."""

    org: str
    month: str
    budget_usd: float | None  # None: no budget (spend shown, never capped)
    source: str
    spent_usd: float
    reserved_usd: float
    reservations: int  # live holds

    @property
    def used_usd(self) -> float:
        """Spent plus reserved: what the next review's estimate is added to."""
        return self.spent_usd + self.reserved_usd

    @property
    def remaining_usd(self) -> float | None:
        """What is left for new reviews this month (never negative); None without a budget."""
        return None if self.budget_usd is None else max(0.0, self.budget_usd - self.used_usd)

    @property
    def percent(self) -> float | None:
        """Spent plus reserved, as a percentage of the budget (may pass 100: a review's actual
        cost can exceed its estimate)."""
        return None if not self.budget_usd else 100.0 * self.used_usd / self.budget_usd

    @property
    def warning(self) -> bool:
        """At or past :data:`WARN_AT` of the budget: the console and the API warn."""
        return self.percent is not None and self.percent >= 100 * WARN_AT

    @property
    def exhausted(self) -> bool:
        """Nothing left: every review is refused until the budget is raised or the month ends."""
        return self.budget_usd is not None and self.used_usd >= self.budget_usd

    @property
    def resets_at(self) -> datetime:
        """When the month ends and the budget renews (UTC)."""
        return month_bounds(self.month)[1]

    def allows(self, estimate_usd: float) -> bool:
        """Whether a review estimated at ``estimate_usd`` fits in what is left."""
        return self.budget_usd is None or self.used_usd + estimate_usd <= self.budget_usd

    def as_dict(self) -> dict[str, Any]:
        """The JSON shape of ``GET /api/orgs/{org}/budget`` and the console, built once."""
        return {
            "org": self.org,
            "month": self.month,
            "budget_usd": self.budget_usd,
            "source": self.source,
            "spent_usd": round(self.spent_usd, 6),
            "reserved_usd": round(self.reserved_usd, 6),
            "reservations": self.reservations,
            "used_usd": round(self.used_usd, 6),
            "remaining_usd": None if self.remaining_usd is None else round(self.remaining_usd, 6),
            "percent_used": None if self.percent is None else round(self.percent, 1),
            "warning": self.warning,
            "exhausted": self.exhausted,
            "resets_at": self.resets_at.isoformat(),
        }


@dataclass(frozen=True, slots=True)
class Reservation:
    """What :func:`reserve` decided: ``granted``, and the month as it stood before this estimate.
    ``token`` names the hold (granted only): :func:`settle` and :func:`release` take it, so they
    end this hold and not a later one of the same job (a worker that lost its job to another)."""

    granted: bool
    estimate_usd: float
    burn: Burn
    token: str | None = None


def _lock(session: Session, org: str) -> None:
    """Serialize budget decisions of one organization until the transaction ends."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            text("SELECT pg_advisory_xact_lock(:ns, :k)"), {"ns": LOCK_NAMESPACE, "k": lock_key(org)}
        )


def _spent(session: Session, org: str, month: str) -> float:
    start, end = month_bounds(month)
    query = (
        select(func.coalesce(func.sum(ReviewRun.cost_usd), 0.0))
        .select_from(ReviewRun)
        .join(ReviewJob, ReviewRun.idempotency_key == literal(JOB_RUN_PREFIX) + ReviewJob.dedupe_key)
        .where(
            (ReviewJob.org == org)
            & (ReviewRun.created_at >= start)
            & (ReviewRun.created_at < end)
            & ReviewRun.simulated.is_(False)
        )
    )
    return float(session.scalar(query) or 0.0)


def _reserved(
    session: Session, org: str, month: str, now: datetime, *, besides: str | None = None
) -> tuple[float, int]:
    query = select(func.coalesce(func.sum(BudgetReservation.estimate_usd), 0.0), func.count()).where(
        (BudgetReservation.org == org)
        & (BudgetReservation.month == month)
        & (BudgetReservation.status == HELD)
        & (BudgetReservation.expires_at > now)
    )
    if besides is not None:
        query = query.where(BudgetReservation.job_key != besides)
    total, count = session.execute(query).one()
    return float(total or 0.0), int(count or 0)


def _burn(
    session: Session, org: str, budget: MonthlyBudget, now: datetime, *, besides: str | None = None
) -> Burn:
    month = month_of(now)
    reserved, count = _reserved(session, org, month, now, besides=besides)
    return Burn(org, month, budget.usd, budget.source, _spent(session, org, month), reserved, count)


def burn(db: Db, org: str, budget: MonthlyBudget, *, now: datetime | None = None) -> Burn:
    """The organization's month as it stands (the console, the API, ``hunkwise usage``)."""
    with use_session(db) as session:
        return _burn(session, org, budget, now or utcnow())


def reserve(
    db: Db,
    org: str,
    job_key: str,
    estimate_usd: float,
    budget: MonthlyBudget,
    *,
    now: datetime | None = None,
    ttl: timedelta = RESERVATION_TTL,
) -> Reservation:
    """Hold ``estimate_usd`` of the organization's month for the job ``job_key`` if it fits, or
    refuse (nothing written). Atomic across processes (see the module docstring); the job's own
    earlier hold, if any, is replaced, not added to."""
    now = now or utcnow()
    estimate = max(0.0, float(estimate_usd))
    with use_session(db, write=True) as session:
        _lock(session, org)
        month_now = _burn(session, org, budget, now, besides=job_key)
        if not month_now.allows(estimate):
            return Reservation(False, estimate, month_now)
        row = session.scalar(select(BudgetReservation).where(BudgetReservation.job_key == job_key))
        if row is None:
            row = BudgetReservation(org=org, job_key=job_key)
            session.add(row)
        row.month, row.status, row.estimate_usd, row.actual_usd = month_now.month, HELD, estimate, None
        row.created_at, row.expires_at, row.ended_at = now, now + ttl, None
        row.token = uuid.uuid4().hex
        session.flush()
        return Reservation(True, estimate, month_now, row.token)


def settle(
    db: Db, job_key: str, actual_usd: float, *, token: str | None = None, now: datetime | None = None
) -> bool:
    """The review ended and its run is in the ledger: the hold stops counting. Call it in the
    session that records the run, so the cost moves from reserved to spent in one commit.
    ``token``: only that hold (see :class:`Reservation`). False when nothing was held (no budget
    check ran, the hold was already ended, or it is another worker's now)."""
    return _end(db, job_key, token, SETTLED, actual_usd, now)


def release(db: Db, job_key: str, *, token: str | None = None, now: datetime | None = None) -> bool:
    """The review failed or was stopped before recording a run: give the hold back."""
    return _end(db, job_key, token, RELEASED, None, now)


def _end(
    db: Db, job_key: str, token: str | None, status: str, actual: float | None, now: datetime | None
) -> bool:
    mine = (BudgetReservation.job_key == job_key) & (BudgetReservation.status == HELD)
    if token is not None:
        mine = mine & (BudgetReservation.token == token)
    with use_session(db, write=True) as session:
        result = session.execute(
            update(BudgetReservation)
            .where(mine)
            .values(status=status, actual_usd=actual, ended_at=now or utcnow())
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]


__all__ = [
    "HELD",
    "RELEASED",
    "RESERVATION_TTL",
    "SETTLED",
    "WARN_AT",
    "Burn",
    "Reservation",
    "burn",
    "month_bounds",
    "month_of",
    "release",
    "reserve",
    "settle",
]
