"""Noise controls: which anchored findings a team is shown, and an account of every one it is not.

The top complaint about AI reviewers is noise: many low-value comments, the same remark on every
repetition of a pattern, nitpicks on test code. These controls run after anchoring and
de-duplication, in a fixed order, and each counts what it removed so a report never hides a
finding silently (the summary says "3 below min_confidence, 2 over max_findings", and lists the
held-back ones by title):

1. ``min_severity`` (global) and the per-path ``severity_floor`` (last matching glob wins, like
   CODEOWNERS), and the test-file policy (``relaxed`` keeps only high and critical there);
2. ``min_confidence``;
3. ``merge_repeats``: the same problem (same category, near-identical title) at several places of
   one file becomes one finding that names the other lines;
4. ``max_findings``: the highest severity x confidence first; the rest are *held back*: listed in
   the summary, not posted inline. With the verification pass on, the engine runs it between
   3 and 4 (:func:`hold_back` is step 4 on its own).

The test-file policy ``skip`` acts earlier, in the filters (the files are not sent at all and
are listed as skipped), so the coverage promise holds.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Literal, get_args

from hunkwise.catalog.findings_contract import SEVERITY_RANK, Severity
from hunkwise.config.globs import glob_match
from hunkwise.review.findings import Finding, sort_for_report

TestsPolicy = Literal["review", "relaxed", "skip"]
TESTS_POLICIES: tuple[str, ...] = get_args(TestsPolicy)
RELAXED_FLOOR: Severity = "high"  # what ``tests = "relaxed"`` keeps in test files

# Test files by the conventions of the languages the prompt knows; ``[review] test_paths``
# replaces the list for a repository with its own layout.
DEFAULT_TEST_PATHS: tuple[str, ...] = (
    "tests/",
    "test/",
    "__tests__/",
    "spec/",
    "testdata/",
    "test_*.py",
    "*_test.py",
    "conftest.py",
    "*_test.go",
    "*.test.ts",
    "*.test.tsx",
    "*.test.js",
    "*.test.jsx",
    "*.spec.ts",
    "*.spec.tsx",
    "*.spec.js",
    "*.spec.jsx",
    "*Test.java",
    "*Tests.java",
    "*IT.java",
    "*Test.kt",
    "*_spec.rb",
    "*_test.rb",
    "*Tests.cs",
    "*Test.cs",
    "*_test.rs",
    "*_test.exs",
)

REPEAT_TITLE_RATIO = 0.85  # difflib ratio above which two titles name the same problem


@dataclass(frozen=True, slots=True)
class NoiseControls:
    """The controls of one review; the defaults change nothing (every finding is shown)."""

    min_severity: Severity | None = None
    min_confidence: float | None = None
    max_findings: int | None = None
    severity_floor: tuple[tuple[str, Severity], ...] = ()  # (glob, floor); the last match wins
    tests: TestsPolicy = "review"
    test_paths: tuple[str, ...] = DEFAULT_TEST_PATHS
    merge_repeats: bool = False

    def __post_init__(self) -> None:
        if self.min_confidence is not None and not 0.0 <= self.min_confidence <= 1.0:
            raise ValueError(f"min_confidence must be between 0 and 1, got {self.min_confidence}")
        if self.max_findings is not None and self.max_findings < 1:
            raise ValueError(f"max_findings must be at least 1, got {self.max_findings}")
        if self.tests not in TESTS_POLICIES:
            raise ValueError(f"tests must be one of {', '.join(TESTS_POLICIES)}, got {self.tests!r}")

    def is_test_file(self, path: str) -> bool:
        """Whether the test-file policy (skip or lower the severity of
        findings in tests) applies to a path.
        """
        return any(glob_match(pattern, path) for pattern in self.test_paths)

    def floor_for(self, path: str) -> tuple[Severity | None, str]:
        """The severity a finding on ``path`` must reach, and the setting that says so."""
        floor, why = self.min_severity, "min_severity"
        for pattern, severity in self.severity_floor:
            if glob_match(pattern, path):
                floor, why = severity, f"severity_floor {pattern!r}"
        relaxed = self.tests == "relaxed" and self.is_test_file(path)
        if relaxed and (floor is None or SEVERITY_RANK[floor] < SEVERITY_RANK[RELAXED_FLOOR]):
            floor, why = RELAXED_FLOOR, 'tests = "relaxed"'
        return floor, why


@dataclass(slots=True)
class NoiseResult:
    """What is shown, what is held back for the summary, and a count per control."""

    kept: list[Finding] = field(default_factory=list)
    held_back: list[Finding] = field(default_factory=list)  # over max_findings, best first
    below_min_severity: int = 0
    below_severity_floor: int = 0  # a path's floor or the relaxed test-file policy
    below_min_confidence: int = 0
    repeats_merged: int = 0

    @property
    def over_max_findings(self) -> int:
        """How many findings the cap held back: reported, so a capped review never looks clean."""
        return len(self.held_back)


def score(finding: Finding) -> float:
    """Severity x confidence: the order in which findings earn one of ``max_findings`` places.
    A critical finding the model is unsure of (0.5) ties a medium one it is sure of."""
    return (finding.rank + 1) * finding.confidence


def apply_noise_controls(findings: Iterable[Finding], controls: NoiseControls) -> NoiseResult:
    """Run the controls in the module's order over de-duplicated, anchored findings."""
    result = NoiseResult()
    passed: list[Finding] = []
    for f in findings:
        floor, why = controls.floor_for(f.path)
        if floor is not None and f.rank < SEVERITY_RANK[floor]:
            if why == "min_severity":
                result.below_min_severity += 1
            else:
                result.below_severity_floor += 1
        elif controls.min_confidence is not None and f.confidence < controls.min_confidence:
            result.below_min_confidence += 1
        else:
            passed.append(f)
    if controls.merge_repeats:
        before = len(passed)
        passed = merge_repeats(passed)
        result.repeats_merged = before - len(passed)
    result.kept, result.held_back = hold_back(passed, controls.max_findings)
    return result


