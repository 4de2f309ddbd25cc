"""The store: SQLAlchemy models, packaged Alembic migrations and small repository functions.

Open it with :func:`open_store` (an engine migrated to head), then call the repository functions
with that engine (they commit) or with your own session (you commit)::

    engine = open_store(database_url(settings))
    run_id = record_run(engine, RunRecord(source="local", idempotency_key=key), report.calls)
    summary = usage_summary(engine, since=parse_since("7d"), by="model")
"""

from hunkwise.store.calibration import load_calibration, load_ratios, save_ratios
from hunkwise.store.db import (
    current_revision,
    database_url,
    head_revision,
    make_engine,
    open_store,
    session_scope,
    upgrade,
)
from hunkwise.store.ledger import (
    UsageRow,
    UsageSummary,
    parse_since,
    record_calls,
    record_review,
    record_run,
    usage_summary,
)
from hunkwise.store.records import RunRecord
from hunkwise.store.windows import WindowCount, WindowUsage, coding_plan_windows, window_usage

__all__ = [
    "RunRecord",
    "UsageRow",
    "UsageSummary",
    "WindowCount",
    "WindowUsage",
    "coding_plan_windows",
    "current_revision",
    "database_url",
    "head_revision",
    "load_calibration",
    "load_ratios",
    "make_engine",
    "open_store",
    "parse_since",
    "record_calls",
    "record_review",
    "record_run",
    "save_ratios",
    "session_scope",
    "upgrade",
    "usage_summary",
    "window_usage",
]
