"""A walkthrough of a change for the pull-request summary: per group of files, what changed and
where the risk is, derived from the diff and the findings alone.

Deterministic on purpose: it costs no model call (the review's budget goes to finding problems),
it cannot invent a change that is not in the diff, and the same diff and findings always render
the same text, so a summary edited on a new push changes only where the change did.

Groups: tests, docs and configuration, then code by directory. Risk areas, per group: findings
by severity (with the worst one's title), security-relevant paths (the thinking rule's words,
:func:`hunkwise.review.thinking_rule.security_relevant`), deleted files, large changes, lines not
reviewed, and code changed with no test changed anywhere in the change.
"""

from __future__ import annotations

import posixpath
from collections.abc import Sequence
from dataclasses import dataclass, field

from hunkwise.catalog.findings_contract import SEVERITY_RANK
from hunkwise.config.globs import glob_match
from hunkwise.review.diff import FileDiff
from hunkwise.review.findings import Finding
from hunkwise.review.noise import DEFAULT_TEST_PATHS
from hunkwise.review.report import SkippedLines
from hunkwise.review.thinking_rule import DOC_AND_CONFIG_PATHS, security_relevant

MAX_GROUPS = 12  # beyond this, the smallest groups are merged into "other files"
LARGE_CHANGE = 400  # changed lines in one group from which "large change" is a risk
MAX_SECTIONS = 3  # the functions or classes a group's hunks touch, named in "what changed"
TESTS, DOCS = "tests", "docs and configuration"


@dataclass(slots=True)
class FileGroup:
    """Files of one kind or directory, what the change did to them and what to look at."""

    name: str
    paths: list[str] = field(default_factory=list)
    statuses: dict[str, int] = field(default_factory=dict)
    added: int = 0
    removed: int = 0
    sections: list[str] = field(default_factory=list)
    risks: list[str] = field(default_factory=list)

    def changed(self) -> str:
        """``2 modified, 1 added (+40 -12); touches `def load`, `class Cache` ``."""
        kinds = ", ".join(f"{n} {status}" for status, n in sorted(self.statuses.items(), key=lambda x: -x[1]))
        text = f"{kinds} (+{self.added} -{self.removed})"
        if self.sections:
            text += "; touches " + ", ".join(f"`{s}`" for s in self.sections)
        return text


def _kind(path: str) -> str:
    if any(glob_match(g, path) for g in DEFAULT_TEST_PATHS):
        return TESTS
    if any(glob_match(g, path) for g in DOC_AND_CONFIG_PATHS):
        return DOCS
    return posixpath.dirname(path) or "(root)"


def _section(text: str) -> str:
    """A hunk header's context (``def load(path):``), shortened, without backticks."""
    text = " ".join(text.replace("`", "'").split()).rstrip(":{ ")
    return text[:60] + ("…" if len(text) > 60 else "")


def walkthrough(
    files: Sequence[FileDiff], findings: Sequence[Finding], skipped: Sequence[SkippedLines] = ()
) -> list[FileGroup]:
    """The groups in the order a reader wants them: code first (most changed lines first),
    then tests, then docs and configuration."""
    groups: dict[str, FileGroup] = {}
    where: dict[str, str] = {}
    for f in files:
        name = _kind(f.path)
        g = groups.setdefault(name, FileGroup(name))
        where[f.path] = name
        g.paths.append(f.path)
        g.statuses[f.status] = g.statuses.get(f.status, 0) + 1
        g.added += f.added
        g.removed += f.removed
        for h in f.hunks:
            s = _section(h.section)
            if s and s not in g.sections and len(g.sections) < MAX_SECTIONS:
                g.sections.append(s)
    ordered = sorted(
        groups.values(),
        key=lambda g: (g.name in (TESTS, DOCS), g.name == DOCS, -(g.added + g.removed), g.name),
    )
    if len(ordered) > MAX_GROUPS:
        keep, rest = ordered[: MAX_GROUPS - 1], ordered[MAX_GROUPS - 1 :]
        other = FileGroup("other files")
        for g in rest:
            other.paths += g.paths
            other.added += g.added
            other.removed += g.removed
            for status, n in g.statuses.items():
                other.statuses[status] = other.statuses.get(status, 0) + n
            for p in g.paths:
                where[p] = other.name
        ordered = [*keep, other]
    tests_changed = TESTS in groups
    for g in ordered:
        g.risks = _risks(g, [f for f in findings if where.get(f.path) == g.name], skipped, tests_changed)
    return ordered


def _risks(
    g: FileGroup, findings: list[Finding], skipped: Sequence[SkippedLines], tests_changed: bool
) -> list[str]:
    risks: list[str] = []
    if findings:
        worst = max(findings, key=lambda f: f.rank)
        counts: dict[str, int] = {}
        for f in findings:
            counts[f.severity] = counts.get(f.severity, 0) + 1
        by = ", ".join(
            f"{n} {s}" for s, n in sorted(counts.items(), key=lambda x: -SEVERITY_RANK.get(x[0], 0))
        )
        risks.append(f"{by} finding(s), worst: {worst.title.replace('|', '/')}")
    sensitive = [p for p in g.paths if security_relevant(p)]
    if sensitive:
        risks.append("security-relevant path(s): " + ", ".join(f"`{p}`" for p in sensitive[:3]))
    if g.statuses.get("deleted"):
        risks.append(f"{g.statuses['deleted']} file(s) deleted")
    if g.added + g.removed >= LARGE_CHANGE:
        risks.append(f"large change ({g.added + g.removed} lines)")
    not_reviewed = sum(s.lines for s in skipped if s.path in g.paths)
    if not_reviewed:
        risks.append(f"{not_reviewed} changed line(s) not reviewed")
    if g.name not in (TESTS, DOCS) and not tests_changed and g.added:
        risks.append("no test changed alongside")
    return risks


def render(groups: Sequence[FileGroup]) -> list[str]:
    """The walkthrough as a Markdown table (one row per group)."""
    if not groups:
        return []
    lines = ["| files | what changed | risk areas |", "| --- | --- | --- |"]
    for g in groups:
        label = f"`{g.paths[0]}`" if len(g.paths) == 1 else f"**{g.name}** ({len(g.paths)} files)"
        risks = "; ".join(g.risks) or "none seen"
        lines.append(f"| {label} | {g.changed()} | {risks} |")
    return lines
