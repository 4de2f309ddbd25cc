"""Replay a corpus of realistic model answers (tests/data/answers/) through the parser and the
anchoring: each answer's exact extraction, and every extracted finding kept on the change it
reviews. The shapes are those that lost findings in practice: JSON after prose, code such as
``setResults([]);`` and ``}, []);`` in prose or strings, ``files[0]`` in prose, an unclosed fence,
answers cut off mid-finding, other review tools' field names; see tests/data/answers/README.md."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hunkwise.catalog.findings_contract import ModelFinding
from hunkwise.review.answer import AnswerParseError, parse_answer
from hunkwise.review.diff import parse_diff
from hunkwise.review.findings import anchor_findings
from hunkwise.review.packing import Budget, plan_review

DATA = Path(__file__).parents[1] / "data" / "answers"
EXPECTED: dict[str, dict] = {
    k: v for k, v in json.loads((DATA / "expected.json").read_text()).items() if not k.startswith("_")
}


def _assigned() -> dict[str, set[int]]:
    """The lines a review of change.diff assigns, as the engine computes them (one chunk)."""
    plan = plan_review(parse_diff((DATA / "change.diff").read_bytes()), Budget.fixed(100_000))
    [chunk] = plan.chunks
    return chunk.assigned


ASSIGNED = _assigned()


def _rows(findings: list[ModelFinding]) -> list[list[object]]:
    return [[f.path, f.start_line, f.end_line, f.severity, f.category] for f in findings]


def test_the_corpus_is_complete() -> None:
    answers = {p.stem for p in DATA.glob("*.txt")}
    assert answers == set(EXPECTED) and len(answers) >= 30


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_answer_extraction_and_anchoring(name: str) -> None:
    case = EXPECTED[name]
    text = (DATA / f"{name}.txt").read_bytes().decode("utf-8")
    if "error" in case:
        with pytest.raises(AnswerParseError) as info:
            parse_answer(text)
        assert case["error"] in str(info.value)
        found, want = info.value.salvaged, case["salvaged"]
    else:
        found, want = parse_answer(text).findings, case["findings"]
    assert _rows(found) == want
    anchored = anchor_findings(found, ASSIGNED)
    assert anchored.dropped_unanchored == 0  # every finding the model made is kept on the change
    lines = case.get("anchored", [row[:3] for row in want])
    assert [[f.path, f.start_line, f.end_line] for f in anchored.kept] == lines
