"""The usage ledger: record review runs and model calls, and summarize them.

A model call arrives as the router's own record (:class:`~hunkwise.gateway.types.Attempt`) and is
stored as one ``model_calls`` row (:class:`~hunkwise.store.tables.ModelCall`); every total here
(a run's calls, tokens, cost and failovers, the summaries) is a sum over those rows.

Recording is idempotent per ``RunRecord.idempotency_key`` (a unique column, checked inside the
write transaction and enforced by the database when two writers race), so a retried job or a
re-delivered webhook never counts usage twice.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal

from sqlalchemy import case, func, select
from sqlalchemy.exc import IntegrityError

from hunkwise.catalog.plan_advice import CallRow
from hunkwise.gateway import SKIPPED_OUTCOMES, Attempt, count_failovers
from hunkwise.store.db import Db, open_store, use_session
from hunkwise.store.records import RunRecord
from hunkwise.store.tables import ModelCall, ReviewJob, ReviewRun, utcnow

GroupBy = Literal["model", "day", "slot"]
GROUPINGS: tuple[GroupBy, ...] = ("model", "day", "slot")


def record_run(db: Db, run: RunRecord, calls: Iterable[Attempt]) -> int:
    """Store a run and its calls (the router's records, e.g. ``ReviewReport.calls``); return the
    run's id.

    Recording a run whose ``idempotency_key`` is already stored changes nothing and returns the
    existing id. With an engine this commits; with a session the caller commits.
    """
    calls = list(calls)
    key = run.idempotency_key or uuid.uuid4().hex
    started = run.created_at or utcnow()
    with use_session(db, write=True) as session:
        existing = session.scalar(select(ReviewRun.id).where(ReviewRun.idempotency_key == key))
        if existing is not None:
            return existing
        row = ReviewRun(
            idempotency_key=key,
            created_at=started,
            source=run.source,
            repository=run.repository,
            ref=run.ref,
            status=run.status,
            files_reviewed=run.files_reviewed,
            lines_reviewed=run.lines_reviewed,
            findings_critical=run.findings.get("critical", 0),
            findings_high=run.findings.get("high", 0),
            findings_medium=run.findings.get("medium", 0),
            findings_low=run.findings.get("low", 0),
            failed_chunks=run.failed_chunks,
            skipped_lines=run.skipped_lines,
            calls=sum(1 for c in calls if c.is_call),
            input_tokens=sum(c.usage.input_tokens for c in calls),
            output_tokens=sum(c.usage.output_tokens for c in calls),
            reasoning_tokens=sum(c.usage.reasoning_tokens for c in calls),
            cost_usd=sum(c.usage.cost_usd for c in calls),
            failovers=count_failovers(calls),
            duration_ms=run.duration_ms,
            simulated=run.simulated or (bool(calls) and all(c.simulated for c in calls)),
        )
        try:
            with session.begin_nested():
                session.add(row)
                session.flush()
                # A call without a time is dated when recorded (the end of the run): later rather than
                # earlier keeps Coding Plan window estimates on the safe side.
                recorded = utcnow()
                session.add_all(_call_row(c, row.id, recorded) for c in calls)
                session.flush()
        except IntegrityError:
            # Another writer stored the same key between our check and our insert.
            winner = session.scalar(select(ReviewRun.id).where(ReviewRun.idempotency_key == key))
            if winner is None:
                raise
            return winner
        return row.id


def record_review(run: RunRecord, calls: Iterable[Attempt], *, url: str) -> int:
    """One-shot for a CLI command: open the configured store (migrating it if needed), record the
    run, close. From async code run it in a thread (``await asyncio.to_thread(record_review, ...)``):
    the store is synchronous because its writes are small and SQLite has no async driver here."""
    engine = open_store(url)
    try:
        return record_run(engine, run, calls)
    finally:
        engine.dispose()


def record_calls(db: Db, calls: Iterable[Attempt]) -> int:
    """Store calls made outside a review run (``hunkwise chat``); return how many."""
    rows = [_call_row(c, None, utcnow()) for c in calls]
    with use_session(db, write=True) as session:
        session.add_all(rows)
        session.flush()
    return len(rows)


def _call_row(c: Attempt, run_id: int | None, default_time: datetime) -> ModelCall:
    """The stored shape of a call record. It is dated by the call's own start (``Attempt.at``):
    a Coding Plan window counts prompts *sent* in the last hours, and a long review is recorded
    only when it ends. A record without a time (built by hand) gets ``default_time``."""
    return ModelCall(
        run_id=run_id,
        created_at=datetime.fromtimestamp(c.at, UTC) if c.at > 0 else default_time,
        slot=c.slot,
        provider=c.provider,
        model=c.model,
        credential_id=c.credential_id,
        plan=c.plan,
        tier=c.tier,
        purpose=c.purpose,
        outcome=c.outcome,
        status=c.status,
        code=c.code,
        input_tokens=c.usage.input_tokens,
        output_tokens=c.usage.output_tokens,
        reasoning_tokens=c.usage.reasoning_tokens,
        cached_tokens=c.usage.cached_tokens,
        cost_usd=c.usage.cost_usd,
        latency_ms=c.latency_ms,
        waited_ms=c.waited_ms,
        failover=c.failover,
        simulated=c.simulated,
    )


# -- summaries ------------------------------------------------------------------------------------
@dataclass(slots=True)
class UsageRow:
    """Totals for one group (a model, a UTC day, a slot) or for everything (``key == "total"``).

    ``simulated`` rows hold calls served by hunkwise's simulator: they never add to real totals.
    """

    key: str
    calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    reasoning_tokens: int = 0
    cached_tokens: int = 0
    cost_usd: float = 0.0
    failovers: int = 0
    avg_latency_ms: float | None = None
    errors: dict[str, int] = field(default_factory=dict)  # outcome -> count, "ok" excluded
    simulated: bool = False

    def add(self, other: UsageRow) -> None:
        """Fold ``other`` into this row (latency weighted by calls)."""
        weighted = (self.avg_latency_ms or 0.0) * self.calls + (other.avg_latency_ms or 0.0) * other.calls
        self.calls += other.calls
        self.input_tokens += other.input_tokens
        self.output_tokens += other.output_tokens
        self.reasoning_tokens += other.reasoning_tokens
        self.cached_tokens += other.cached_tokens
        self.cost_usd += other.cost_usd
        self.failovers += other.failovers
        self.avg_latency_ms = weighted / self.calls if self.calls else None
        for outcome, count in other.errors.items():
            self.errors[outcome] = self.errors.get(outcome, 0) + count

    def as_dict(self) -> dict[str, Any]:
        """The JSON shape of ``hunkwise usage --json`` and the usage API, built in one place so both agree."""
        return {
            "key": self.key,
            "simulated": self.simulated,
            "calls": self.calls,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "reasoning_tokens": self.reasoning_tokens,
            "cached_tokens": self.cached_tokens,
            "cost_usd": round(self.cost_usd, 6),
            "failovers": self.failovers,
            "avg_latency_ms": None if self.avg_latency_ms is None else round(self.avg_latency_ms, 1),
            "errors": dict(sorted(self.errors.items())),
        }


@dataclass(slots=True)
class UsageSummary:
    """Real usage (``runs``, ``total``) and, apart, what the simulator served in the same period.

    Simulated calls are always counted (``simulated_runs``, ``simulated``) so a caller can say how
    many it hides; their rows are in ``rows`` only when ``include_simulated`` was asked for, and
    they never add to ``total``.
    """

    since: datetime | None
    by: GroupBy
    runs: int
    rows: list[UsageRow]
    total: UsageRow
    simulated_runs: int = 0
    simulated: UsageRow = field(default_factory=lambda: UsageRow(key="simulated", simulated=True))
    include_simulated: bool = False

    @property
    def empty(self) -> bool:
        """No real usage in the period (simulated calls do not make it non-empty)."""
        return self.runs == 0 and self.total.calls == 0 and not self.total.errors

    @property
    def has_simulated(self) -> bool:
        """Whether simulator traffic is in the period: reports show it apart, so a test run never looks like
        spend.
        """
        s = self.simulated
        return self.simulated_runs > 0 or s.calls > 0 or bool(s.errors)

    def as_dict(self) -> dict[str, Any]:
        """The JSON shape of ``hunkwise usage --json`` and the usage API, built in one place so both agree."""
        return {
            "since": self.since.isoformat() if self.since else None,
            "by": self.by,
            "runs": self.runs,
            "rows": [r.as_dict() for r in self.rows],
            "total": self.total.as_dict(),
            "simulated": {
                "included": self.include_simulated,
                "runs": self.simulated_runs,
                "calls": self.simulated.calls,
                "total": self.simulated.as_dict() if self.include_simulated else None,
            },
        }


def usage_summary(
    db: Db, since: datetime | None = None, by: GroupBy = "model", *, include_simulated: bool = False
) -> UsageSummary:
    """Calls, tokens, cost, failovers and errors by kind since ``since`` (all time if ``None``),
    grouped by model, UTC day or slot, plus the number of review runs in the period.

    Calls served by the simulator are kept apart: counted in ``simulated``/``simulated_runs``,
    listed as their own rows (``simulated=True``) only with ``include_simulated``.
    """
    if by not in GROUPINGS:
        raise ValueError(f"cannot group usage by {by!r}; choose one of {', '.join(GROUPINGS)}")
    key_col: Any = {
        "model": ModelCall.model,
        "slot": ModelCall.slot,
        "day": func.date(ModelCall.created_at),
    }[by]
    real_call = case((ModelCall.outcome.not_in(SKIPPED_OUTCOMES), 1), else_=0)
    totals = (
        select(
            key_col.label("key"),
            ModelCall.simulated,
            func.sum(real_call),
            func.sum(ModelCall.input_tokens),
            func.sum(ModelCall.output_tokens),
            func.sum(ModelCall.reasoning_tokens),
            func.sum(ModelCall.cached_tokens),
            func.sum(ModelCall.cost_usd),
            func.sum(case((ModelCall.failover.is_(True), 1), else_=0)),
            func.avg(case((ModelCall.outcome.not_in(SKIPPED_OUTCOMES), ModelCall.latency_ms), else_=None)),
        )
        .group_by(key_col, ModelCall.simulated)
        .order_by(key_col)
    )
    errors = (
        select(key_col.label("key"), ModelCall.simulated, ModelCall.outcome, func.count())
        .where(ModelCall.outcome != "ok")
        .group_by(key_col, ModelCall.simulated, ModelCall.outcome)
    )
    runs = select(ReviewRun.simulated, func.count(ReviewRun.id)).group_by(ReviewRun.simulated)
    if since is not None:
        totals = totals.where(ModelCall.created_at >= since)
        errors = errors.where(ModelCall.created_at >= since)
        runs = runs.where(ReviewRun.created_at >= since)

    with use_session(db) as session:
        rows = {
            (_key(r[0]), bool(r[1])): UsageRow(
                key=_key(r[0]),
                simulated=bool(r[1]),
                calls=int(r[2] or 0),
                input_tokens=int(r[3] or 0),
                output_tokens=int(r[4] or 0),
                reasoning_tokens=int(r[5] or 0),
                cached_tokens=int(r[6] or 0),
                cost_usd=float(r[7] or 0.0),
                failovers=int(r[8] or 0),
                avg_latency_ms=None if r[9] is None else float(r[9]),
            )
            for r in session.execute(totals)
        }
        for key, simulated, outcome, count in session.execute(errors):
            rows[(_key(key), bool(simulated))].errors[outcome] = int(count)
        run_counts = {bool(sim): int(n or 0) for sim, n in session.execute(runs)}

    real = [r for r in rows.values() if not r.simulated]
    simulated = [r for r in rows.values() if r.simulated]
    total = UsageRow(key="total")
    for row in real:
        total.add(row)
    simulated_total = UsageRow(key="simulated", simulated=True)
    for row in simulated:
        simulated_total.add(row)
    return UsageSummary(
        since=since,
        by=by,
        runs=run_counts.get(False, 0),
        rows=real + simulated if include_simulated else real,
        total=total,
        simulated_runs=run_counts.get(True, 0),
        simulated=simulated_total,
        include_simulated=include_simulated,
    )


def _key(value: Any) -> str:
    return value.isoformat() if isinstance(value, date) else str(value)


# -- plan advice ----------------------------------------------------------------------------------
def org_run_ids(db: Db, org: str) -> set[int]:
    """The review runs an organization's jobs recorded (``run_id`` in each job's checkpoint): the
    ledger is installation-wide, so this is how a page or an API call is scoped to one tenant."""
    ids: set[int] = set()
    with use_session(db) as session:
        for checkpoint in session.scalars(select(ReviewJob.checkpoint).where(ReviewJob.org == org)):
            if isinstance(checkpoint, dict) and isinstance(checkpoint.get("run_id"), int):
                ids.add(checkpoint["run_id"])
    return ids


def advice_calls(db: Db, start: datetime, end: datetime, *, run_ids: set[int] | None = None) -> list[CallRow]:
    """The period's model calls as the plan advisor's rows (oldest first), simulated ones included
    and flagged (the advisor counts and ignores them). Skipped slots made no request: left out.
    ``run_ids`` limits the rows to those runs (one organization's, :func:`org_run_ids`)."""
    query = (
        select(ModelCall)
        .where(
            (ModelCall.created_at >= start)
            & (ModelCall.created_at <= end)
            & ModelCall.outcome.not_in(SKIPPED_OUTCOMES)
        )
        .order_by(ModelCall.created_at, ModelCall.id)
    )
    if run_ids is not None:
        query = query.where(ModelCall.run_id.in_(run_ids))
    with use_session(db) as session:
        return [
            CallRow(
                at=c.created_at,
                provider=c.provider,
                model=c.model,
                outcome=c.outcome,
                input_tokens=c.input_tokens,
                output_tokens=c.output_tokens,
                cached_tokens=c.cached_tokens,
                cost_usd=c.cost_usd,
                plan=c.plan,
                simulated=c.simulated,
            )
            for c in session.scalars(query)
        ]


# -- periods --------------------------------------------------------------------------------------
_DURATION = re.compile(r"^\s*(\d+)\s*(m|min|h|d|w)\s*$", re.IGNORECASE)
_UNITS = {"m": "minutes", "min": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_since(text: str, now: datetime | None = None) -> datetime:
    """``7d``, ``24h``, ``30m``, ``2w`` (ago), a date ``2026-11-01`` (midnight UTC) or an ISO
    date-time (UTC unless it names an offset). Raises ``ValueError`` with a usable message."""
    now = now or datetime.now(UTC)
    value = text.strip()
    match = _DURATION.match(value)
    if match:
        amount = int(match.group(1))
        if amount <= 0:
            raise ValueError(f"--since must be a positive duration, got {text!r}")
        return now - timedelta(**{_UNITS[match.group(2).lower()]: amount})
    try:
        if len(value) == 10:
            return datetime.combine(date.fromisoformat(value), time.min, tzinfo=UTC)
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(
            f"--since expects a duration like 7d, 24h, 30m, 2w or a date like 2026-11-01; got {text!r}"
        ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
