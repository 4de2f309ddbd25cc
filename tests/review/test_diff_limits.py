"""Diffs that used to escape as exceptions or break the coverage invariant (issue 11, item 8):
huge numbers, lone surrogates, a file changed in two sections, a file without a path, and line
breaks hidden in paths, line texts and hunk sections."""

from __future__ import annotations

import json

import pytest

from hunkwise.catalog.findings_contract import iter_added_lines, render_file_header
from hunkwise.platforms.gitlab import changes_to_diff
from hunkwise.review.diff import DiffParseError, parse_diff
from hunkwise.review.filters import NO_PATH, REPEATED_FILE, filter_files
from hunkwise.review.packing import Budget, plan_review

HUGE = "9" * 5000


@pytest.mark.parametrize(
    ("diff", "line", "needle"),
    [
        (f"--- a/x\n+++ b/x\n@@ -1 +{HUGE} @@\n+a\n", 3, "more than 9 digits"),
        (f"--- a/x\n+++ b/x\n@@ -1,{HUGE} +1 @@\n+a\n", 3, "more than 9 digits"),
        (f"diff --git a/x b/y\nsimilarity index {HUGE}%\nrename from x\nrename to y\n", 2, "from 0 to 100"),
        ("diff --git a/x b/y\ndissimilarity index 250%\nrename from x\nrename to y\n", 2, "from 0 to 100"),
    ],
)
def test_huge_numbers_are_a_parse_error_with_the_line(diff: str, line: int, needle: str) -> None:
    with pytest.raises(DiffParseError) as info:
        parse_diff(diff)
    assert info.value.line_no == line and needle in str(info.value)


def test_the_largest_accepted_line_number_still_parses() -> None:
    (f,) = parse_diff("--- a/x\n+++ b/x\n@@ -999999999,1 +999999999,1 @@\n-a\n+b\n")
    assert f.changed_lines() == [999_999_999]


@pytest.mark.parametrize("surrogate", ["\ud800", "\udfff", "\udc80"])
def test_a_lone_surrogate_in_a_str_diff_is_an_undecodable_line(surrogate: str) -> None:
    (f,) = parse_diff(f"diff --git a/x b/x\n--- a/x\n+++ b/x\n@@ -1 +1,2 @@\n a\n+b{surrogate}c\n")
    assert f.changed_lines() == [2] and f.has_undecodable_bytes
    text = f.hunks[0].lines[1].text
    assert text.startswith("b") and text.endswith("c") and "\ufffd" in text


def _plan(diff: bytes | str, tokens: int = 4_000):
    files = parse_diff(diff)
    plan = plan_review(files, Budget.fixed(tokens))
    plan.coverage_check(files, check_text=True)
    return files, plan


def test_a_file_changed_in_two_sections_is_skipped_once_with_a_rule() -> None:
    diff = (
        "--- a/x.py\n+++ b/x.py\n@@ -0,0 +1,3 @@\n+a\n+b\n+c\n"
        "--- a/y.py\n+++ b/y.py\n@@ -0,0 +1 @@\n+y\n"
        "--- a/x.py\n+++ b/x.py\n@@ -1,3 +1,4 @@\n a\n+B\n b\n c\n"
    )
    _, plan = _plan(diff)
    [skip] = plan.skipped
    assert (skip.path, skip.rule, skip.changed_lines) == ("x.py", REPEATED_FILE, [1, 2, 3])
    assert "2 separate sections" in skip.detail
    assert [c.assigned for c in plan.chunks] == [{"y.py": {1}}]


def test_a_type_change_is_not_a_repeated_file() -> None:
    # git writes a file -> symlink change as a deletion and an addition of the same path.
    diff = (
        "diff --git a/l b/l\ndeleted file mode 100644\n--- a/l\n+++ /dev/null\n@@ -1 +0,0 @@\n-x\n"
        "diff --git a/l b/l\nnew file mode 120000\n--- /dev/null\n+++ b/l\n@@ -0,0 +1 @@\n+target\n"
    )
    _, plan = _plan(diff)
    assert [(s.path, s.rule) for s in plan.skipped] == [("l", "deleted")]
    assert [c.assigned for c in plan.chunks] == [{"l": {1}}]


