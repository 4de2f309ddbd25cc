"""Tolerant parsing of model answers, anchoring to changed lines, de-duplication and limits."""

from __future__ import annotations

import json

import pytest

from hunkwise.catalog.findings_contract import ModelFinding
from hunkwise.review.answer import MAX_ANSWER_CHARS, AnswerParseError, parse_answer
from hunkwise.review.findings import (
    Finding,
    anchor_findings,
    dedupe_findings,
    normalise_path,
)

ONE = (
    '{"path": "src/app.py", "start_line": 3, "end_line": 3, "severity": "high", '
    '"category": "bug", "title": "Off by one"}'
)


@pytest.mark.parametrize(
    "text",
    [
        '{"findings": [' + ONE + "]}",
        '```json\n{"findings": [' + ONE + "]}\n```",
        'Here is my review:\n```\n{"findings": [' + ONE + "],}\n```\nHope it helps!",
        'Sure! {"findings": [' + ONE + ",],} That's all.",
        "[" + ONE + "]",
        '{"issues": [' + ONE + "]}",
        ONE,
    ],
    ids=[
        "plain",
        "fenced",
        "prose-fence-trailing-comma",
        "prose-around",
        "bare-list",
        "issues-key",
        "single",
    ],
)
def test_tolerant_parsing(text: str) -> None:
    answer = parse_answer(text)
    assert len(answer.findings) == 1
    f = answer.findings[0]
    assert (f.path, f.start_line, f.severity, f.category) == ("src/app.py", 3, "high", "bug")


def test_trailing_comma_inside_string_is_kept() -> None:
    text = (
        '{"findings": [{"path": "a.py", "start_line": 1, "end_line": 1, "severity": "low", '
        '"category": "docs", "title": "say ,] here", "body": "x,}",},]}'
    )
    f = parse_answer(text).findings[0]
    assert f.title == "say ,] here" and f.body == "x,}"


def test_spellings_are_coerced() -> None:
    text = (
        '{"findings": [{"file": "a.py", "line": 4, "severity": "MAJOR", '
        '"category": "error-handling", "title": "t"}]}'
    )
    f = parse_answer(text).findings[0]
    assert (f.path, f.start_line, f.end_line, f.severity, f.category) == (
        "a.py",
        4,
        4,
        "high",
        "error_handling",
    )


def test_empty_findings_is_valid() -> None:
    assert parse_answer('{"findings": []}').findings == []
    assert parse_answer('The change looks good.\n```json\n{"findings": []}\n```').findings == []


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("I could not find any problems, the code is great.", "no JSON"),
        ('{"findings": [{"path": "a.py"', "incomplete: it ends inside its JSON"),
        ('{"findings": [{"path": "a.py", "line": 3, "title": "x", "see": [}]}', "look like findings"),
        ('{"verdict": "ok"}', 'no "findings"'),
        (
            '{"findings": [{"path": "a.py", "start_line": 1, "end_line": 1, "severity": "urgent", '
            '"category": "bug", "title": "t"}]}',
            "severity",
        ),
    ],
)
def test_garbage_raises_a_precise_error(text: str, message: str) -> None:
    with pytest.raises(AnswerParseError, match=message):
        parse_answer(text)


def mf(path: str, start: int, end: int | None = None, **kw: object) -> ModelFinding:
    data = {
        "path": path,
        "start_line": start,
        "end_line": end or start,
        "severity": "medium",
        "category": "bug",
        "title": "t",
    } | kw
    return ModelFinding.model_validate(data)


def test_anchoring_keeps_narrows_snaps_and_drops() -> None:
    assigned = {"src/app.py": [10, 11, 12, 30]}
    res = anchor_findings(
        [
            mf("src/app.py", 11),  # on a changed line
            mf("b/src/app.py", 5, 40),  # range touching 10..30 -> narrowed to 10..30
            mf("./src/app.py", 14),  # 2 lines after 12 -> snapped to 12
            mf("src/app.py", 20),  # 8 lines from anything -> dropped
            mf("src/other.py", 11),  # file not in this chunk -> dropped
            mf("app.py", 30),  # unique suffix -> src/app.py
        ],
        assigned,
        model="glm-5.1",
        chunk=0,
    )
    got = [(f.path, f.start_line, f.end_line, f.snapped) for f in res.kept]
    assert got == [
        ("src/app.py", 11, 11, False),
        ("src/app.py", 10, 30, False),
        ("src/app.py", 12, 12, True),
        ("src/app.py", 30, 30, False),
    ]
    assert res.dropped_unanchored == 2
    assert all(f.model == "glm-5.1" for f in res.kept)


def test_snap_distance_boundary() -> None:
    assigned = {"a.py": [10]}
    assert len(anchor_findings([mf("a.py", 13)], assigned).kept) == 1
    assert anchor_findings([mf("a.py", 14)], assigned).dropped_unanchored == 1
    assert anchor_findings([mf("a.py", 14)], assigned, snap=4).kept[0].start_line == 10


