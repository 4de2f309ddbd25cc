"""The result of a review, as data: what every report format renders and what the ledger records.

One value object with one JSON shape (``to_json``, version 1, documented in docs/reviewing.md),
so the CLI, the server and CI integrations agree on what a review said. Renderers in
``review.reports`` only format it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from hunkwise.catalog.findings_contract import SEVERITY_RANK, Severity
from hunkwise.gateway import Attempt, Usage, count_failovers
from hunkwise.review.findings import Finding

if TYPE_CHECKING:
    from hunkwise.config.review_settings import CostCeiling

REPORT_VERSION = 1
Source = Literal["llm", "offline-simulator"]


@dataclass(frozen=True, slots=True)
class SkippedLines:
    """Changed lines no request covered, and the rule that skipped them (never silent)."""

    path: str
    lines: int
    rule: str
    detail: str = ""
    ranges: str = ""  # "1-40, 52": which new-file lines, compactly

    @classmethod
    def of(cls, path: str, line_numbers: list[int], rule: str, detail: str = "") -> SkippedLines:
        """Build a skip entry from line numbers, stored as compact ranges so a long skip does not bloat the
        report.
        """
        return cls(path, len(line_numbers), rule, detail, compact_ranges(line_numbers))

    def as_dict(self) -> dict[str, Any]:
        """The JSON shape of skipped lines in the report."""
        return {
            "path": self.path,
            "lines": self.lines,
            "line_ranges": self.ranges,
            "rule": self.rule,
            "detail": self.detail,
        }


def compact_ranges(numbers: list[int]) -> str:
    """``[1, 2, 3, 7]`` -> ``"1-3, 7"``."""
    out: list[str] = []
    ordered = sorted(set(numbers))
    i = 0
    while i < len(ordered):
        j = i
        while j + 1 < len(ordered) and ordered[j + 1] == ordered[j] + 1:
            j += 1
        out.append(str(ordered[i]) if i == j else f"{ordered[i]}-{ordered[j]}")
        i = j + 1
    return ", ".join(out)


@dataclass(frozen=True, slots=True)
class FailedChunk:
    """A request whose lines went unreviewed; the review is incomplete (exit 3).

    ``kinds``: what the chunk's failed model request met, for a caller deciding whether trying
    again can help: the outcome of each of its failed calls (an ``ErrorKind`` value); a slot
    skipped for an open circuit counts as the circuit's kind when it was the last slot tried
    (the request's last error names it), else as ``"skipped"`` (unknown). Empty when no request
    failed (an unreadable answer, an error in hunkwise): ``reason`` says what happened then.
    """

    index: int
    paths: tuple[str, ...]
    lines: int
    reason: str  # "all_slots_failed" | "invalid_output" | "error"
    detail: str
    kinds: frozenset[str] = frozenset()

    def as_dict(self) -> dict[str, Any]:
        """The JSON shape of a chunk that was not reviewed, so an
        incomplete review says so in every format.
        """
        return {
            "chunk": self.index,
            "paths": list(self.paths),
            "lines": self.lines,
            "reason": self.reason,
            "detail": self.detail,
        }


@dataclass(frozen=True, slots=True)
class PlannedChunk:
    """What one chunk was expected to cost before it ran, kept so a dry run and the cost ceiling use the same
    numbers.
    """

    index: int
    paths: tuple[str, ...]
    lines: int  # changed lines this chunk is responsible for
    estimated_input_tokens: int  # chunk + prompt overhead
    estimated_output_tokens: int
    estimated_cost_usd: float
    # With a thinking = "auto" slot: "off: docs, tests or configuration only" (review/thinking_rule.py)
    thinking: str = ""

    def as_dict(self) -> dict[str, Any]:
        """The JSON shape of a planned chunk, for the dry-run plan."""
        out: dict[str, Any] = {
            "chunk": self.index,
            "paths": list(self.paths),
            "lines": self.lines,
            "estimated_input_tokens": self.estimated_input_tokens,
            "estimated_output_tokens": self.estimated_output_tokens,
            "estimated_cost_usd": round(self.estimated_cost_usd, 6),
        }
        if self.thinking:
            out["thinking"] = self.thinking
        return out


@dataclass(slots=True)
class ReviewReport:
    """The outcome of one review: what every renderer, the CLI's exit code, the server's comment and the
    store's records read, so each reads the same facts.
    """

    findings: list[Finding] = field(default_factory=list)
    files_reviewed: int = 0
    lines_reviewed: int = 0
    skipped: list[SkippedLines] = field(default_factory=list)
    failed_chunks: list[FailedChunk] = field(default_factory=list)
    usage: Usage = field(default_factory=Usage)  # the sum of the calls' usage
    # Every model call the review made (``gateway.types.Attempt``, as the router recorded it), in
    # the order the chunks were planned: what the ledger stores, and where failovers are counted.
    calls: list[Attempt] = field(default_factory=list)
    plan: list[PlannedChunk] = field(default_factory=list)
    dropped_unanchored: int = 0
    duplicates_merged: int = 0
    # What the noise controls (review/noise.py) did not show, by control; never silent.
    below_min_severity: int = 0
    below_severity_floor: int = 0
    below_min_confidence: int = 0
    repeats_merged: int = 0
    held_back: list[Finding] = field(default_factory=list)  # over max_findings: summary only
    # The verification pass (review/verification.py): under min_score, dropped or kept for the
    # summary (verify_action), findings it could not score, and why it did not run at all.
    below_min_score: int = 0
    low_score: list[Finding] = field(default_factory=list)
    unverified: int = 0
    verification_skipped: str = ""
    dry_run: bool = False
    source: Source = "llm"
    change: dict[str, Any] = field(default_factory=dict)
    duration_s: float = 0.0
    # model -> [prompt characters, reported prompt tokens, samples]: for the store's calibration.
    calibration: dict[str, list[int]] = field(default_factory=dict, repr=False)
    # New-file text of the diff's lines, so reports can quote the code a finding is about.
    code: dict[str, dict[int, str]] = field(default_factory=dict, repr=False)
    # The slot whose context window sized the requests (slot, model, context_window, ...).
    planned_for: dict[str, Any] = field(default_factory=dict)
    # Code context around the changes (review/context.py): mode, lines sent, lines left out.
    context: dict[str, Any] = field(default_factory=lambda: {"mode": "hunk", "lines": 0, "left_out": 0})
    max_cost: CostCeiling | None = None  # the ceiling the plan was checked against

    @property
    def over_max_cost(self) -> bool:
        """Whether the estimate exceeds the cost ceiling: then no model is called and the report says why."""
        return self.max_cost is not None and self.max_cost.exceeded_by(self.estimated_cost_usd)

    # -- derived -------------------------------------------------------------------------------
    @property
    def over_max_findings(self) -> int:
        """How many findings the cap held back, so a capped review never looks clean."""
        return len(self.held_back)

    def verification_usage(self) -> dict[str, Any]:
        """The verification pass's share of the usage (its calls are in ``calls`` as well, so
        totals stay whole): what the mechanism costs, reported apart."""
        calls = [c for c in self.calls if c.purpose == "verify"]
        usage = sum((c.usage for c in calls), Usage())
        return {
            "calls": len(calls),
            "input_tokens": usage.input_tokens,
            "output_tokens": usage.output_tokens,
            "cost_usd": round(usage.cost_usd, 6),
        }

    def not_shown(self) -> list[str]:
        """One phrase per noise control that removed findings, for every report's summary."""
        parts = [
            (self.below_min_severity, "below min_severity"),
            (self.below_severity_floor, "below a path's severity floor"),
            (self.below_min_confidence, "below min_confidence"),
            (self.below_min_score, "under the verification's min_score"),
            (self.over_max_findings, "over max_findings (listed below)"),
            (self.dropped_unanchored, "not on a changed line"),
            (self.duplicates_merged, "duplicate(s) merged"),
            (self.repeats_merged, "repeat(s) merged into one finding"),
        ]
        return [f"{n} {what}" for n, what in parts if n]

    @property
    def failovers(self) -> int:
        """How many calls went to another slot than the one asked first, counted by the one rule in the
        gateway.
        """
        return count_failovers(self.calls)

    @property
    def estimated_cost_usd(self) -> float:
        """The plan's estimated cost, compared with the ceiling before any call."""
        return sum(p.estimated_cost_usd for p in self.plan)

    @property
    def estimated_input_tokens(self) -> int:
        """The plan's estimated input tokens, shown next to the measured ones."""
        return sum(p.estimated_input_tokens for p in self.plan)

    @property
    def simulated(self) -> bool:
        """Served by the offline simulator: the cost is what the catalog's prices would charge,
        and no money was spent. Every report format says so next to the cost."""
        return self.source == "offline-simulator"

    def cost_label(self) -> str:
        """The spent cost as reports print it; an offline review says its cost is not money."""
        cost = f"${self.usage.cost_usd:.4f}"
        return f"{cost} simulated (no money spent)" if self.simulated else cost

    @property
    def complete(self) -> bool:
        """Whether every chunk was reviewed; an incomplete review must not pass a gate as if it were clean."""
        return not self.failed_chunks

    @property
    def skipped_lines(self) -> int:
        """How many changed lines got no review, for the summary line."""
        return sum(s.lines for s in self.skipped)

    def models(self) -> dict[str, dict[str, Any]]:
        """Per model that answered: calls, tokens and cost (successful calls only carry usage)."""
        out: dict[str, dict[str, Any]] = {}
        for call in self.calls:
            if not call.ok:
                continue
            m = out.setdefault(
                call.model,
                {"calls": 0, "input_tokens": 0, "output_tokens": 0, "reasoning_tokens": 0, "cost_usd": 0.0},
            )
            m["calls"] += 1
            m["input_tokens"] += call.usage.input_tokens
            m["output_tokens"] += call.usage.output_tokens
            m["reasoning_tokens"] += call.usage.reasoning_tokens
            m["cost_usd"] = round(m["cost_usd"] + call.usage.cost_usd, 6)
        return out

    def counts_by_severity(self) -> dict[str, int]:
        """Findings per severity with every level present, so summaries and the API have a fixed shape."""
        counts = {s: 0 for s in ("critical", "high", "medium", "low")}
        for f in self.findings:
            counts[f.severity] += 1
        return counts

    def has_findings_at_or_above(self, severity: Severity) -> bool:
        """The ``--fail-on`` question: whether anything at or above this severity was found."""
        return any(f.rank >= SEVERITY_RANK[severity] for f in self.findings)

    def exit_code(self, fail_on: Severity | None = None) -> int:
        """0 done, 1 findings at or above ``fail_on``, 3 incomplete. Incomplete wins: a gate must
        not pass a change whose lines were not all reviewed."""
        if self.failed_chunks:
            return 3
        if fail_on and self.has_findings_at_or_above(fail_on):
            return 1
        return 0

    # -- JSON ----------------------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        """The versioned JSON report (``REPORT_VERSION``): the one shape the CLI prints, the server stores and
        the web console reads.
        """
        usage = self.usage
        out: dict[str, Any] = {
            "version": REPORT_VERSION,
            "source": self.source,
            "findings": [f.as_dict() for f in self.findings],
            "summary": {
                "files_reviewed": self.files_reviewed,
                "lines_reviewed": self.lines_reviewed,
                "findings": len(self.findings),
                "by_severity": self.counts_by_severity(),
                "skipped": [s.as_dict() for s in self.skipped],
                "failed_chunks": [c.as_dict() for c in self.failed_chunks],
                "complete": self.complete,
                "dropped_unanchored": self.dropped_unanchored,
                "duplicates_merged": self.duplicates_merged,
                "below_min_severity": self.below_min_severity,
                "below_severity_floor": self.below_severity_floor,
                "below_min_confidence": self.below_min_confidence,
                "repeats_merged": self.repeats_merged,
                "over_max_findings": self.over_max_findings,
                "held_back": [f.as_dict() for f in self.held_back],
                "below_min_score": self.below_min_score,
                "low_score": [f.as_dict() for f in self.low_score],
                "unverified": self.unverified,
                "verification_skipped": self.verification_skipped or None,
            },
            "usage": {
                "calls": usage.calls,
                "input_tokens": usage.input_tokens,
                "output_tokens": usage.output_tokens,
                "reasoning_tokens": usage.reasoning_tokens,
                "cost_usd": round(usage.cost_usd, 6),
                "simulated": self.simulated,
                "failovers": self.failovers,
                "models": self.models(),
                "verification": self.verification_usage(),
            },
            "plan": {
                "chunks": [p.as_dict() for p in self.plan],
                "estimated_input_tokens": self.estimated_input_tokens,
                "estimated_cost_usd": round(self.estimated_cost_usd, 6),
                "dry_run": self.dry_run,
                "planned_for": self.planned_for,
                "context": self.context,
                "max_cost_usd": self.max_cost.usd if self.max_cost is not None else None,
                "over_max_cost": self.over_max_cost,
            },
        }
        if self.change:
            out["change"] = self.change
        out["duration_s"] = round(self.duration_s, 3)
        return out
