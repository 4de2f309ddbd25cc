"""From a model's answer to findings a reviewer can trust: parse, anchor, de-duplicate, limit.

Models wrap JSON in prose and code fences, leave trailing commas, answer with a bare list, and cite
lines a few off from the change or outside it entirely. Parsing is tolerant so a usable answer is
never thrown away; anchoring is strict so every reported finding sits on a line this change
added or modified (an inline PR comment elsewhere is noise, or rejected by the platform).
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from hunkwise.catalog.findings import SEVERITY_RANK, ModelAnswer, ModelFinding, Severity

SNAP_DISTANCE = 3  # lines: a finding this close to a changed line is moved onto it


class AnswerParseError(ValueError):
    """The answer holds no valid findings JSON; the message is sent back in the repair request."""


@dataclass(slots=True)
class Finding:
    """An anchored finding, as reported (lines in new-file numbering, on changed lines)."""

    path: str
    start_line: int
    end_line: int
    severity: Severity
    category: str
    title: str
    body: str = ""
    suggestion: str | None = None
    model: str = ""
    confidence: float = 0.8
    chunk: int | None = None
    snapped: bool = False

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "path": self.path,
            "start_line": self.start_line,
            "end_line": self.end_line,
            "severity": self.severity,
            "category": self.category,
            "title": self.title,
            "body": self.body,
        }
        if self.suggestion:
            out["suggestion"] = self.suggestion
        out["model"] = self.model
        out["confidence"] = round(self.confidence, 3)
        return out

    @property
    def rank(self) -> int:
        return SEVERITY_RANK[self.severity]


# --- parsing ----------------------------------------------------------------------------------
_FENCE_RE = re.compile(r"```[ \t]*(?:json|JSON|javascript|js)?[ \t]*\n(.*?)```", re.DOTALL)
_CATEGORY_ALIASES = {
    "error-handling": "error_handling",
    "errors": "error_handling",
    "error handling": "error_handling",
    "perf": "performance",
    "doc": "docs",
    "documentation": "docs",
    "test": "tests",
    "testing": "tests",
    "bugs": "bug",
    "correctness": "bug",
    "logic": "bug",
    "race": "concurrency",
    "readability": "maintainability",
}
_SEVERITY_ALIASES = {
    "blocker": "critical",
    "major": "high",
    "moderate": "medium",
    "minor": "low",
    "info": "low",
}


def parse_answer(text: str) -> ModelAnswer:
    """Find and validate the findings JSON in ``text``; raise :class:`AnswerParseError` saying
    precisely what is wrong (the model reads it in the repair request)."""
    if not text or not text.strip():
        raise AnswerParseError('the answer was empty; expected a JSON object {"findings": [...]}')
    last_error = "no JSON object or array found in the answer"
    for candidate in _candidates(text):
        try:
            data = json.loads(_strip_trailing_commas(candidate))
        except json.JSONDecodeError as exc:
            last_error = f"invalid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
            continue
        data = _normalise(data)
        if data is None:
            last_error = 'the JSON has no "findings" list'
            continue
        try:
            return ModelAnswer.model_validate(data)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()[:5]
            )
            raise AnswerParseError(f"the findings do not match the schema: {problems}") from exc
    raise AnswerParseError(last_error)


_MAX_SCANS = 64


def _candidates(text: str) -> Iterable[str]:
    """JSON-looking substrings, most likely first: fenced blocks, then balanced {...}/[...] runs."""
    seen: set[str] = set()
    for m in _FENCE_RE.finditer(text):
        block = m.group(1).strip()
        if block and block not in seen:
            seen.add(block)
            yield block
    stripped = text.strip()
    if stripped[:1] in ("{", "[") and stripped not in seen:
        seen.add(stripped)
        yield stripped
    tried = 0
    for start, ch in enumerate(text):
        if ch in "{[":
            tried += 1
            if tried > _MAX_SCANS:  # bounded work on a huge, bracket-heavy non-answer
                return
            end = _balanced_end(text, start)
            if end is not None:
                block = text[start : end + 1]
                if block not in seen:
                    seen.add(block)
                    yield block


def _balanced_end(text: str, start: int) -> int | None:
    """Index of the bracket closing the one at ``start``, skipping brackets inside strings."""
    depth = 0
    in_string = escaped = False
    for i in range(start, len(text)):
        ch = text[i]
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "{[":
            depth += 1
        elif ch in "}]":
            depth -= 1
            if depth == 0:
                return i
    return None


def _strip_trailing_commas(text: str) -> str:
    """Remove commas before ``}``/``]`` outside strings (the most common model JSON slip)."""
    out: list[str] = []
    in_string = escaped = False
    pending_comma: int | None = None
    for ch in text:
        if in_string:
            out.append(ch)
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
            continue
        if ch == ",":
            pending_comma = len(out)
            out.append(ch)
            continue
        if ch in "}]" and pending_comma is not None:
            del out[pending_comma]
        if not ch.isspace():
            pending_comma = None
        if ch == '"':
            in_string = True
        out.append(ch)
    return "".join(out)


def _normalise(data: Any) -> dict[str, Any] | None:
    """Accept the shapes models actually produce, coercing spellings the schema is strict about."""
    if isinstance(data, list):
        data = {"findings": data}
    if not isinstance(data, dict):
        return None
    if "findings" not in data:
        for key in ("issues", "comments", "results", "review"):
            if isinstance(data.get(key), list):
                data = {"findings": data[key]}
                break
        else:
            if {"path", "title"} <= set(data):  # a single finding on its own
                data = {"findings": [data]}
            else:
                return None
    items = data.get("findings")
    if not isinstance(items, list):
        return None
    return {"findings": [_normalise_item(i) for i in items]}


def _normalise_item(item: Any) -> Any:
    if not isinstance(item, dict):
        return item
    item = dict(item)
    if "path" not in item:
        for key in ("file", "filename", "file_path"):
            if key in item:
                item["path"] = item.pop(key)
                break
    if "start_line" not in item:
        for key in ("line", "line_start", "start"):
            if key in item:
                item["start_line"] = item.pop(key)
                break
    if "end_line" not in item and "start_line" in item:
        item["end_line"] = item.pop("line_end", item["start_line"])
    for key in ("severity", "category"):
        if isinstance(item.get(key), str):
            item[key] = item[key].strip().lower()
    if isinstance(item.get("severity"), str):
        item["severity"] = _SEVERITY_ALIASES.get(item["severity"], item["severity"])
    if isinstance(item.get("category"), str):
        item["category"] = _CATEGORY_ALIASES.get(item["category"], item["category"].replace("-", "_"))
    if isinstance(item.get("title"), str) and len(item["title"]) > 200:
        item["title"] = item["title"][:197] + "..."
    if item.get("suggestion") == "":
        item["suggestion"] = None
    return item


# --- anchoring --------------------------------------------------------------------------------
def _clean_path(path: str) -> str:
    """Quotes, backslashes, ``./`` and a leading ``/`` removed; nothing else touched."""
    path = path.strip().strip("`'\"").replace("\\", "/")
    while path.startswith("./"):
        path = path[2:]
    return path.lstrip("/")


def _strip_diff_prefix(path: str) -> str:
    for prefix in ("a/", "b/"):
        if path.startswith(prefix):
            return path[len(prefix) :]
    return path


def normalise_path(path: str) -> str:
    """A model's path cleaned, with a diff's ``a/``/``b/`` prefix removed. Only for a path a
    model wrote: a repository path may really start with ``a/`` or ``b/`` (see
    :func:`anchor_findings`, which tries the exact path first)."""
    cleaned = _clean_path(path)
    stripped = _strip_diff_prefix(cleaned)
    return stripped if stripped == cleaned else _clean_path(stripped)


@dataclass(slots=True)
class AnchorResult:
    kept: list[Finding] = field(default_factory=list)
    dropped_unanchored: int = 0


def anchor_findings(
    findings: Iterable[ModelFinding],
    assigned: Mapping[str, Iterable[int]],
    *,
    model: str = "",
    chunk: int | None = None,
    snap: int = SNAP_DISTANCE,
) -> AnchorResult:
    """Keep findings whose lines touch the chunk's assigned (added/modified) lines.

    A range touching assigned lines is narrowed to the assigned lines it covers, so an inline
    comment lands on the change. A range within ``snap`` lines of an assigned line is moved onto
    the nearest one (models often cite the line above). Anything else is dropped and counted.
    """
    # Assigned paths are repository paths: cleaned, never stripped of an ``a/``/``b/`` directory.
    lines_by_path = {_clean_path(p): sorted(set(ls)) for p, ls in assigned.items()}
    reported = {_clean_path(p): p for p in assigned}  # a finding names the path as assigned
    result = AnchorResult()
    for f in findings:
        found = _model_path(f.path, lines_by_path)
        lines = lines_by_path.get(found) if found is not None else None
        if found is None or not lines:
            result.dropped_unanchored += 1
            continue
        path = reported[found]
        start, end = sorted((f.start_line, f.end_line))
        touched = [n for n in lines if start <= n <= end]
        snapped = False
        if touched:
            start, end = touched[0], touched[-1]
        else:
            nearest = min(lines, key=lambda n: (min(abs(n - start), abs(n - end)), n))
            if min(abs(nearest - start), abs(nearest - end)) > snap:
                result.dropped_unanchored += 1
                continue
            start = end = nearest
            snapped = True
        result.kept.append(
            Finding(
                path=path,
                start_line=start,
                end_line=end,
                severity=f.severity,
                category=f.category,
                title=f.title.strip(),
                body=f.body.strip(),
                suggestion=f.suggestion,
                model=model,
                confidence=f.confidence,
                chunk=chunk,
                snapped=snapped,
            )
        )
    return result


def _model_path(raw: str, known: Mapping[str, Any]) -> str | None:
    """The assigned path a model's path means: the path exactly as written first, then without
    a diff's ``a/``/``b/`` prefix (only when the written path is not itself assigned), then a
    unique suffix match of either."""
    cleaned = _clean_path(raw)
    candidates = [cleaned]
    stripped = normalise_path(cleaned)
    if stripped != cleaned:
        candidates.append(stripped)
    for candidate in candidates:
        if candidate in known:
            return candidate
    for candidate in candidates:
        match = _resolve_path(candidate, known)
        if match is not None:
            return match
    return None


def _resolve_path(path: str, known: Mapping[str, Any]) -> str | None:
    """The assigned path a model meant: exact, else a unique suffix match (``app.py`` for
    ``src/app.py``) in either direction."""
    if path in known:
        return path
    matches = [k for k in known if k.endswith("/" + path) or path.endswith("/" + k)]
    return matches[0] if len(matches) == 1 else None


# --- de-duplication and limits ----------------------------------------------------------------
def _similar(a: str, b: str) -> bool:
    a, b = a.lower().strip(), b.lower().strip()
    return a == b or difflib.SequenceMatcher(None, a, b).ratio() >= 0.6


def dedupe_findings(findings: Iterable[Finding]) -> list[Finding]:
    """Merge findings about the same thing (same path, overlapping lines, similar title), keeping
    the most severe, then most confident. Overlapping chunks (a giant hunk split with overlap)
    and repair answers both produce such twins."""
    ordered = sorted(findings, key=lambda f: (-f.rank, -f.confidence))
    kept: list[Finding] = []
    for f in ordered:
        twin = any(
            k.path == f.path
            and k.start_line <= f.end_line
            and f.start_line <= k.end_line
            and (_similar(k.title, f.title) or (k.category == f.category and k.start_line == f.start_line))
            for k in kept
        )
        if not twin:
            kept.append(f)
    return sort_for_report(kept)


def sort_for_report(findings: Iterable[Finding]) -> list[Finding]:
    return sorted(findings, key=lambda f: (f.path, f.start_line, -f.rank, f.end_line, f.title))


@dataclass(slots=True)
class LimitResult:
    kept: list[Finding]
    below_min_severity: int = 0
    over_max_findings: int = 0


def limit_findings(
    findings: Iterable[Finding], *, min_severity: Severity | None = None, max_findings: int | None = None
) -> LimitResult:
    """Apply ``--min-severity`` then ``--max-findings`` (keep the most severe, then the most
    confident: few high-signal comments beat many)."""
    items = list(findings)
    floor = SEVERITY_RANK[min_severity] if min_severity else 0
    above = [f for f in items if f.rank >= floor]
    result = LimitResult(kept=above, below_min_severity=len(items) - len(above))
    if max_findings is not None and len(above) > max_findings:
        best = sorted(above, key=lambda f: (-f.rank, -f.confidence, f.path, f.start_line))[:max_findings]
        result.over_max_findings = len(above) - len(best)
        result.kept = best
    result.kept = sort_for_report(result.kept)
    return result
