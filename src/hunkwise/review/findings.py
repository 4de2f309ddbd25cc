"""From a model's findings to findings a reviewer can trust: anchor and de-duplicate (the noise
controls that then choose what is shown are :mod:`hunkwise.review.noise`).

Models cite lines a few off from the change or outside it entirely. Reading the answer is
tolerant (:mod:`hunkwise.review.answer`) so a usable answer is never thrown away; anchoring is
strict so every reported finding sits on a line this change added or modified (an inline PR
comment elsewhere is noise, or rejected by the platform).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from hunkwise.catalog.findings_contract import SEVERITY_RANK, ModelFinding, Severity

SNAP_DISTANCE = 3  # lines: a finding this close to a changed line is moved onto it


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
    # Set by the verification pass (review/verification.py): 0-10, and the verifier's reason.
    verification_score: int | None = None
    verification_reason: str = ""

    def as_dict(self) -> dict[str, Any]:
        """The JSON shape of a finding in the report, shared by the JSON
        and SARIF renderers and the server.
        """
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
        if self.verification_score is not None:
            out["verification"] = {"score": self.verification_score, "reason": self.verification_reason}
        return out

    @property
    def rank(self) -> int:
        """The severity as a number, for sorting and for ``--fail-on`` comparisons."""
        return SEVERITY_RANK[self.severity]


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
    """The findings that sit on lines this change touched, and how many were dropped for citing other lines
    (reported, not hidden).
    """

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
    """A stable reading order (file, line, most severe first), so two runs of the same review print the same
    report.
    """
    return sorted(findings, key=lambda f: (f.path, f.start_line, -f.rank, f.end_line, f.title))