def test_normalise_path() -> None:
    assert normalise_path("a/src/x.py") == "src/x.py"
    assert normalise_path("`./src/x.py`") == "src/x.py"
    assert normalise_path("/src/x.py") == "src/x.py"


def fd(
    path: str,
    start: int,
    end: int,
    sev: str = "medium",
    title: str = "t",
    conf: float = 0.8,
    cat: str = "bug",
) -> Finding:
    return Finding(path, start, end, sev, cat, title, confidence=conf)  # type: ignore[arg-type]


def test_dedupe_across_chunks_keeps_the_most_severe() -> None:
    out = dedupe_findings(
        [
            fd("a.py", 10, 12, "medium", "SQL injection in query"),
            fd("a.py", 11, 11, "high", "SQL injection in the query"),  # twin from an overlapping chunk
            fd("a.py", 11, 11, "low", "Missing docstring", cat="docs"),  # different issue, same line
            fd("b.py", 11, 11, "high", "SQL injection in query"),  # other file
            fd("a.py", 40, 40, "high", "SQL injection in query"),  # same title, far away
        ]
    )
    assert [(f.path, f.start_line, f.severity, f.title) for f in out] == [
        ("a.py", 11, "high", "SQL injection in the query"),
        ("a.py", 11, "low", "Missing docstring"),
        ("a.py", 40, "high", "SQL injection in query"),
        ("b.py", 11, "high", "SQL injection in query"),
    ]


# --- issue 11 item 7: answers that used to lose findings silently ------------------------------
def _finding(path: str, line: int, title: str = "t", **kw: object) -> dict[str, object]:
    return (
        {"path": path, "start_line": line, "end_line": line, "severity": "high", "category": "bug"}
        | {"title": title}
        | kw
    )


def _answer(*findings: dict[str, object]) -> str:
    return json.dumps({"findings": list(findings)})


def test_a_stray_empty_list_in_prose_is_not_the_answer() -> None:
    text = "The effect is `useEffect(() => {...}, []);` and it calls `setResults([]);`.\n" + _answer(
        _finding("a.ts", 16, "Missing dependency")
    )
    assert [(f.path, f.start_line) for f in parse_answer(text).findings] == [("a.ts", 16)]


def test_prose_that_fails_validation_does_not_end_the_search() -> None:
    text = "Reading files[0] and [{'a': 1}] first, then:\n" + _answer(_finding("a.py", 3))
    assert [f.start_line for f in parse_answer(text).findings] == [3]


def test_an_unclosed_fence_in_prose_does_not_swallow_the_answer() -> None:
    text = (
        "Fix it like this:\n```js\nsetResults([]);\n\n```json\n" + _answer(_finding("a.ts", 10)) + "\n```\n"
    )
    assert [f.start_line for f in parse_answer(text).findings] == [10]


def test_a_truncated_answer_salvages_every_complete_finding_and_says_so() -> None:
    full = _answer(_finding("a.py", 1), _finding("a.py", 2), _finding("a.py", 3, "third"))
    cut = full[: full.index('"third"') - 10]
    with pytest.raises(AnswerParseError, match="incomplete") as info:
        parse_answer(cut)
    assert [f.start_line for f in info.value.salvaged] == [1, 2]


def test_visible_findings_are_never_an_empty_review() -> None:
    text = (
        "Looks mostly fine, `setResults([]);` is ok. But:\n"
        '{"path": "a.py", "line": 3, "message": "off by one", "see": [}'  # unreadable even repaired
    )
    with pytest.raises(AnswerParseError, match="look like findings"):
        parse_answer(text)


@pytest.mark.parametrize(
    "text",
    [
        '{"path": "a.py", "line": 3 "message": "off by one"}',  # a missing comma
        "{'findings': [{'path': 'a.py', 'line': 3, 'message': 'off by one', 'fixed': False}]}",
        '{findings: [{path: "a.py", line: 3, message: "off by one",},],}',
        '{"findings": [ // worst first\n {"path": "a.py", /* new */ "line": 3, "message": "off by one"}]}',
        '{"findings": [{\u201cpath\u201d: "a.py", \u201cline\u201d: 3, \u201cmessage\u201d: "off by one"}]}',
    ],
)
def test_near_json_is_read_without_a_repair_request(text: str) -> None:
    [finding] = parse_answer(text).findings
    assert (finding.path, finding.start_line, finding.title) == ("a.py", 3, "off by one")


