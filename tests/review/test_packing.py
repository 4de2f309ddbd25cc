"""Packing: budgets from slots, packing shapes, and the coverage guarantee (property-based)."""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hunkwise.catalog.findings_contract import iter_added_lines
from hunkwise.errors import ConfigurationError
from hunkwise.gateway.types import Secret, Slot
from hunkwise.review.diff import DiffLine, FileDiff, Hunk, parse_diff
from hunkwise.review.filters import FilterConfig
from hunkwise.review.packing import (
    TOO_LARGE,
    Budget,
    CoverageError,
    plan_chunks,
    plan_review,
)
from hunkwise.review.tokens import TokenEstimator


def _slot(**kw: object) -> Slot:
    base = {
        "name": "main",
        "provider": "zai",
        "base_url": "https://api.z.ai/api/paas/v4",
        "model": "glm-5.1",
        "api_key": Secret("sk-test-123456789"),
        "context_window": 200_000,
    }
    return Slot(**{**base, **kw})  # type: ignore[arg-type]


def _file(path: str, hunks: list[list[tuple[str, str]]], gap: int = 10) -> FileDiff:
    """A FileDiff from hunks given as (kind, text) lines, numbered consistently."""
    out, old, new = [], 1, 1
    for lines in hunks:
        ol = sum(k != "+" for k, _ in lines)
        nl = sum(k != "-" for k, _ in lines)
        h = Hunk(old, ol, new, nl, "")
        o, n = old, new
        for k, t in lines:
            h.lines.append(DiffLine(k, t, o if k != "+" else None, n if k != "-" else None))  # type: ignore[arg-type]
            o += k != "+"
            n += k != "-"
        out.append(h)
        old, new = o + gap, n + gap
    return FileDiff(path, path, path, "modified", hunks=out)


def _added_file(path: str, n: int, width: int = 30) -> FileDiff:
    return _file(path, [[("+", f"{i:>{width}}") for i in range(n)]])


# --- budget -----------------------------------------------------------------------------------
def test_budget_for_glm_slot() -> None:
    b = Budget.for_slot(_slot(max_output_tokens=16_000), prompt_overhead_tokens=2_000)
    left = 200_000 - 16_000 - 2_000
    assert b.reserved_output == 16_000 and b.margin_tokens == -(-left // 10)
    assert b.tokens == left - b.margin_tokens and b.models == ("glm-5.1",) and b.slot == "main"
    assert "200000 context - 16000 output - 2000 prompt" in b.describe()


def test_budget_defaults_output_and_adds_anthropic_thinking() -> None:
    plain = Budget.for_slot(_slot())
    assert plain.reserved_output == 8192  # GLM toggle thinking is inside max output
    claude = _slot(name="fallback", provider="anthropic", model="claude-sonnet-4-6", thinking="medium")
    assert Budget.for_slot(claude).reserved_output == 8192 + 15_000
    off = _slot(provider="anthropic", model="claude-sonnet-4-6", thinking=None)  # card default: off
    assert Budget.for_slot(off).reserved_output == 8192
    custom = _slot(thinking={"thinking": {"type": "enabled", "budget_tokens": 12_345}})
    assert Budget.for_slot(custom, default_output_tokens=1000).reserved_output == 13_345


def test_budget_for_slots_takes_the_tightest() -> None:
    main = _slot()
    fb = _slot(name="fallback", provider="anthropic", model="claude-haiku-4-5", context_window=100_000)
    b = Budget.for_slots([main, fb], prompt_overhead_tokens=500)
    assert b.slot == "fallback" and b.tokens == Budget.for_slot(fb, prompt_overhead_tokens=500).tokens
    assert set(b.models) == {"glm-5.1", "claude-haiku-4-5"}


def test_budget_without_room_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="leaves no room") as info:
        Budget.for_slot(_slot(context_window=9_000), prompt_overhead_tokens=1_000)
    assert info.value.setting == "main.context_window"
    assert "sk-test" not in str(info.value)


