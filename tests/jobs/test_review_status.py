"""The honest-status policy (jobs/review_status.py) and its platform shapes (platforms/status.py):
an incomplete review is never green, the reason is in the text, ``fail_on`` fails a complete one."""

from __future__ import annotations

import pytest

from hunkwise.config.review_settings import CostCeiling
from hunkwise.jobs.retry import ModelsFailed
from hunkwise.jobs.review_job import JobFailed
from hunkwise.jobs.review_status import (
    Incomplete,
    StatusPolicy,
    final,
    incomplete,
    pending,
    reason_of,
    superseded,
)
from hunkwise.platforms.status import (
    CommitState,
    github_check_fields,
    github_commit_state,
    gitlab_commit_state,
)
from hunkwise.review.errors import CostLimitExceeded
from hunkwise.review.findings import Finding
from hunkwise.review.report import FailedChunk, ReviewReport, SkippedLines


def finding(severity: str = "high") -> Finding:
    return Finding("a.py", 1, 1, severity, "security", "eval")  # type: ignore[arg-type]


def report(**kw: object) -> ReviewReport:
    return ReviewReport(files_reviewed=2, lines_reviewed=30, **kw)  # type: ignore[arg-type]


def test_complete_review_is_success_unless_fail_on_is_reached() -> None:
    assert final(report(), StatusPolicy()).state == "success"
    found = report(findings=[finding("high")])
    assert final(found, StatusPolicy()).state == "success"
    assert final(found, StatusPolicy(fail_on="critical")).state == "success"
    failed = final(found, StatusPolicy(fail_on="high"))
    assert (
        failed.state == "failure" and "1 high" in failed.description and "fails on high" in failed.description
    )


@pytest.mark.parametrize("incomplete_as", ["failure", "neutral"])
def test_failed_chunks_are_incomplete_never_success(incomplete_as: str) -> None:
    chunk = FailedChunk(0, ("a.py",), 12, "all_slots_failed", "503", frozenset({"overloaded"}))
    state = final(report(failed_chunks=[chunk]), StatusPolicy(incomplete=incomplete_as))  # type: ignore[arg-type]
    assert state.state == incomplete_as
    assert (
        state.description.startswith("incomplete (failed_chunks)")
        and "12 changed line(s)" in state.description
    )


def test_quota_kinds_and_skipped_files_say_so() -> None:
    chunk = FailedChunk(0, ("a.py",), 5, "all_slots_failed", "1308", frozenset({"quota_window"}))
    assert final(report(failed_chunks=[chunk]), StatusPolicy()).description.startswith("incomplete (quota)")
    skipped = [SkippedLines(f"vendor/{n}.js", 10, "vendored") for n in range(3)]
    assert final(report(skipped=skipped), StatusPolicy()).state == "success"  # no limit by default
    limited = final(report(skipped=skipped), StatusPolicy(max_skipped_files=2))
    assert limited.state == "failure" and "3 file(s) skipped, limit 2" in limited.description


def test_reasons_of_job_failures() -> None:
    ceiling = CostCeiling(1.0)
    assert reason_of(CostLimitExceeded(5.0, ceiling, 3)) is Incomplete.COST_CAP
    assert reason_of(JobFailed("x", status_reason=Incomplete.COST_CAP)) is Incomplete.COST_CAP
    assert reason_of(ModelsFailed("x", frozenset({"balance"}))) is Incomplete.QUOTA
    assert reason_of(ModelsFailed("x", frozenset({"budget_exhausted"}))) is Incomplete.BUDGET_EXHAUSTED
    assert reason_of(ModelsFailed("x", frozenset({"timeout"}))) is Incomplete.FAILED_CHUNKS
    assert reason_of(RuntimeError("boom")) is Incomplete.ERROR
    budget = incomplete(Incomplete.BUDGET_EXHAUSTED, "", StatusPolicy())
    assert budget.state == "failure" and "budget is exhausted" in budget.description


def test_platform_shapes_never_turn_neutral_green() -> None:
    neutral = CommitState("neutral", "incomplete (quota): x")
    assert github_commit_state(neutral) == "error" and gitlab_commit_state(neutral) == "canceled"
    assert github_check_fields(neutral)["conclusion"] == "neutral"
    assert github_check_fields(pending())[
        "status"
    ] == "in_progress" and "conclusion" not in github_check_fields(pending())
    assert gitlab_commit_state(pending()) == "running"
    long = CommitState("failure", "x" * 500)
    assert len(long.short) == 140 and long.short.endswith("…")


def test_a_superseded_head_is_neutral_on_every_platform_never_green() -> None:
    state = superseded("e" * 40)
    assert state.state == "neutral" and Incomplete.SUPERSEDED.words == "a newer push is reviewed instead"
    assert state.description == "incomplete (superseded): a newer push is reviewed instead - eeeeeeeeeeee"
    assert github_commit_state(state) == "error" and gitlab_commit_state(state) == "canceled"
    assert github_check_fields(state)["conclusion"] == "neutral"
