"""From matched cases to the figures of one configuration.

Precision, recall and F1 are micro-averaged: true positives, false positives and false negatives
are summed over every case first, as the public review benchmarks do, so a case with ten findings
weighs ten times a case with one. A figure whose denominator is zero (no finding at all, no
expected issue at all) is ``None`` ("—" in the table, ``null`` in JSON), never a made-up 0 or 1.
Latency percentiles use the nearest-rank method on per-case wall times.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any


def ratio(num: float, den: float) -> float | None:
    return num / den if den else None


def f1_of(precision: float | None, recall: float | None) -> float | None:
    if precision is None or recall is None:
        return None
    return 2 * precision * recall / (precision + recall) if precision + recall else 0.0


def percentile(values: Sequence[float], q: float) -> float | None:
    """Nearest rank: the smallest value with at least ``q`` of the values at or below it."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(q * len(ordered)))
    return ordered[rank - 1]


@dataclass(slots=True)
class Counts:
    """True and false positives and negatives, summed over cases."""

    tp: int = 0
    fp: int = 0
    fn: int = 0

    def add(self, tp: int, fp: int, fn: int) -> None:
        self.tp += tp
        self.fp += fp
        self.fn += fn

    @property
    def precision(self) -> float | None:
        return ratio(self.tp, self.tp + self.fp)

    @property
    def recall(self) -> float | None:
        return ratio(self.tp, self.tp + self.fn)

    @property
    def f1(self) -> float | None:
        return f1_of(self.precision, self.recall)

    def as_dict(self) -> dict[str, Any]:
        return {
            "precision": _round(self.precision),
            "recall": _round(self.recall),
            "f1": _round(self.f1),
            "true_positives": self.tp,
            "false_positives": self.fp,
            "false_negatives": self.fn,
        }


@dataclass(slots=True)
class Score:
    """Every figure of one configuration over the dataset."""

    counts: Counts = field(default_factory=Counts)
    judged: Counts | None = None  # with --judge: pairs must also be accepted by the judge
    cases: int = 0
    findings: int = 0
    clean_cases: int = 0
    clean_false_positives: int = 0  # findings on changes that expect none
    clean_cases_flagged: int = 0  # clean changes with at least one finding
    incomplete_cases: int = 0  # a review with failed chunks (its misses count as misses)
    cached_cases: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    calls: int = 0
    failovers: int = 0
    latencies_s: list[float] = field(default_factory=list)
    verify_input_tokens: int = 0  # the verification pass's share of the tokens and cost above
    verify_output_tokens: int = 0
    verify_cost_usd: float = 0.0
    judge_calls: int = 0
    judge_input_tokens: int = 0
    judge_output_tokens: int = 0
    judge_cost_usd: float = 0.0
    judge_unreadable: int = 0

    @property
    def findings_per_case(self) -> float | None:
        return ratio(self.findings, self.cases)

    @property
    def cost_per_true_positive(self) -> float | None:
        return ratio(self.cost_usd, self.counts.tp)

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            **self.counts.as_dict(),
            "cases": self.cases,
            "findings": self.findings,
            "findings_per_case": _round(self.findings_per_case),
            "clean_cases": self.clean_cases,
            "clean_false_positives": self.clean_false_positives,
            "clean_cases_flagged": self.clean_cases_flagged,
            "incomplete_cases": self.incomplete_cases,
            "cached_cases": self.cached_cases,
            "tokens": {"input": self.input_tokens, "output": self.output_tokens},
            "calls": self.calls,
            "cost_usd": round(self.cost_usd, 6),
            "cost_per_true_positive_usd": _round(self.cost_per_true_positive, 6),
            "latency_s": {
                "p50": _round(percentile(self.latencies_s, 0.5), 3),
                "p95": _round(percentile(self.latencies_s, 0.95), 3),
            },
            "failovers": self.failovers,
            "verification": {
                "tokens": {"input": self.verify_input_tokens, "output": self.verify_output_tokens},
                "cost_usd": round(self.verify_cost_usd, 6),
            },
            "judged": None,
        }
        if self.judged is not None:
            out["judged"] = {
                **self.judged.as_dict(),
                "calls": self.judge_calls,
                "unreadable_verdicts": self.judge_unreadable,
                "tokens": {"input": self.judge_input_tokens, "output": self.judge_output_tokens},
                "cost_usd": round(self.judge_cost_usd, 6),
            }
        return out


def _round(value: float | None, digits: int = 4) -> float | None:
    return None if value is None else round(value, digits)
