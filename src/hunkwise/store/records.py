"""The plain data the review CLI (and later the server's jobs) hands to the ledger.

``RunRecord`` describes one review; ``CallRecord`` one attempt against one slot. They are plain
dataclasses, not ORM rows, so callers never touch SQLAlchemy and the review engine never imports the
store: ``cli/review.py`` builds them (usually with :func:`calls_from_result`) and passes them to
:func:`hunkwise.store.ledger.record_run`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from hunkwise.gateway.types import SKIPPED_OUTCOMES, Attempt, ChatResult, Slot, Usage

SEVERITIES: tuple[str, ...] = ("critical", "high", "medium", "low")
"""An attempt that never reached the provider (the slot's circuit was open). Recorded, because it
explains a failover, but not counted as a call."""


@dataclass(frozen=True, slots=True)
class CallRecord:
    """One attempt against one slot.

    - ``slot``/``provider``/``model``: as in :class:`~hunkwise.gateway.types.Attempt`.
    - ``outcome``: ``"ok"``, an ``ErrorKind`` value (``"quota_window"``, ``"rate"``, ...) or
      a skip (``gateway.types.SKIPPED_OUTCOMES``: recorded, never counted as a call).
    - ``credential_id``: ``Slot.credential_id`` (provider | base URL | key fingerprint), never the key;
      the Coding Plan windows are counted per credential.
    - ``plan``/``tier``: the Z.AI plan and Coding Plan tier of the slot (``None`` elsewhere).
    - ``purpose``: ``ChatRequest.purpose`` (``"review"``, ``"repair"``, ``"probe"``, ...).
    - ``status``/``code``: HTTP status and provider business code of a failure.
    - tokens and ``cost_usd``: what the provider reported for this call (zero for a failed call);
      ``output_tokens`` includes reasoning tokens, as providers bill them.
    - ``latency_ms``/``waited_ms``: time on the wire and time queued for a concurrency slot.
    - ``failover``: this attempt went to a different slot than the attempt before it.
    - ``simulated``: the slot was hunkwise's simulator (``Slot.simulated``): no money was spent,
      so summaries and Coding Plan windows leave the call out unless asked to include it.
    - ``created_at``: when the call was made (aware datetime); ``None`` means "now".
    """

    slot: str
    provider: str
    model: str
    outcome: str
    credential_id: str | None = None
    plan: str | None = None
    tier: str | None = None
    purpose: str = "review"
    status: int | None = None
    code: str | None = None
    input_tokens: int = 0
    output_tokens: int = 0
    reasoning_tokens: int = 0
    cached_tokens: int = 0
    cost_usd: float = 0.0
    latency_ms: float = 0.0
    waited_ms: float = 0.0
    failover: bool = False
    simulated: bool = False
    created_at: datetime | None = None

    @property
    def is_call(self) -> bool:
        return self.outcome not in SKIPPED_OUTCOMES


@dataclass(frozen=True, slots=True)
class RunRecord:
    """One review run. Usage totals (calls, tokens, cost, failovers) are not fields: the ledger sums
    them from the run's ``CallRecord`` list, so a run and its calls can never disagree.

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


def calls_from_attempts(
    attempts: Iterable[Attempt],
    *,
    slots: Iterable[Slot] = (),
    usage: Usage | None = None,
    purpose: str = "review",
    at: datetime | None = None,
) -> list[CallRecord]:
    """Turn a gateway attempt log into call records.

    ``slots`` supplies what an ``Attempt`` does not carry (credential id, plan, tier, whether the
    slot is the simulator), matched by slot name. ``usage`` (the answered request's usage) is
    attributed to the last successful attempt; failed attempts carry no tokens. Use this directly
    for ``AllSlotsFailed.attempts``.

    Each record is dated by its attempt's own start time (``Attempt.at``) when the router set one:
    a Coding Plan window is a count of prompts *sent* in the last hours, and a long review is
    recorded only when it ends. ``at`` dates attempts that carry no time (built by hand, or by an
    older router); ``None`` leaves those to the ledger's "now".
    """
    by_name = {s.name: s for s in slots}
    items = list(attempts)
    answered = max((i for i, a in enumerate(items) if a.outcome == "ok"), default=None)
    records: list[CallRecord] = []
    previous: str | None = None
    for i, a in enumerate(items):
        slot = by_name.get(a.slot)
        u = usage if (usage is not None and i == answered) else None
        records.append(
            CallRecord(
                slot=a.slot,
                provider=a.provider,
                model=a.model,
                outcome=a.outcome,
                credential_id=slot.credential_id if slot else None,
                plan=slot.plan if slot else None,
                tier=slot.tier if slot else None,
                purpose=purpose,
                status=a.status,
                code=a.code,
                input_tokens=u.input_tokens if u else 0,
                output_tokens=u.output_tokens if u else 0,
                reasoning_tokens=u.reasoning_tokens if u else 0,
                cached_tokens=u.cached_tokens if u else 0,
                cost_usd=u.cost_usd if u else 0.0,
                latency_ms=a.latency_ms,
                waited_ms=a.waited_ms,
                failover=previous is not None and a.slot != previous,
                simulated=slot.simulated if slot else False,
                created_at=datetime.fromtimestamp(a.at, UTC) if a.at > 0 else at,
            )
        )
        previous = a.slot
    return records


def calls_from_result(
    result: ChatResult,
    *,
    slots: Iterable[Slot] = (),
    purpose: str = "review",
    at: datetime | None = None,
) -> list[CallRecord]:
    """Call records for one answered request (its attempts, with its usage on the answering call)."""
    return calls_from_attempts(result.attempts, slots=slots, usage=result.usage, purpose=purpose, at=at)
