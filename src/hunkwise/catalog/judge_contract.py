"""The judge contract: how ``hunkwise eval --judge`` asks a model whether a review finding and a
known issue describe the same problem, and how the answer reads.

Shared, like :mod:`hunkwise.catalog.findings_contract`, by the caller (the evaluation, which writes the
question and reads the verdict) and the offline simulator (which recognises the question and
answers it deterministically), so the two cannot drift apart.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

JUDGE_MARKER = "hunkwise-judge/1"
JUDGE_SYSTEM = (
    "You compare code review comments. Answer with one JSON object and nothing else: "
    '{"same": true or false, "reason": "one short sentence"}.'
)
_SECTION = re.compile(r"\[(FINDING|ISSUE)\]\n(?P<body>.*?)\n\[/\1\]", re.S)
_FIELD = re.compile(r"^(path|lines|category|text): ?(.*)$", re.M)
_JSON_OBJECT = re.compile(r"\{.*\}", re.S)


@dataclass(frozen=True, slots=True)
class Described:
    """One side of the question: where it is and what it says."""

    path: str
    start_line: int
    end_line: int
    category: str
    text: str

    def render(self) -> str:
        text = " ".join(self.text.split())  # one line: the section format is line-based
        return (
            f"path: {self.path}\nlines: {self.start_line}-{self.end_line}\n"
            f"category: {self.category}\ntext: {text}"
        )


def judge_prompt(finding: Described, issue: Described) -> str:
    """The user message of a judge request."""
    return (
        f"{JUDGE_MARKER}\n"
        "Do the review FINDING and the known ISSUE below describe the same problem in the code? "
        "Same problem means fixing one fixes the other; a finding on a nearby line about something "
        "else is not the same problem.\n\n"
        f"[FINDING]\n{finding.render()}\n[/FINDING]\n\n[ISSUE]\n{issue.render()}\n[/ISSUE]\n\n"
        'Answer with JSON only: {"same": true or false, "reason": "one short sentence"}'
    )


def read_judge_prompt(prompt: str) -> tuple[Described, Described] | None:
    """The (finding, issue) a judge prompt asks about, or ``None`` if ``prompt`` is not one."""
    if JUDGE_MARKER not in prompt:
        return None
    sides: dict[str, Described] = {}
    for section in _SECTION.finditer(prompt):
        fields = dict(_FIELD.findall(section.group("body")))
        lines = fields.get("lines", "0-0").split("-", 1)
        try:
            start, end = int(lines[0]), int(lines[-1])
        except ValueError:
            start = end = 0
        sides[section.group(1)] = Described(
            fields.get("path", ""), start, end, fields.get("category", ""), fields.get("text", "")
        )
    if "FINDING" not in sides or "ISSUE" not in sides:
        return None
    return sides["FINDING"], sides["ISSUE"]


def judge_answer(same: bool, reason: str) -> str:
    return json.dumps({"same": same, "reason": reason})


def parse_judge_answer(text: str) -> bool | None:
    """The verdict of an answer, or ``None`` when it has none (the pair is then not accepted,
    and counted as an unreadable verdict)."""
    found = _JSON_OBJECT.search(text or "")
    if found is None:
        return None
    try:
        doc = json.loads(found.group(0))
    except ValueError:
        return None
    same = doc.get("same") if isinstance(doc, dict) else None
    return same if isinstance(same, bool) else None