def hold_back(findings: Iterable[Finding], max_findings: int | None) -> tuple[list[Finding], list[Finding]]:
    """``max_findings``: the best by :func:`score` are shown (in report order), the rest held
    back for the summary (best first). The engine calls it on its own after the verification
    pass, which runs between the other controls and this one (no need to verify what a floor
    hides; the places verification frees go to the next best)."""
    best = sorted(findings, key=lambda f: (-score(f), -f.rank, f.path, f.start_line))
    if max_findings is None or len(best) <= max_findings:
        return sort_for_report(best), []
    return sort_for_report(best[:max_findings]), best[max_findings:]


def _same_problem(a: Finding, b: Finding) -> bool:
    if a.path != b.path or a.category != b.category:
        return False
    ta, tb = a.title.lower().strip(), b.title.lower().strip()
    return ta == tb or difflib.SequenceMatcher(None, ta, tb).ratio() >= REPEAT_TITLE_RATIO


def merge_repeats(findings: Sequence[Finding]) -> list[Finding]:
    """One finding per problem and file: the best-scored occurrence stays where it is and names
    the other lines in its body ("Also at lines 40, 77."), so the author still sees every place."""
    groups: list[list[Finding]] = []
    for f in sorted(findings, key=lambda f: (-score(f), f.start_line)):
        for group in groups:
            if _same_problem(group[0], f):
                group.append(f)
                break
        else:
            groups.append([f])
    merged: list[Finding] = []
    for head, *rest in groups:
        if not rest:
            merged.append(head)
            continue
        where = ", ".join(
            str(f.start_line) if f.start_line == f.end_line else f"{f.start_line}-{f.end_line}"
            for f in sorted(rest, key=lambda f: f.start_line)
        )
        note = f"Also at line{'s' if len(rest) > 1 or '-' in where else ''} {where}."
        merged.append(replace(head, body=f"{head.body}\n\n{note}" if head.body else note))
    return merged


__all__ = [
    "DEFAULT_TEST_PATHS",
    "TESTS_POLICIES",
    "NoiseControls",
    "NoiseResult",
    "TestsPolicy",
    "apply_noise_controls",
    "hold_back",
    "merge_repeats",
    "score",
]