def test_chunk_sizing_uses_the_most_conservative_model_ratio() -> None:
    est = TokenEstimator.from_ratios({"glm-5.1": 4.5, "claude-haiku-4-5": 2.0})
    files = [_added_file(f"f{i}.py", 20) for i in range(20)]
    both = Budget(tokens=2_000, models=("glm-5.1", "claude-haiku-4-5"))
    plan = plan_chunks(files, both, est)
    for c in plan.chunks:
        assert len(c.text) <= 2_000 * 2.0  # fits the denser tokenizer too
        assert c.estimated_tokens <= 2_000
    assert len(plan.chunks) > len(plan_chunks(files, Budget(tokens=2_000, models=("glm-5.1",)), est).chunks)


# --- packing shapes ---------------------------------------------------------------------------
def test_small_files_share_one_chunk_in_file_order() -> None:
    files = [_added_file(f"src/m{i}.py", 3) for i in range(10)]
    plan = plan_chunks(files, Budget.fixed(10_000))
    (chunk,) = plan.chunks
    assert chunk.files == [f.path for f in files]
    assert chunk.text.count("FILE: ") == 10 and "FILE: src/m0.py (python)" in chunk.text
    assert plan.coverage_check(files, check_text=True) == 30


def test_big_file_splits_at_hunk_boundaries() -> None:
    hunks = [[(" ", f"ctx {h}"), ("+", f"add {h} " + "x" * 200), (" ", "after")] for h in range(12)]
    f = _file("big.py", hunks)
    plan = plan_chunks([f], Budget.fixed(400))
    assert len(plan.chunks) > 1
    for c in plan.chunks:
        assert c.text.startswith("FILE: big.py (python)\n@@ ")
        # each hunk is whole: every added line comes with its context before and after
        assert c.text.count("@@ -") == c.text.count(" + add ") == c.text.count("   after")
        assert c.estimated_tokens <= 400
    plan.coverage_check([f], check_text=True)


def test_giant_hunk_windows_overlap_as_context_only() -> None:
    f = _added_file("giant.py", 200)
    plan = plan_chunks([f], Budget.fixed(500), overlap_lines=3)
    assert len(plan.chunks) >= 5
    owned = [sorted(c.assigned["giant.py"]) for c in plan.chunks]
    for prev, chunk in zip(owned, plan.chunks[1:], strict=False):
        shown = [n for line in chunk.text.splitlines() if (n := _number(line)) is not None]
        # the window starts with the previous window's last 3 lines, shown as context
        assert shown[:3] == prev[-3:]
        marks = {n: m for n, m in (_numbered(x) for x in chunk.text.splitlines()) if n is not None}
        assert all(marks[n] == " " for n in prev[-3:])
    plan.coverage_check([f], check_text=True)
    assert sum(len(o) for o in owned) == 200


def _numbered(line: str) -> tuple[int | None, str]:
    head = line[:6].strip()
    return (int(head), line[7]) if head.isdigit() else (None, "")


def _number(line: str) -> int | None:
    return _numbered(line)[0]


def test_removal_only_pieces_never_cost_a_request() -> None:
    adds = [("+", "x" * 300)]
    removals = [("-", "r" * 300) for _ in range(3)]
    f = _file("mixed.py", [adds, removals, adds, removals])
    plan = plan_chunks([f], Budget.fixed(120))
    assert len(plan.chunks) == 2 and all(c.assigned_lines == 1 for c in plan.chunks)
    assert plan.removed_lines_not_shown == 6
    plan.coverage_check([f], check_text=True)


def test_line_too_large_for_any_budget_is_skipped_with_the_rule() -> None:
    f = _file("wide.js", [[("+", "short"), ("+", "y" * 5_000), (" ", "z" * 5_000), ("+", "short2")]])
    plan = plan_chunks([f], Budget.fixed(200))
    (skip,) = plan.skipped
    assert (skip.path, skip.changed_lines, skip.rule) == ("wide.js", [2], TOO_LARGE)
    assert "200 tokens" in skip.detail
    assert plan.coverage_check([f], check_text=True) == 3


def test_budget_smaller_than_the_file_header_skips_the_file() -> None:
    f = _added_file("a/very/long/path/" + "d" * 80 + "/file.py", 2)
    plan = plan_chunks([f], Budget.fixed(10))
    assert plan.chunks == [] and plan.skipped[0].rule == TOO_LARGE
    assert plan.skipped[0].changed_lines == [1, 2]


