"""The honest merge status: what a review's outcome means for the head commit.

One rule for the webhook server's jobs and the ``--github`` Action mode alike:

- ``pending`` while the review runs (and while a failed attempt waits to be retried);
- a finished, COMPLETE review: ``failure`` when a finding is at or above ``fail_on``, else
  ``success`` (no findings, or none that severe);
- an INCOMPLETE review (failed chunks, a quota or balance spent, the cost ceiling or budget,
  more files skipped than allowed, an error, a job abandoned) is never ``success``: it is
  ``failure`` (default) or ``neutral`` (``HUNKWISE_STATUS_INCOMPLETE=neutral``), and the
  description starts with the reason, so whoever looks at the pull request sees why;
- a head the pull request moved past before its job ran is not reviewed at all: ``neutral``,
  reason ``superseded`` (:func:`superseded`; the newer head's job reviews the change).

The reason is an enum (:class:`Incomplete`), so a new cause (the budget helper's
``budget_exhausted``) is one member, and every text says it the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

from hunkwise.catalog.findings_contract import SEVERITY_RANK
from hunkwise.platforms.status import CommitState
from hunkwise.review.errors import CostLimitExceeded
from hunkwise.review.filters import UNREAD
from hunkwise.review.report import ReviewReport

QUOTA_KINDS = frozenset({"quota_window", "balance", "plan_expired"})  # gateway ErrorKind values


class Incomplete(StrEnum):
    """Why a review did not cover the change (the ``reason`` a status and a job carry)."""

    FAILED_CHUNKS = "failed_chunks"
    QUOTA = "quota"
    COST_CAP = "cost_cap"
    BUDGET_EXHAUSTED = "budget_exhausted"
    SKIPPED_FILES = "skipped_files"
    UNREAD_FILES = "unread_files"
    ERROR = "error"
    ABANDONED = "abandoned"
    SUPERSEDED = "superseded"

    @property
    def words(self) -> str:
        return _WORDS[self]


_WORDS = {
    Incomplete.FAILED_CHUNKS: "part of the change could not be reviewed",
    Incomplete.QUOTA: "the model quota or balance is spent",
    Incomplete.COST_CAP: "the review would exceed the cost ceiling",
    Incomplete.BUDGET_EXHAUSTED: "the organization's budget is exhausted",
    Incomplete.SKIPPED_FILES: "too many files were skipped",
    Incomplete.UNREAD_FILES: "files the platform could not give were not reviewed",
    Incomplete.ERROR: "the review failed",
    Incomplete.ABANDONED: "the review was abandoned",
    Incomplete.SUPERSEDED: "a newer push is reviewed instead",
}


@dataclass(frozen=True, slots=True)
class StatusPolicy:
    """``fail_on``: the least severity that fails the status (None: findings never fail it);
    ``incomplete``: what an incomplete review shows; ``max_skipped_files``: more files skipped
    than this makes the review incomplete (None: no limit)."""

    fail_on: str | None = None
    incomplete: Literal["failure", "neutral"] = "failure"
    max_skipped_files: int | None = None


def pending(detail: str = "reviewing the change", *, target_url: str | None = None) -> CommitState:
    return CommitState("pending", f"hunkwise: {detail}", target_url=target_url)


def incomplete(
    reason: Incomplete, detail: str, policy: StatusPolicy, *, target_url: str | None = None
) -> CommitState:
    """The status of a review that did not happen in full: never green."""
    detail = " ".join(detail.split())
    text = f"incomplete ({reason.value}): {reason.words}" + (f" - {detail}" if detail else "")
    return CommitState(policy.incomplete, text, summary=text, target_url=target_url)


def superseded(new_head: str, *, target_url: str | None = None) -> CommitState:
    """The status of a head that was not reviewed because the pull request moved on to
    ``new_head`` before its job ran (the newer head's own job reviews the change).

    Never ``success`` (nothing was reviewed at this commit) and always ``neutral``, whatever
    :attr:`StatusPolicy.incomplete` says: that setting decides whether an incomplete review
    BLOCKS a merge, and this commit is no longer what the pull request would merge; the
    current head carries its own status. Neutral is each platform's "not green, not wrong"
    (a check run's ``neutral``, Bitbucket's ``STOPPED``, Gitea's ``warning``, GitLab's
    ``canceled``, a GitHub commit status' ``error``: :mod:`hunkwise.platforms.status`)."""
    reason = Incomplete.SUPERSEDED
    text = f"incomplete ({reason.value}): {reason.words} - {new_head[:12]}"
    return CommitState("neutral", text, summary=text, target_url=target_url)


def incomplete_reason(report: ReviewReport, policy: StatusPolicy) -> tuple[Incomplete, str] | None:
    """Why a finished review is incomplete, or None when it covered the change."""
    if report.failed_chunks:
        kinds = {k for c in report.failed_chunks for k in (c.kinds or {c.reason})}
        lines = sum(c.lines for c in report.failed_chunks)
        reason = Incomplete.QUOTA if kinds & QUOTA_KINDS else Incomplete.FAILED_CHUNKS
        if "budget_exhausted" in kinds:
            reason = Incomplete.BUDGET_EXHAUSTED
        return reason, f"{lines} changed line(s) not reviewed ({', '.join(sorted(kinds))})"
    if report.over_max_cost:
        return Incomplete.COST_CAP, f"estimated ${report.estimated_cost_usd:.2f}"
    unread = sorted({s.path for s in report.skipped if s.rule == UNREAD})
    if unread:
        shown = ", ".join(unread[:3]) + (f" and {len(unread) - 3} more" if len(unread) > 3 else "")
        return Incomplete.UNREAD_FILES, f"{len(unread)} changed file(s) not read: {shown}"
    skipped = {s.path for s in report.skipped}
    if policy.max_skipped_files is not None and len(skipped) > policy.max_skipped_files:
        return Incomplete.SKIPPED_FILES, f"{len(skipped)} file(s) skipped, limit {policy.max_skipped_files}"
    return None


def final(report: ReviewReport, policy: StatusPolicy, *, target_url: str | None = None) -> CommitState:
    """The status of a finished review by ``policy``."""
    if (why := incomplete_reason(report, policy)) is not None:
        return incomplete(why[0], why[1], policy, target_url=target_url)
    counts = report.counts_by_severity()
    found = ", ".join(f"{n} {s}" for s, n in counts.items() if n) or "no findings"
    text = f"reviewed {report.lines_reviewed} line(s) in {report.files_reviewed} file(s): {found}"
    if policy.fail_on and any(
        n and SEVERITY_RANK[s] >= SEVERITY_RANK[policy.fail_on]  # type: ignore[index]
        for s, n in counts.items()
    ):
        return CommitState("failure", f"{text} (fails on {policy.fail_on})", target_url=target_url)
    return CommitState("success", text, target_url=target_url)


def reason_of(exc: BaseException) -> Incomplete:
    """The reason a job's failure gives its status: an error may name it (``status_reason``,
    e.g. a job stopped for the cost ceiling or a budget), else what its failed model requests
    met (``kinds``), else a plain error."""
    named = getattr(exc, "status_reason", None)
    if isinstance(named, Incomplete):
        return named
    if isinstance(exc, CostLimitExceeded):
        return Incomplete.COST_CAP
    kinds = getattr(exc, "kinds", None)
    if isinstance(kinds, frozenset) and kinds:
        if "budget_exhausted" in kinds:
            return Incomplete.BUDGET_EXHAUSTED
        return Incomplete.QUOTA if kinds & QUOTA_KINDS else Incomplete.FAILED_CHUNKS
    return Incomplete.ERROR
