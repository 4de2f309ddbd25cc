"""Tolerant parsing of model answers, anchoring to changed lines, de-duplication and limits."""

from __future__ import annotations

import pytest

from hunkwise.catalog.findings import ModelFinding
from hunkwise.review.findings import (
    AnswerParseError,
    Finding,
    anchor_findings,
    dedupe_findings,
    limit_findings,
    normalise_path,
    parse_answer,
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
        ('{"findings": [{"path": "a.py"', "invalid JSON"),
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


def test_limits_keep_most_severe_then_most_confident() -> None:
    items = [
        fd("a.py", 1, 1, "low"),
        fd("a.py", 2, 2, "medium", conf=0.5),
        fd("a.py", 3, 3, "medium", conf=0.9),
        fd("a.py", 4, 4, "critical"),
    ]
    res = limit_findings(items, min_severity="medium", max_findings=2)
    assert [(f.start_line, f.severity) for f in res.kept] == [(3, "medium"), (4, "critical")]
    assert (res.below_min_severity, res.over_max_findings) == (1, 1)
    assert len(limit_findings(items).kept) == 4
