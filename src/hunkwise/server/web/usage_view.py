"""The Usage page's numbers: tokens and cost per day per model and failovers per day (the Coding
Plan windows of the keys in scope come from :mod:`hunkwise.server.usage_windows`).

Scope: the ledger (``model_calls``) is installation-wide, so an organization sees only the
calls of the runs its own review jobs recorded (``run_id`` beside the job's report, in its checkpoint);
the admin without an organization selected sees everything. That is why this groups the rows
itself instead of calling :func:`hunkwise.store.ledger.usage_summary`, which has no scope.

Calls served by hunkwise's simulator (an offline review recorded in the same database) spent
nothing: they are counted but not shown unless asked for, and then as their own series
("glm-5.1 (simulated)") that never adds to the totals.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from hunkwise.gateway import SKIPPED_OUTCOMES
from hunkwise.store.db import Db, use_session
from hunkwise.store.ledger import org_run_ids
from hunkwise.store.tables import ModelCall


@dataclass
class UsageData:
    days: list[str]
    models: list[str]
    tokens: dict[str, list[float]]  # model -> per day
    cost: dict[str, list[float]]
    failovers: list[float]
    calls: int
    total_tokens: int
    total_cost: float
    total_failovers: int
    table: list[dict[str, Any]]  # one row per (day, model) for the accessible table
    include_simulated: bool = False
    simulated_calls: int = 0  # in the period, shown or not
    simulated_cost: float = 0.0


SIMULATED_SUFFIX = " (simulated)"


def usage_data(
    db: Db, *, org: str | None, days: int = 14, now: datetime | None = None, include_simulated: bool = False
) -> UsageData:
    now = now or datetime.now(UTC)
    start_day = (now - timedelta(days=days - 1)).date()
    since = datetime.combine(start_day, datetime.min.time(), tzinfo=UTC)
    query = select(ModelCall).where(ModelCall.created_at >= since)
    if org is not None:
        query = query.where(ModelCall.run_id.in_(org_run_ids(db, org)))
    with use_session(db) as session:
        calls = list(session.scalars(query))
    day_list = [(start_day + timedelta(days=i)).isoformat() for i in range(days)]
    index = {d: i for i, d in enumerate(day_list)}
    tokens: dict[str, list[float]] = defaultdict(lambda: [0.0] * days)
    cost: dict[str, list[float]] = defaultdict(lambda: [0.0] * days)
    failovers = [0.0] * days
    count = total_tokens = 0
    total_cost = 0.0
    simulated_calls, simulated_cost = 0, 0.0
    simulated_series: set[str] = set()
    for c in calls:
        day = c.created_at.astimezone(UTC).date().isoformat()
        if day not in index:
            continue
        i = index[day]
        counted = c.outcome not in SKIPPED_OUTCOMES
        if c.simulated:
            simulated_calls += counted
            simulated_cost += c.cost_usd
            if not include_simulated:
                continue
            series = c.model + SIMULATED_SUFFIX
            simulated_series.add(series)
        else:
            series = c.model
            count += counted
            total_tokens += c.input_tokens + c.output_tokens
            total_cost += c.cost_usd
            failovers[i] += 1 if c.failover else 0
        tokens[series][i] += c.input_tokens + c.output_tokens
        cost[series][i] += c.cost_usd
    models = sorted(tokens)
    table = [
        {
            "day": d,
            "model": m,
            "tokens": int(tokens[m][i]),
            "cost_usd": cost[m][i],
            "simulated": m in simulated_series,
        }
        for i, d in enumerate(day_list)
        for m in models
        if tokens[m][i] or cost[m][i]
    ]
    return UsageData(
        days=day_list,
        models=models,
        tokens={m: tokens[m] for m in models},
        cost={m: cost[m] for m in models},
        failovers=failovers,
        calls=count,
        total_tokens=total_tokens,
        total_cost=total_cost,
        total_failovers=int(sum(failovers)),
        table=table,
        include_simulated=include_simulated,
        simulated_calls=simulated_calls,
        simulated_cost=simulated_cost,
    )