def test_a_comment_inside_one_finding_does_not_lose_it() -> None:
    """The strict reading finds the two clean findings on their own; the refused list holds
    findings' keys, so it is read again as near-JSON and all three come back."""
    text = (
        '{"findings": [{"path": "a.py", "line": 1, "message": "one"},\n'
        '{"path": "a.py", "line": 2, "message": "two" /* the worst */},\n'
        '{"path": "a.py", "line": 3, "message": "three"}]}'
    )
    assert [f.start_line for f in parse_answer(text).findings] == [1, 2, 3]


def test_prose_brackets_are_not_repaired_into_findings() -> None:
    answer = json.dumps({"findings": [mf("a.py", 1).model_dump(), mf("a.py", 1).model_dump()]})
    text = "[[[[files[0] is read before the check. " + answer + "]]]]"
    assert len(parse_answer(text).findings) == 2


def test_an_empty_list_is_no_findings_only_when_it_is_the_answer() -> None:
    assert parse_answer("[]").findings == []
    assert parse_answer("No issues.\n```json\n[]\n```").findings == []
    with pytest.raises(AnswerParseError, match="not an answer"):
        parse_answer("Nothing to add, `setResults([]);` is fine.")


def test_other_review_tools_field_names_are_read() -> None:
    text = json.dumps(
        {
            "codeSuggestions": [
                {
                    "relevantFile": "src/x.ts",
                    "relevantLinesStart": "12",
                    "relevantLinesEnd": 14,
                    "suggestionContent": "Null dereference when the list is empty. Guard it.",
                    "improvedCode": "if (!xs.length) return;",
                    "label": "potential_issues",
                }
            ]
        }
    )
    [f] = parse_answer(text).findings
    assert (f.path, f.start_line, f.end_line, f.severity, f.category) == ("src/x.ts", 12, 14, "medium", "bug")
    assert f.title == "Null dereference when the list is empty." and f.suggestion == "if (!xs.length) return;"
    assert f.body.startswith("Null dereference")


def test_our_own_field_keeps_its_strict_vocabulary() -> None:
    with pytest.raises(AnswerParseError, match="category"):
        parse_answer(_answer(_finding("a.py", 1, category="kody_rules")))
    [f] = parse_answer(
        json.dumps({"issues": [{"file": "a.py", "line": 1, "message": "m", "label": "kody_rules"}]})
    ).findings
    assert f.category == "maintainability"  # another tool's label we do not know is not an error


@pytest.mark.parametrize("depth", [1_000, 5_000])
def test_deep_nesting_is_a_parse_error_not_a_recursion_error(depth: int) -> None:
    with pytest.raises(AnswerParseError, match="nested deeper"):
        parse_answer("[" * depth + "]" * depth)
    wrapped = "[" * depth + "]" * depth + "\n" + _answer(_finding("a.py", 7))
    assert [f.start_line for f in parse_answer(wrapped).findings] == [7]


def test_a_huge_number_is_a_validation_error_of_its_finding() -> None:
    text = _answer(_finding("a.py", 1)).replace('"start_line": 1', '"start_line": ' + "9" * 5000)
    with pytest.raises(AnswerParseError, match=r"findings\.0\.start_line"):
        parse_answer(text)


def test_an_oversized_answer_is_cut_and_reported() -> None:
    head = _answer(_finding("a.py", 1), _finding("a.py", 2))[:-2]  # the list is still open
    text = head + ", " + ", ".join([json.dumps(_finding("a.py", 3))] * 20_000) + "]}"
    assert len(text) > MAX_ANSWER_CHARS
    with pytest.raises(AnswerParseError, match=f"longer than {MAX_ANSWER_CHARS:,} characters") as info:
        parse_answer(text)
    assert [f.start_line for f in info.value.salvaged[:3]] == [1, 2, 3]


def test_lone_surrogates_in_an_answer_become_replacement_characters() -> None:
    text = _answer(_finding("a.py", 1, "bad \\ud800 title", body="pair \\ud83d\\ude00 ok"))
    [f] = parse_answer(text.replace("\\\\u", "\\u")).findings
    assert f.title == "bad \ufffd title" and f.body == "pair \U0001f600 ok"
    f.title.encode()  # printable and storable: a lone surrogate would raise UnicodeEncodeError


def test_an_answer_after_a_run_of_prose_brackets_and_a_stray_quote_is_read_whole() -> None:
    """Found by the fuzzer: ten ``[`` and a quote in prose made the scanner re-read from each
    bracket in turn until its budget ran out, so it kept one finding of four (or none)."""
    import json

    from hunkwise.catalog.findings_contract import ModelFinding
    from hunkwise.review.answer import parse_answer

    findings = [
        ModelFinding(
            path="src/app.py", start_line=n, end_line=n, severity="high", category="security", title=title
        )
        for n, title in enumerate(["x", "y", '"', "z"], start=1)
    ]
    answer = json.dumps({"findings": [f.model_dump() for f in findings]})
    assert parse_answer('[[[[[[[[[[Looking at the diff, "' + answer).findings == findings
