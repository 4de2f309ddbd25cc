"""The repository's review settings and plain-language rules, as the engine uses them.

A team writes rules scoped by path ("in src/api/**, every handler checks authorization") and
review defaults (ignore globs, thresholds) under ``[review]`` and ``[[rules]]`` of
``.hunkwise.toml``. The file is read and validated once, by :mod:`hunkwise.config` (the same
schema for every command); this module only turns the validated values into the engine's shape.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from hunkwise.catalog.findings_contract import Severity
from hunkwise.config.globs import glob_match
from hunkwise.config.review_settings import ReviewConfig
from hunkwise.review.context import ContextMode
from hunkwise.review.noise import DEFAULT_TEST_PATHS, TestsPolicy
from hunkwise.review.verification import DEFAULT_MIN_SCORE, VerifyAction


@dataclass(frozen=True, slots=True)
class Rule:
    """One plain-language rule; ``paths`` are globs with the same syntax as ignore globs
    (:mod:`hunkwise.config.globs`: ``**`` crosses directories, ``*.sql`` matches at any depth)."""

    text: str
    paths: tuple[str, ...] = ("**",)
    severity: Severity | None = None
    name: str | None = None

    def applies_to(self, path: str) -> bool:
        """Whether this rule covers a path, so only rules relevant to a chunk's files go into its prompt."""
        return any(glob_match(pattern, path) for pattern in self.paths)


@dataclass(frozen=True, slots=True)
class ReviewSettings:
    """The ``[review]`` table. ``None`` means "not set here": the CLI flag or default wins."""

    ignore: tuple[str, ...] = ()
    include: tuple[str, ...] = ()
    max_file_lines: int | None = None
    min_severity: Severity | None = None
    max_findings: int | None = None
    fail_on: Severity | None = None
    min_confidence: float | None = None
    severity_floor: tuple[tuple[str, Severity], ...] = ()
    tests: TestsPolicy = "review"
    test_paths: tuple[str, ...] = DEFAULT_TEST_PATHS
    merge_repeats: bool = False
    context: ContextMode = "hunk"
    verify: bool = False
    min_score: int = DEFAULT_MIN_SCORE
    verify_action: VerifyAction = "drop"


@dataclass(frozen=True, slots=True)
class RepoRules:
    """A repository's own review settings and rules, read once from its rules file and passed to the engine,
    so a review needs no file access of its own.
    """

    settings: ReviewSettings = field(default_factory=ReviewSettings)
    rules: tuple[Rule, ...] = ()
    source: str | None = None  # the file(s) they came from, for messages

    @classmethod
    def from_config(cls, config: ReviewConfig) -> RepoRules:
        """Build from the validated config file, so the review layer trusts its input and does not re-validate
        it.
        """
        s = config.settings
        return cls(
            settings=ReviewSettings(
                ignore=s.ignore,
                include=s.include,
                max_file_lines=s.max_file_lines,
                min_severity=s.min_severity,
                max_findings=s.max_findings,
                fail_on=s.fail_on,
                min_confidence=s.min_confidence,
                severity_floor=tuple(s.severity_floor.items()),
                tests=s.tests,
                test_paths=s.test_paths if s.test_paths is not None else DEFAULT_TEST_PATHS,
                merge_repeats=s.merge_repeats,
                context=s.context,
                verify=s.verify,
                min_score=s.min_score,
                verify_action=s.verify_action,
            ),
            rules=tuple(Rule(r.text, r.paths, r.severity, r.name) for r in config.rules),
            source=config.source,
        )

    def rules_for(self, paths: Iterable[str]) -> list[Rule]:
        """Rules that apply to at least one of ``paths``, in file order (stable prompts)."""
        wanted = list(paths)
        return [r for r in self.rules if any(r.applies_to(p) for p in wanted)]