def test_a_file_without_a_path_is_skipped_with_a_rule() -> None:
    files, plan = _plan(b"--- a/x\n+++ \n@@ -0,0 +1,2 @@\n+a\n+b\n")
    assert [(s.path, s.rule, s.changed_lines) for s in plan.skipped] == [("", NO_PATH, [1, 2])]
    assert plan.chunks == [] and filter_files(files).kept == []


@pytest.mark.parametrize(
    "diff",
    [
        b"--- a/x\n+++ b/x\n@@ -0,0 +1,2 @@\n+a\r     7 + fake\n+b\n",  # a lone CR inside a line
        b"--- a/x\n+++ b/x\n@@ -0,0 +1,2 @@ sec\r     9 + fake\n+a\n+b\n",  # and in a hunk section
        b"--- a/x\n+++ b/x\r\r\n@@ -0,0 +1 @@\n+a\r\n",  # CRLF with an extra CR after the path
        b'--- a/x\n+++ "b/x\\ry"\n@@ -0,0 +1 @@\n+a\n',  # a quoted path holding a CR
        b'--- a/x\n+++ "b/x\\000 "\n@@ -0,0 +1 @@\n+a\x00\n',  # NUL and a trailing space
        b"--- a/x\n+++ b/notes (draft)\n@@ -0,0 +1 @@\n+a\n",  # ends like a language tag
        "--- a/x\n+++ b/p\u2028q\n@@ -0,0 +1 @@\n+a\u2028b\x85c\n".encode(),  # Unicode line breaks
    ],
    ids=["cr-in-line", "cr-in-section", "crcr-after-path", "cr-in-path", "nul-space", "paren", "u2028"],
)
def test_line_breaks_never_shift_what_a_chunk_shows(diff: bytes) -> None:
    files, plan = _plan(diff)
    [chunk] = plan.chunks
    shown = {(p, n) for p, n, _ in iter_added_lines(chunk.text)}
    assert shown == {(f.path, n) for f in files for n in f.changed_lines()}


@pytest.mark.parametrize(
    "path", ["", " x", "x ", "a (b)", '"q"', "a\nb", "a\u2028b", "src/app.py", "t\u00e9st"]
)
def test_a_file_header_reads_back_the_path_it_shows(path: str) -> None:
    text = render_file_header(path, "python") + "\n     1 + code"
    assert [p for p, _, _ in iter_added_lines(text)] == [path]


def test_hunks_numbering_the_same_new_lines_twice_are_a_parse_error() -> None:
    diff = "--- a/x\n+++ b/x\n@@ -1,0 +1,2 @@\n+a\n+b\n@@ -1,0 +2 @@\n+c\n"
    with pytest.raises(DiffParseError, match="overlaps the previous hunk") as info:
        parse_diff(diff)
    assert info.value.line_no == 6
    # Adjacent hunks (git -U0) and a deletion followed by a change are fine.
    (f,) = parse_diff("--- a/x\n+++ b/x\n@@ -1,2 +0,0 @@\n-a\n-b\n@@ -5 +1 @@\n-x\n+c\n")
    assert f.changed_lines() == [1]
    (f,) = parse_diff("--- a/x\n+++ b/x\n@@ -2 +2 @@\n-a\n+A\n@@ -3 +3 @@\n-b\n+B\n")
    assert f.changed_lines() == [2, 3]


def test_a_gitlab_diff_with_a_lone_surrogate_is_reviewed() -> None:
    # GitLab's changes API returns each file's diff as a JSON string; "\ud800" decodes to a lone
    # surrogate, and the joined diff reaches the parser as str.
    changes = json.loads(
        '[{"old_path": "a.py", "new_path": "a.py", "diff": "@@ -1 +1,2 @@\\n x\\n+y\\ud800\\n"}]'
    )
    files, plan = _plan(changes_to_diff(changes))
    assert files[0].has_undecodable_bytes and [c.assigned for c in plan.chunks] == [{"a.py": {2}}]
