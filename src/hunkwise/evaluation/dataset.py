"""Evaluation cases: a unified diff, a language and the issues a good review finds in it.

Two layouts are read, the same way:

- a directory of cases, one sub-directory each: ``<id>/case.json`` (id, language, title,
  description, ``expected``, source), ``<id>/change.diff`` and, optionally, ``<id>/head/<path>``
  (head-side files, for code context);
- a JSONL file, one case object per line with the diff in a ``"diff"`` field and optional
  ``"head": {path: content}``.

``expected`` lists issues ``{path, start_line, end_line, severity, category, description}`` in
new-side line numbers; an empty list is a clean change (every finding on it is a false positive).
A malformed case stops the run before any model is called, with one line naming the file (and
line, for JSONL) and the field: an evaluation on a half-read dataset would print wrong figures.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from hunkwise.catalog.findings_contract import SEVERITIES, Severity
from hunkwise.errors import ConfigurationError
from hunkwise.review.diff import DiffParseError, parse_diff

CASE_FILE = "case.json"
DIFF_FILE = "change.diff"
HEAD_DIR = "head"


class DatasetError(ConfigurationError):
    """The dataset cannot be used as given; the message names the file and the field."""


class _Issue(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    path: str = Field(min_length=1)
    start_line: int = Field(ge=1, strict=True)
    end_line: int = Field(ge=1, strict=True)
    severity: Severity
    category: str = ""
    description: str = Field(min_length=1)

    @field_validator("severity", mode="before")
    @classmethod
    def _lower(cls, value: Any) -> Any:
        return value.strip().lower() if isinstance(value, str) else value

    @model_validator(mode="after")
    def _ordered(self) -> _Issue:
        if self.end_line < self.start_line:
            raise ValueError(f"end_line {self.end_line} is before start_line {self.start_line}")
        return self


class _CaseDoc(BaseModel):
    """case.json; unknown top-level keys are kept out of the way (a dataset may annotate)."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    id: str = Field(min_length=1)
    language: str = Field(min_length=1)
    title: str = ""
    description: str = ""
    expected: list[_Issue]
    source: dict[str, Any] = Field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ExpectedIssue:
    path: str
    start_line: int
    end_line: int
    severity: Severity
    category: str
    description: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "start_line": self.start_line,
            "end_line": self.end_line,
            "severity": self.severity,
            "category": self.category,
            "description": self.description,
        }


