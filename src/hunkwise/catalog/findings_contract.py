"""The findings contract: what a reviewing model is asked to answer, and how diff lines are shown
to it.

One module, imported by both the review engine (which renders chunks and parses answers) and the
offline simulator (which reads chunks and writes answers), so the two can never drift apart. It
lives beside the catalog because, like the catalog, it is shared data with no behaviour of its
own beyond formatting and parsing that data.
"""

from __future__ import annotations

import json
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


# --- Spellings real models use for the same fields --------------------------------------------
# Models trained on other review tools answer in those tools' shapes (pr-agent's ``relevant_file``
# / ``relevant_lines_start``, Kodus' ``codeSuggestions`` / ``relevantFile`` / ``suggestionContent``
# / ``label``, generic ``file`` / ``line`` / ``message``). This is the one table the answer parser
# reads; keys are compared case-insensitively with ``_``, ``-`` and spaces removed.
FIELD_ALIASES: dict[str, tuple[str, ...]] = {
    "path": ("path", "file", "filename", "file_path", "file_name", "relevant_file", "source_file"),
    "start_line": (
        "start_line",
        "line",
        "line_start",
        "start",
        "line_number",
        "lineno",
        "from_line",
        "first_line",
        "relevant_lines_start",
        "relevant_line_start",
    ),
    "end_line": (
        "end_line",
        "line_end",
        "end",
        "to_line",
        "last_line",
        "relevant_lines_end",
        "relevant_line_end",
    ),
    "title": ("title", "one_sentence_summary", "summary", "headline", "issue", "problem"),
    "body": (
        "body",
        "message",
        "description",
        "suggestion_content",
        "explanation",
        "details",
        "detail",
        "comment",
        "rationale",
        "reason",
        "text",
    ),
    "suggestion": ("suggestion", "improved_code", "suggested_code", "suggested_fix", "fix", "replacement"),
    "severity": ("severity", "priority", "level", "importance"),
    "category": ("category", "label", "type", "kind"),
    "confidence": ("confidence",),
}
# Keys under which a list of findings arrives (``{"codeSuggestions": [...]}`` and friends).
LIST_KEYS: tuple[str, ...] = (
    "findings",
    "issues",
    "comments",
    "code_suggestions",
    "suggestions",
    "review_comments",
    "results",
    "problems",
    "bugs",
    "review",
)
SEVERITY_ALIASES: dict[str, Severity] = {
    "blocker": "critical",
    "major": "high",
    "error": "high",
    "moderate": "medium",
    "warning": "medium",
    "minor": "low",
    "info": "low",
    "note": "low",
    "nit": "low",
}
CATEGORY_ALIASES: dict[str, Category] = {
    "error-handling": "error_handling",
    "errors": "error_handling",
    "error handling": "error_handling",
    "perf": "performance",
    "performance_and_optimization": "performance",
    "doc": "docs",
    "documentation": "docs",
    "documentation_and_comments": "docs",
    "test": "tests",
    "testing": "tests",
    "bugs": "bug",
    "correctness": "bug",
    "logic": "bug",
    "possible bug": "bug",
    "possible issue": "bug",
    "potential_issues": "bug",
    "breaking_changes": "bug",
    "race": "concurrency",
    "readability": "maintainability",
    "refactoring": "maintainability",
    "enhancement": "maintainability",
    "best practice": "maintainability",
    "code_style": "style",
}


def alias_key(name: str) -> str:
    """The comparable form of a key: ``relevantLinesStart`` and ``relevant_lines_start`` agree."""
    return name.lower().replace("_", "").replace("-", "").replace(" ", "")


FIELD_BY_ALIAS: dict[str, str] = {alias_key(a): f for f, names in FIELD_ALIASES.items() for a in names}
LIST_KEY_ALIASES: frozenset[str] = frozenset(alias_key(k) for k in LIST_KEYS)


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
# A path that would not read back the same from its header line (empty, padded with spaces, ending
# in ")" like a language tag, or holding a character str.splitlines() breaks at) is shown as a
# JSON string literal, which every model reads and the parser below decodes.
_FILE_RE = re.compile(r'^FILE: (?P<path>"(?:[^"\\]|\\.)*"|.+?)(?: \((?P<lang>[^()]*)\))?\s*$')
_LINE_BREAKS = frozenset("\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029")
# Line numbers are bounded: a pasted diff with a 5,000-digit number is text, not a crash.
_NUMBERED_RE = re.compile(r"^\s*(?P<no>\d{1,12}) (?P<mark>[+ ]) (?P<text>.*)$")
_HUNK_RE = re.compile(r"^@@ -\d+(?:,\d+)? \+(?P<start>\d{1,12})(?:,\d+)? @@")
_GIT_NEW_FILE_RE = re.compile(r"^\+\+\+ (?:b/)?(?P<path>.+?)\s*$")


def display_path(path: str) -> str:
    """``path`` as shown after ``FILE:``: as is, or quoted when it would not read back the same."""
    plain = path and path == path.strip() and path[-1] != ")" and path[0] != '"'
    if plain and not _LINE_BREAKS.intersection(path):
        return path
    quoted = json.dumps(path, ensure_ascii=False)
    return quoted.replace("\x85", "\\u0085").replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def _read_path(shown: str) -> str:
    if len(shown) >= 2 and shown[0] == '"' and shown[-1] == '"':
        try:
            value = json.loads(shown)
        except ValueError:
            return shown
        return value if isinstance(value, str) else shown
    return shown


def render_file_header(path: str, language: str | None = None) -> str:
    shown = display_path(path)
    return f"{FILE_HEADER}{shown} ({language})" if language else f"{FILE_HEADER}{shown}"


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
            path, raw_mode, new_no = _read_path(m.group("path")), False, None
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
