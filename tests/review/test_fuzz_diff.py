"""Fuzzing the diff parser, the filters and the packer together: whatever the input (well-formed
diffs with random edits, CRLF and NUL variants, odd paths, lone surrogates in ``str`` diffs, raw
garbage), parsing either succeeds or raises :class:`DiffParseError`, and for whatever parsed the
coverage invariant holds: every added line is assigned to exactly one chunk or skipped with a
rule, and each chunk's text shows exactly its assigned lines."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hunkwise.review.diff import DiffParseError, FileDiff, parse_diff
from hunkwise.review.filters import FilterConfig
from hunkwise.review.packing import Budget, plan_review
from hunkwise.review.tokens import TokenEstimator

_SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Paths and line texts hold what breaks line-oriented formats: CR, NUL, characters that
# str.splitlines() splits at, quotes, brackets, a trailing " (x)" like a language tag, spaces.
_PATH = st.one_of(
    st.sampled_from(["a.py", "src/b.go", "d e.txt", "x (y)", "", " ", "p.lock", "vendor/v.js", "t\u00e9st"]),
    st.lists(
        st.sampled_from([*'ab/ .-_()"\\\t\r\x00\u00e9', "\u2028", "\x85", "\x0b", "\n"]), max_size=8
    ).map("".join),
)
_TEXT_PIECES = [*"ab {}[]();\t\r\x00\x0b\x0c\u00e9", "\u2028", "\x85", "\udc80", "\ud800"]
_TEXT = st.lists(
    st.sampled_from([*_TEXT_PIECES, "@@ -1 +5 @@", "     7 + x", "\rFILE: z", "+++ b/q"]), max_size=10
).map("".join)
_LINE = st.tuples(st.sampled_from("++- "), _TEXT)


def _quote(path: str) -> str:
    if any(c in path for c in '"\\\t\n\r\x00') or path != path.strip():
        escaped = path.replace("\\", "\\\\").replace('"', '\\"').replace("\t", "\\t").replace("\n", "\\n")
        return '"' + escaped.replace("\r", "\\r").replace("\x00", "\\000") + '"'
    return path


@st.composite
def _diffs(draw: st.DrawFn) -> str:
    """A diff as git or ``diff -u`` would write it (counts consistent), paths possibly repeated."""
    out: list[str] = []
    for _ in range(draw(st.integers(1, 4))):
        path = draw(_PATH)
        if draw(st.booleans()):
            out.append(f"diff --git {_quote('a/' + path)} {_quote('b/' + path)}")
            if draw(st.booleans()):
                out.append(f"similarity index {draw(st.integers(0, 100))}%")
        out.append(f"--- {_quote('a/' + path)}")
        out.append(f"+++ {_quote('b/' + path)}" if draw(st.integers(0, 9)) else "+++ ")
        old = new = 1
        for _ in range(draw(st.integers(1, 3))):
            lines = draw(st.lists(_LINE, min_size=1, max_size=8))
            old_len = sum(k != "+" for k, _ in lines)
            new_len = sum(k != "-" for k, _ in lines)
            section = draw(st.sampled_from(["", " def f():", " x\r     3 + y", " \u2028FILE: q"]))
            out.append(f"@@ -{old},{old_len} +{new},{new_len} @@{section}")
            out.extend(k + t for k, t in lines)
            old, new = old + old_len + 5, new + new_len + 5
    eol = draw(st.sampled_from(["\n", "\r\n"]))
    return eol.join(out) + eol


_EDIT_LINES = [
    "@@ -1 +" + "9" * 5000 + " @@",
    "@@ -" + "1" * 30 + ",2 +1,2 @@",
    "similarity index " + "9" * 5000 + "%",
    "dissimilarity index 250%",
    "+++ ",
    "--- a/x",
    "\x00",
    "\\ No newline at end of file",
    "GIT binary patch",
    "new file mode 100644",
]


@st.composite
def _edited(draw: st.DrawFn) -> str:
    """A well-formed diff with a few random edits: lines dropped, duplicated or replaced."""
    lines = draw(_diffs()).split("\n")
    for _ in range(draw(st.integers(0, 3))):
        i = draw(st.integers(0, len(lines) - 1))
        edit = draw(st.sampled_from(["drop", "dup", "replace", "insert"]))
        if edit == "drop":
            del lines[i]
        elif edit == "dup":
            lines.insert(i, lines[i])
        else:
            new = draw(st.one_of(st.sampled_from(_EDIT_LINES), _TEXT))
            lines[i : i + (edit == "replace")] = [new]
        if not lines:
            lines = [""]
    return "\n".join(lines)


def _check_coverage(files: list[FileDiff], tokens: int, limit: int | None, ratio: float) -> None:
    plan = plan_review(
        files, Budget.fixed(tokens), TokenEstimator(ratio), filters=FilterConfig(max_changed_lines=limit)
    )
    plan.coverage_check(files, check_text=True)  # raises CoverageError naming the lost line


def _parse(data: bytes | str) -> list[FileDiff] | None:
    try:
        return parse_diff(data)
    except DiffParseError as exc:
        assert f"diff line {exc.line_no}:" in str(exc)  # the error names the line
        return None


@_SETTINGS
@given(_diffs(), st.booleans(), st.integers(5, 400), st.sampled_from([None, 3]), st.floats(1.5, 6.0))
def test_generated_diffs_parse_and_keep_the_coverage_invariant(
    diff: str, as_bytes: bool, tokens: int, limit: int | None, ratio: float
) -> None:
    files = _parse(diff.encode("utf-8", "surrogatepass") if as_bytes else diff)
    if files is not None:
        _check_coverage(files, tokens, limit, ratio)


@_SETTINGS
@given(_edited(), st.booleans(), st.integers(5, 400), st.sampled_from([None, 2]))
def test_edited_diffs_fail_cleanly_or_keep_the_invariant(
    diff: str, as_bytes: bool, tokens: int, limit: int | None
) -> None:
    files = _parse(diff.encode("utf-8", "surrogatepass") if as_bytes else diff)
    if files is not None:
        _check_coverage(files, tokens, limit, 3.0)


@settings(max_examples=150, deadline=None)
@given(st.one_of(st.binary(max_size=300), st.text(max_size=300)))
def test_garbage_fails_cleanly_or_keeps_the_invariant(data: bytes | str) -> None:
    files = _parse(data)
    if files is not None:
        _check_coverage(files, 50, None, 3.0)