@dataclass(frozen=True, slots=True)
class Case:
    id: str
    language: str
    diff: str
    expected: tuple[ExpectedIssue, ...]
    title: str = ""
    description: str = ""
    head: Mapping[str, str] = field(default_factory=dict)
    origin: str = ""  # where it was read from, for messages

    @property
    def clean(self) -> bool:
        """A change with no expected issue: every finding on it is a false positive."""
        return not self.expected

    @property
    def digest(self) -> str:
        """What the review sees and what it is scored against: a changed case is reviewed again."""
        doc = {
            "id": self.id,
            "language": self.language,
            "diff": self.diff,
            "head": dict(sorted(self.head.items())),
            "expected": [e.as_dict() for e in self.expected],
        }
        canonical = json.dumps(doc, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class Dataset:
    path: Path
    cases: tuple[Case, ...]

    def __iter__(self) -> Iterator[Case]:
        return iter(self.cases)

    def __len__(self) -> int:
        return len(self.cases)


def load_dataset(path: Path) -> Dataset:
    """Read every case of ``path`` (a directory of cases, one case directory, or a JSONL file)."""
    path = Path(path)
    if not path.exists():
        raise DatasetError(
            f"dataset {path} does not exist: give a directory of cases (<id>/case.json + "
            f"<id>/{DIFF_FILE}) or a JSONL file"
        )
    if path.is_file():
        cases = list(_jsonl_cases(path))
    elif (path / CASE_FILE).is_file():
        cases = [_directory_case(path)]
    elif (path / "cases").is_dir() and not any(
        (d / CASE_FILE).is_file() for d in path.iterdir() if d.is_dir()
    ):
        return load_dataset(path / "cases")  # the bundled layout: eval/ holds cases/, sources/, tools/
    else:
        dirs = sorted(p for p in path.iterdir() if p.is_dir() and not p.name.startswith((".", "_")))
        cases = [_directory_case(d) for d in dirs]
    if not cases:
        raise DatasetError(
            f"dataset {path} has no cases: expected sub-directories with {CASE_FILE} and {DIFF_FILE}, "
            "or a JSONL file with one case per line"
        )
    seen: dict[str, str] = {}
    for case in cases:
        if case.id in seen:
            raise DatasetError(f"{case.origin}: id {case.id!r} is already used by {seen[case.id]}")
        seen[case.id] = case.origin
    return Dataset(path, tuple(cases))


def _field_problem(where: str, exc: ValidationError) -> DatasetError:
    err = exc.errors()[0]
    loc = ".".join(f"[{p}]" if isinstance(p, int) else str(p) for p in err["loc"]).replace(".[", "[")
    message = str(err["msg"])
    if err["type"] == "missing":
        return DatasetError(f"{where}: field {loc!r} is missing")
    if err["type"] == "literal_error" and loc.endswith("severity"):
        message = f"must be one of {', '.join(SEVERITIES)}"
    return DatasetError(f"{where}: field {loc!r}: {message[:1].lower() + message[1:]}")


def _case(doc: Any, diff: str, head: Mapping[str, str], where: str, diff_where: str) -> Case:
    if not isinstance(doc, dict):
        raise DatasetError(f"{where}: a case must be a JSON object, not {type(doc).__name__}")
    try:
        parsed = _CaseDoc.model_validate(doc)
    except ValidationError as exc:
        raise _field_problem(where, exc) from None
    if not diff.strip():
        raise DatasetError(f"{diff_where}: the diff is empty")
    try:
        files = parse_diff(diff)
    except DiffParseError as exc:
        raise DatasetError(f"{diff_where}: not a unified diff ({exc})") from None
    changed = {f.path for f in files}
    for i, issue in enumerate(parsed.expected):
        if issue.path not in changed:
            listed = ", ".join(sorted(changed)) or "none"
            raise DatasetError(
                f"{where}: field 'expected[{i}].path': {issue.path!r} is not a file the diff changes "
                f"(it changes: {listed})"
            )
    expected = tuple(
        ExpectedIssue(e.path, e.start_line, e.end_line, e.severity, e.category, e.description)
        for e in parsed.expected
    )
    return Case(
        id=parsed.id,
        language=parsed.language,
        diff=diff,
        expected=expected,
        title=parsed.title,
        description=parsed.description,
        head=dict(head),
        origin=where,
    )


def _read_text(path: Path, what: str) -> str:
    try:
        return path.read_text("utf-8")
    except FileNotFoundError:
        raise DatasetError(f"{path}: missing; every case directory needs {what}") from None
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise DatasetError(f"{path}: cannot be read ({reason})") from None


def _directory_case(directory: Path) -> Case:
    case_file = directory / CASE_FILE
    text = _read_text(case_file, f"{CASE_FILE} (id, language, expected)")
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DatasetError(f"{case_file}: not valid JSON ({exc})") from None
    diff = _read_text(directory / DIFF_FILE, f"{DIFF_FILE} (the change, as a unified git diff)")
    head: dict[str, str] = {}
    head_dir = directory / HEAD_DIR
    if head_dir.is_dir():
        for file in sorted(p for p in head_dir.rglob("*") if p.is_file()):
            head[file.relative_to(head_dir).as_posix()] = _read_text(file, "readable head files")
    case = _case(doc, diff, head, str(case_file), str(directory / DIFF_FILE))
    if case.id != directory.name:
        raise DatasetError(f"{case_file}: field 'id' is {case.id!r} but the directory is {directory.name!r}")
    return case


def _jsonl_cases(path: Path) -> Iterator[Case]:
    text = _read_text(path, "JSONL text")
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{path} line {number}"
        try:
            doc = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DatasetError(f"{where}: not valid JSON ({exc.msg})") from None
        if not isinstance(doc, dict):
            raise DatasetError(f"{where}: a case must be a JSON object")
        diff = doc.get("diff")
        if not isinstance(diff, str):
            raise DatasetError(f"{where}: field 'diff' is missing (the change, as a unified diff string)")
        head = doc.get("head") or {}
        if not isinstance(head, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in head.items()
        ):
            raise DatasetError(f"{where}: field 'head' must map file paths to their text")
        rest = {k: v for k, v in doc.items() if k not in ("diff", "head")}
        yield _case(rest, diff, head, where, where)
