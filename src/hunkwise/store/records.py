"""The plain data a review hands to the ledger besides its calls.

``RunRecord`` describes one review. Its model calls are the router's own records
(:class:`hunkwise.gateway.types.Attempt`), passed to :func:`hunkwise.store.ledger.record_run`
unchanged: one shape of a call from the router to the ledger, whose stored shape is the
``model_calls`` row (:class:`hunkwise.store.tables.ModelCall`). A plain dataclass, not an ORM row,
so callers never touch SQLAlchemy and the review engine never imports the store.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

SEVERITIES: tuple[str, ...] = ("critical", "high", "medium", "low")


@dataclass(frozen=True, slots=True)
class RunRecord:
    """One review run. Usage totals (calls, tokens, cost, failovers) are not fields: the ledger sums
    them from the run's call records, so a run and its calls can never disagree.

    - ``source``: where the change came from: ``"local"``, ``"offline"``, ``"diff"``, ``"github"``,
      ``"gitlab"``, ...
    - ``status``: ``"done"``, ``"incomplete"`` (some chunks failed) or ``"failed"``.
    - ``idempotency_key``: recording the same key twice stores the run once (a retried job, a
      re-sent webhook). ``None`` generates a fresh key: every call records a new run.
    - ``repository``/``ref``: e.g. ``"acme/api"`` and ``"feature-x..main"`` or a PR URL.
    - ``findings``: counts per severity (``critical``, ``high``, ``medium``, ``low``).
    - ``simulated``: the run was served by hunkwise's simulator (``review --offline``). The ledger
      also marks a run simulated when every one of its calls is, so a caller cannot forget it.
    - ``created_at``: start of the run (aware datetime); ``None`` means "now".
    """

    source: str
    status: str = "done"
    idempotency_key: str | None = None
    repository: str | None = None
    ref: str | None = None
    files_reviewed: int = 0
    lines_reviewed: int = 0
    findings: Mapping[str, int] = field(default_factory=dict)
    failed_chunks: int = 0
    skipped_lines: int = 0
    duration_ms: int = 0
    simulated: bool = False
    created_at: datetime | None = None

    def __post_init__(self) -> None:
        unknown = set(self.findings) - set(SEVERITIES)
        if unknown:
            raise ValueError(
                f"unknown severity {', '.join(sorted(unknown))} in RunRecord.findings; "
                f"expected {', '.join(SEVERITIES)}"
            )
