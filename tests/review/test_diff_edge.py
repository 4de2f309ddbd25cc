"""Hand-written diffs: edge cases git rarely emits, and garbage that must fail clearly."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hunkwise.review.diff import DiffParseError, parse_diff, unquote_path


def test_empty_input_is_nothing_to_review() -> None:
    assert parse_diff(b"") == [] and parse_diff("") == [] and parse_diff("\n\n") == []


def test_omitted_lengths_and_zero_length_sides() -> None:
    diff = (
        "--- a/f\n+++ b/f\n"
        "@@ -1 +1 @@\n-old\n+new\n"
        "@@ -5,0 +6,2 @@ def g():\n+x\n+y\n"
        "@@ -9,2 +11,0 @@\n-p\n-q\n"
    )
    (f,) = parse_diff(diff)
    assert [h.header for h in f.hunks] == [
        "@@ -1,1 +1,1 @@",
        "@@ -5,0 +6,2 @@ def g():",
        "@@ -9,2 +11,0 @@",
    ]
    assert f.changed_lines() == [1, 6, 7]
    assert [ln.old_no for ln in f.hunks[2].lines] == [9, 10]


def test_context_line_with_trimmed_space_counts_as_context() -> None:
    (f,) = parse_diff("--- a/f\n+++ b/f\n@@ -1,3 +1,3 @@\n a\n\n-b\n+B\n")
    assert [(ln.kind, ln.new_no) for ln in f.hunks[0].lines] == [(" ", 1), (" ", 2), ("-", None), ("+", 3)]


def test_removed_line_that_looks_like_a_header_stays_in_its_hunk() -> None:
    diff = "--- a/f\n+++ b/f\n@@ -1,2 +1,2 @@\n--- x\n-+++ y\n+++ z\n+@@ -1 +1 @@\n"
    (f,) = parse_diff(diff)
    assert [ln.text for ln in f.hunks[0].lines] == ["-- x", "+++ y", "++ z", "@@ -1 +1 @@"]


def test_git_mnemonic_and_no_prefix() -> None:
    mnemonic = "diff --git i/x.py w/x.py\n--- i/x.py\n+++ w/x.py\n@@ -0,0 +1 @@\n+a\n"
    assert parse_diff(mnemonic)[0].path == "x.py"
    noprefix = "diff --git x.py x.py\n--- x.py\n+++ x.py\n@@ -0,0 +1 @@\n+a\n"
    assert parse_diff(noprefix)[0].path == "x.py"


def test_quoted_paths_unquote_octal_and_c_escapes() -> None:
    assert unquote_path(b'"a/t\\303\\251st.py"') == "a/tést.py".encode()
    assert unquote_path(b'"tab\\there\\"q\\\\"') == b'tab\there"q\\'
    assert unquote_path(b"plain path") == b"plain path"
    diff = 'diff --git "a/t\\303\\251st" "b/t\\303\\251st"\nnew file mode 100644\nindex 0000000..e69de29\n'
    (f,) = parse_diff(diff)
    assert (f.path, f.status) == ("tést", "added")


def test_invalid_utf8_in_path_is_flagged() -> None:
    diff = b'diff --git "a/\\377x" "b/\\377x"\n--- "a/\\377x"\n+++ "b/\\377x"\n@@ -0,0 +1 @@\n+a\n'
    (f,) = parse_diff(diff)
    assert f.path == "\ufffdx" and f.has_undecodable_bytes


def test_plain_binary_line_without_git_header() -> None:
    (f,) = parse_diff("Binary files old/logo.png and new/logo.png differ\n")
    assert f.binary and f.path == "new/logo.png"


def test_dissimilarity_and_copy_lines() -> None:
    diff = (
        "diff --git a/a b/b\ndissimilarity index 30%\ncopy from a\ncopy to b\n"
        "--- a/a\n+++ b/b\n@@ -1 +1 @@\n-x\n+y\n"
    )
    (f,) = parse_diff(diff)
    assert (f.status, f.similarity, f.old_path, f.new_path) == ("copied", 70, "a", "b")


def test_preamble_and_mail_signature_are_ignored() -> None:
    diff = (
        "From 123 Mon Sep 17 00:00:00 2001\nSubject: [PATCH] x\n\n---\n f | 1 +\n\n"
        "diff --git a/f b/f\n--- a/f\n+++ b/f\n@@ -1 +1,2 @@\n a\n+b\n-- \n2.39.5\n\n"
    )
    (f,) = parse_diff(diff)
    assert f.changed_lines() == [2]


@pytest.mark.parametrize(
    ("diff", "line", "needle"),
    [
        ("--- a/f\n+++ b/f\n@@ -1,2 +1,2 @@\n-a\n+b\n", 6, "ends inside hunk"),
        ("--- a/f\n+++ b/f\n@@ -1 +1 @@\n-a\n+b\n+c\n", 6, "line counts do not match"),
        ("--- a/f\n+++ b/f\n@@ -1,2 +1,2 @@\n-a\n*b\n", 5, "expects 1 more old"),
        ("--- a/f\n+++ b/f\n@@ bad @@\n", 3, "malformed hunk header"),
        ("@@ -1 +1 @@\n-a\n+b\n", 1, "before any file header"),
        ("+++ b/f\n@@ -1 +1 @@\n", 1, "directly followed by '+++"),
        ("diff --cc f\n", 1, "combined"),
        ("diff --git a/f b/f\n+stray\n", 2, "in the file header"),
        ("hello, this is not a diff\nat all\n", 1, "no unified diff found"),
        ('diff --git a/f b/f\nrename from "bad\\q"\n', 2, "bad quoted path"),
        ("diff --git a/f b/f\nsimilarity index lots\n", 2, "similarity"),
    ],
)
def test_garbage_fails_with_line_number_and_expectation(diff: str, line: int, needle: str) -> None:
    with pytest.raises(DiffParseError) as info:
        parse_diff(diff)
    assert info.value.line_no == line
    assert needle in str(info.value) and f"diff line {line}:" in str(info.value)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400))
def test_random_bytes_never_crash(data: bytes) -> None:
    with contextlib.suppress(DiffParseError):
        parse_diff(data)


_DIFFISH = st.lists(
    st.sampled_from(
        [
            "diff --git a/x b/x",
            "--- a/x",
            "+++ b/x",
            "@@ -1,2 +1,2 @@",
            "@@ -1 +1 @@",
            "@@ -0,0 +1 @@",
            "+add",
            "-del",
            " ctx",
            "",
            "\\ No newline at end of file",
            "new file mode 100644",
            "rename from x",
            "rename to y",
            "Binary files a/x and b/x differ",
            "GIT binary patch",
            "index 123..456 100644",
        ]
    ),
    max_size=30,
)


@settings(max_examples=500, deadline=None)
@given(_DIFFISH)
def test_diff_shaped_garbage_never_crashes_and_counts_hold(lines: list[str]) -> None:
    try:
        files = parse_diff("\n".join(lines) + "\n")
    except DiffParseError:
        return
    for f in files:
        for h in f.hunks:
            assert sum(ln.kind != "+" for ln in h.lines) == h.old_len
            assert sum(ln.kind != "-" for ln in h.lines) == h.new_len
