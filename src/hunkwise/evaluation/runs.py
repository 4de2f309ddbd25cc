"""What one review of one case produced, in the shape the cache stores and scoring reads."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from hunkwise.gateway import Attempt, Slot, Usage
from hunkwise.review.report import ReviewReport


@dataclass(frozen=True, slots=True)
class FoundIssue:
    """A finding as scored: where it is and what it says."""

    path: str
    start_line: int
    end_line: int
    severity: str
    category: str
    title: str
    body: str = ""


@dataclass(slots=True)
class CaseRun:
    case_id: str
    findings: list[FoundIssue] = field(default_factory=list)
    complete: bool = True
    failure: str | None = None  # why the review is incomplete (failed chunks, the cost ceiling)
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    calls: int = 0
    failovers: int = 0
    latency_s: float = 0.0
    # The verification pass's share of the above (its calls are review calls too).
    verify_input_tokens: int = 0
    verify_output_tokens: int = 0
    verify_cost_usd: float = 0.0
    cached: bool = False

    @classmethod
    def of(cls, case_id: str, report: ReviewReport, slots: Sequence[Slot] = ()) -> CaseRun:
        """The case's figures from its review. Costs are at list prices when ``slots`` (the
        configuration's) are given: a provider's prompt cache, warmed by whichever configuration or
        run came first, must not make one configuration look cheaper than another, and a replay
        (one recording per request) must give the live run's figures."""
        by_name = {s.name: s for s in slots}

        def list_cost(calls: Sequence[Attempt]) -> float:
            total = 0.0
            for c in calls:
                slot = by_name.get(c.slot)
                total += (
                    slot.cost_usd(c.usage.input_tokens, c.usage.output_tokens) if slot else c.usage.cost_usd
                )
            return total

        failure = None
        if report.failed_chunks:
            first = report.failed_chunks[0]
            failure = f"{len(report.failed_chunks)} chunk(s) failed: {first.detail}"
        verify = sum((c.usage for c in report.calls if c.purpose == "verify"), Usage())
        return cls(
            case_id=case_id,
            findings=[
                FoundIssue(f.path, f.start_line, f.end_line, f.severity, f.category, f.title, f.body)
                for f in report.findings
            ],
            complete=report.complete,
            failure=failure,
            input_tokens=report.usage.input_tokens,
            output_tokens=report.usage.output_tokens,
            cost_usd=list_cost(report.calls),
            calls=sum(1 for c in report.calls if c.is_call),
            failovers=report.failovers,
            latency_s=report.duration_s,
            verify_input_tokens=verify.input_tokens,
            verify_output_tokens=verify.output_tokens,
            verify_cost_usd=list_cost([c for c in report.calls if c.purpose == "verify"]),
        )

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out.pop("cached")
        return out

    @classmethod
    def from_dict(cls, doc: dict[str, Any]) -> CaseRun | None:
        """A cached run, or ``None`` when the entry has another shape (an older hunkwise)."""
        try:
            findings = [FoundIssue(**f) for f in doc["findings"]]
            fields = {k: v for k, v in doc.items() if k != "findings"}
            return cls(findings=findings, cached=True, **fields)
        except (KeyError, TypeError):
            return None