def test_line_breaking_characters_cannot_shift_numbers() -> None:
    f = _file("ff.c", [[("+", "a\x0cb"), ("+", "c\u2028d"), ("+", "e")]])
    plan = plan_chunks([f], Budget.fixed(1_000))
    assert [n for _, n, _ in iter_added_lines(plan.chunks[0].text)] == [1, 2, 3]
    assert "a\\x0cb" in plan.chunks[0].text


def test_plan_review_carries_filter_skips_and_checks_every_parsed_file() -> None:
    files = parse_diff(
        "diff --git a/yarn.lock b/yarn.lock\n--- a/yarn.lock\n+++ b/yarn.lock\n@@ -1 +1,2 @@\n x\n+y\n"
        "diff --git a/app.py b/app.py\n--- a/app.py\n+++ b/app.py\n@@ -1 +1,2 @@\n x\n+y\n"
        "diff --git a/big.py b/big.py\n--- a/big.py\n+++ b/big.py\n@@ -1 +1,4 @@\n x\n+1\n+2\n+3\n"
    )
    plan = plan_review(files, Budget.fixed(5_000), filters=FilterConfig(max_changed_lines=2))
    assert [(s.path, s.rule) for s in plan.skipped] == [
        ("yarn.lock", "ignore:lockfile"),
        ("big.py", "size-limit:2"),
    ]
    assert plan.files_reviewed == ["app.py"]
    assert plan.coverage_check(files, check_text=True) == 5


def test_coverage_check_catches_lost_and_duplicated_lines() -> None:
    files = [_added_file("a.py", 5)]
    plan = plan_chunks(files, Budget.fixed(10_000))
    plan.chunks[0].assigned["a.py"].discard(3)
    with pytest.raises(CoverageError, match=r"a.py: 1 line\(s\) neither reviewed nor skipped: \[3\]"):
        plan.coverage_check(files)
    plan.chunks[0].assigned["a.py"].add(3)
    plan.chunks.append(plan.chunks[0])
    with pytest.raises(CoverageError, match="claimed twice"):
        plan.coverage_check(files)


def test_lower_bound_and_near_optimal_packing() -> None:
    files = [_added_file(f"f{i}.py", n) for i, n in enumerate([3, 50, 7, 120, 15, 1, 60, 33, 8, 90] * 5)]
    plan = plan_chunks(files, Budget.fixed(3_000))
    assert plan.lower_bound >= 1
    assert len(plan.chunks) <= max(plan.lower_bound + 1, int(plan.lower_bound * 1.1))
    plan.coverage_check(files, check_text=True)


# --- the guarantee, for random diffs and budgets ----------------------------------------------
_TEXT = st.one_of(
    st.text(alphabet="abc xyz(){};=\t\x0c", min_size=0, max_size=40),
    st.text(alphabet="w", min_size=100, max_size=2_000),
)
_HUNK = st.lists(st.tuples(st.sampled_from(["+", "+", "-", " "]), _TEXT), min_size=1, max_size=60)
_FILES = st.lists(
    st.tuples(
        st.sampled_from(["a.py", "b/c.go", "d e.txt", "Makefile", "x/y/z.rs"]), st.lists(_HUNK, max_size=5)
    ),
    min_size=1,
    max_size=5,
    unique_by=lambda t: t[0],
)


@settings(
    max_examples=int(os.environ.get("PACKING_EXAMPLES", "150")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(_FILES, st.integers(min_value=1, max_value=3_000), st.integers(0, 5), st.floats(1.5, 6.0))
def test_every_added_line_is_assigned_once_or_skipped(
    spec: list[tuple[str, list[list[tuple[str, str]]]]], tokens: int, overlap: int, ratio: float
) -> None:
    files = [_file(path, hunks) for path, hunks in spec]
    est = TokenEstimator(ratio)
    plan = plan_chunks(files, Budget.fixed(tokens), est, overlap_lines=overlap)
    total = plan.coverage_check(files, check_text=True)
    assert total == sum(len(f.changed_lines()) for f in files)
    for c in plan.chunks:
        assert c.estimated_tokens <= tokens
        assert c.estimated_tokens == est.estimate(c.text)
        assert c.assigned_lines > 0  # no request is spent on context alone
    for s in plan.skipped:
        assert s.rule == TOO_LARGE and s.changed_lines
