"""The findings contract: what a reviewing model is asked to answer, and how diff lines are shown
to it.

One module, imported by both the review engine (which renders chunks and parses answers) and the
offline simulator (which reads chunks and writes answers), so the two can never drift apart. It
lives beside the catalog because, like the catalog, it is shared data with no behaviour of its
own beyond formatting and parsing that data.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict, Field

Severity = Literal["critical", "high", "medium", "low"]
Category = Literal[
    "security",
    "bug",
    "performance",
    "error_handling",
    "concurrency",
    "maintainability",
    "style",
    "docs",
    "tests",
]

SEVERITIES: tuple[Severity, ...] = get_args(Severity)  # most severe first
CATEGORIES: tuple[Category, ...] = get_args(Category)
SEVERITY_RANK: dict[str, int] = {s: i for i, s in enumerate(reversed(SEVERITIES))}  # low=0 .. critical=3


class ModelFinding(BaseModel):
    """One finding as a model reports it (before anchoring; lines in new-file numbering)."""

    model_config = ConfigDict(extra="ignore")

    path: str = Field(min_length=1)
    start_line: int = Field(ge=1)
    end_line: int = Field(ge=1)
    severity: Severity
    category: Category
    title: str = Field(min_length=1, max_length=200)
    body: str = ""
    suggestion: str | None = None
    confidence: float = Field(default=0.8, ge=0.0, le=1.0)


class ModelAnswer(BaseModel):
    """The whole JSON object a model must answer with."""

    model_config = ConfigDict(extra="ignore")

    findings: list[ModelFinding] = Field(default_factory=list)


def answer_json_schema() -> dict:
    """JSON schema of the expected answer, embedded in the review prompt."""
    return ModelAnswer.model_json_schema()


# --- How diff lines are rendered in a review prompt -------------------------------------------
# A file section starts with a header line; every diff line carries its new-file line number so
# the model can cite lines without counting (models count badly). Removed lines have no new
# number. Example:
#
#   FILE: src/app.py (python)
#   @@ -10,3 +10,4 @@ def handler(request):
#       10   context line
#       11 + added line
#          - removed line
#
FILE_HEADER = "FILE: "
_NUM_WIDTH = 6
_FILE_RE = re.compile(r"^FILE: (?P<path>.+?)(?: \((?P<lang>[^()]*)\))?\s*$")
_NUMBERED_RE = re.compile(r"^\s*(?P<no>\d+) (?P<mark>[+ ]) (?P<text>.*)$")
_HUNK_RE = re.compile(r"^@@ -\d+(?:,\d+)? \+(?P<start>\d+)(?:,\d+)? @@")
_GIT_NEW_FILE_RE = re.compile(r"^\+\+\+ (?:b/)?(?P<path>.+?)\s*$")


def render_file_header(path: str, language: str | None = None) -> str:
    return f"{FILE_HEADER}{path} ({language})" if language else f"{FILE_HEADER}{path}"


def render_line(marker: Literal["+", "-", " "], text: str, new_line: int | None) -> str:
    """One diff line as shown to the model: added/context lines numbered, removed lines not."""
    number = str(new_line) if new_line is not None and marker != "-" else ""
    return f"{number:>{_NUM_WIDTH}} {marker} {text}"


def iter_added_lines(prompt: str) -> Iterator[tuple[str, int, str]]:
    """Yield ``(path, new_line_number, text)`` for every added line in a prompt.

    Understands both the numbered format above and a raw ``git diff`` (someone pasting a diff
    into ``hunkwise chat``), so the simulator reviews either.
    """
    path: str | None = None
    new_no: int | None = None  # next new-file line number in raw-diff mode
    raw_mode = False
    for line in prompt.splitlines():
        if m := _FILE_RE.match(line):
            path, raw_mode, new_no = m.group("path"), False, None
            continue
        if line.startswith("diff --git "):
            raw_mode, path, new_no = True, None, None
            continue
        if raw_mode and (m := _GIT_NEW_FILE_RE.match(line)):
            path = None if m.group("path") == "/dev/null" else m.group("path")
            continue
        if path is None:
            continue
        if m := _HUNK_RE.match(line):
            new_no = int(m.group("start"))
            continue
        if raw_mode:
            if new_no is None or line.startswith(("--- ", "\\")):
                continue
            if line.startswith("+"):
                yield path, new_no, line[1:]
                new_no += 1
            elif line.startswith(" ") or line == "":
                new_no += 1
            continue
        if (m := _NUMBERED_RE.match(line)) and m.group("mark") == "+":
            yield path, int(m.group("no")), m.group("text")
