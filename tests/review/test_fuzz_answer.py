"""Fuzzing the answer parser: whatever a model writes (findings JSON inside prose, stray brackets
and quotes, fences opened and never closed, huge numbers, deep nesting, garbage), parsing returns
findings or raises :class:`AnswerParseError`, nothing else; and a valid findings JSON of our own
shape that occurs exactly once in the text is extracted exactly."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hunkwise.catalog.findings_contract import CATEGORIES, SEVERITIES, ModelFinding
from hunkwise.review.answer import AnswerParseError, parse_answer

_SETTINGS = settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Words for titles and bodies: code full of brackets, quotes, backslashes, fences, line breaks.
_WORDS = ["x", "setResults([]);", "}, []);", "files[0]", "```", "```js", "\\", '"', "'", "{", "}", "[", "]"]
_WORDS += [":", ",", "\n", "\u00e9", "\u2028", "\x00", " ", "null", "9" * 40]
_TEXT = st.lists(st.sampled_from(_WORDS), max_size=8).map("".join)
_FINDING = st.builds(
    ModelFinding,
    path=st.sampled_from(["src/app.py", "a b/c.ts", "x.go", "app/[id]/page.tsx"]),
    start_line=st.integers(1, 5000),
    end_line=st.integers(1, 5000),
    severity=st.sampled_from(SEVERITIES),
    category=st.sampled_from(CATEGORIES),
    title=_TEXT.filter(lambda t: t.strip()).map(lambda t: t[:200]),
    body=_TEXT,
    suggestion=st.one_of(st.none(), _TEXT.filter(bool)),
    confidence=st.floats(0, 1),
)
# Prose around the answer: what real answers hold, and what breaks naive parsers.
_NOISE = st.lists(
    st.sampled_from(
        [
            "Looking at the diff, ",
            "files[0] is read before the check. ",
            "`useEffect(() => {...}, []);` ",
            "setResults([]);\n",
            "}, []);\n",
            "```js\nfoo();\n",
            "```\n",
            "~~~\n",
            "{",
            "[",
            "}",
            "]",
            '"',
            "'",
            "\\",
            "[[[[[[[[[[",
            "]]]]",
            "[" * 600 + "]" * 600,
            "{" * 40,
            "9" * 5000,
            '{"a": 1}',
            "[1, 2]",
            '{"verdict": "ok", "n": ' + "1" * 5000 + "}",
            '{"x": [',
            "(see [note)",
            "\n",
            "Here is my review:\n",
        ]
    ),
    max_size=6,
).map("".join)


@_SETTINGS
@given(st.lists(_FINDING, max_size=4), _NOISE, _NOISE, st.booleans(), st.sampled_from([None, 2]))
def test_our_answer_once_in_noise_is_extracted_exactly(
    findings: list[ModelFinding], before: str, after: str, fenced: bool, indent: int | None
) -> None:
    answer = json.dumps({"findings": [f.model_dump() for f in findings]}, indent=indent)
    body = f"\n```json\n{answer}\n```\n" if fenced else answer
    assert parse_answer(before + body + after).findings == findings


_GARBAGE = st.one_of(
    st.text(max_size=400),
    st.lists(
        st.sampled_from(['{"findings": [', '{"path": "a.py", "start_line": 1, ', '"title": "t"}', "]}"])
        | st.sampled_from(
            ["[", "]", "{", "}", '"', "\\", ",", ":", "```json\n", "```\n", "1" * 5000, "\ud800"]
        )
        | st.sampled_from(["[" * 700, '{"a": ' * 50, "null", "1e999", "-", '"severity": "high"']),
        max_size=30,
    ).map("".join),
)


@_SETTINGS
@given(_GARBAGE)
def test_garbage_gives_findings_or_a_parse_error(text: str) -> None:
    try:
        answer = parse_answer(text)
    except AnswerParseError as exc:
        assert str(exc)  # a reason the repair request can quote
        assert all(isinstance(f, ModelFinding) for f in exc.salvaged)
    else:
        assert all(isinstance(f, ModelFinding) for f in answer.findings)


def test_a_stray_quote_in_the_prose_does_not_hide_the_answer() -> None:
    """Found by the fuzzer above: an unbalanced quote before the answer put the bracket scanner
    inside a string until the end, and the answer was refused (or read one finding short, from a
    fragment the scan did see). Our key written out is decoded from where it starts."""
    first = ModelFinding(path="src/app.py", start_line=1, end_line=1, severity="critical",
                         category="security", title="}, []);", body="", confidence=0.0)  # fmt: skip
    second = first.model_copy(update={"title": "x"})
    answer = json.dumps({"findings": [first.model_dump(), second.model_dump()]})
    for prose in [
        '{"x": [files[0] is read before the check. "{"verdict": "ok", "n": ' + "1" * 5000 + "}",
        'The "fix is to check first. ',
        '" ',
    ]:
        assert parse_answer(prose + answer).findings == [first, second], prose[:40]
        assert parse_answer(prose + '{"findings": []}').findings == []
    # The anchors are bounded: a megabyte of our key opened and never closed stays a quick refusal.
    with pytest.raises(AnswerParseError, match="incomplete"):
        parse_answer('"{"findings": [' * 60_000)
