"""The repository's review settings: the ``[review]`` table and ``[[rules]]`` of ``.hunkwise.toml``.

A team writes plain-language rules scoped by path ("in src/api/**, every handler checks
authorization") and review defaults (ignore globs, thresholds). The file lives in the repository
so the rules travel with the code and are reviewed like code. Parsing is strict about the tables
it owns (a typo in ``min_severity`` must not silently keep the default) and ignores the tables
other parts of hunkwise may read from the same file.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hunkwise.catalog.findings import SEVERITIES, Severity
from hunkwise.review.errors import ReviewInputError
from hunkwise.review.filters import compile_glob, glob_match

RULES_FILE = ".hunkwise.toml"


@dataclass(frozen=True, slots=True)
class Rule:
    """One plain-language rule; ``paths`` are globs with the same syntax as ignore globs
    (``hunkwise.review.filters``: ``**`` crosses directories, ``*.sql`` matches at any depth)."""

    text: str
    paths: tuple[str, ...] = ("**",)
    severity: Severity | None = None
    name: str | None = None

    def applies_to(self, path: str) -> bool:
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


@dataclass(frozen=True, slots=True)
class RepoRules:
    settings: ReviewSettings = field(default_factory=ReviewSettings)
    rules: tuple[Rule, ...] = ()
    source: str | None = None  # the file they came from, for messages

    def rules_for(self, paths: Iterable[str]) -> list[Rule]:
        """Rules that apply to at least one of ``paths``, in file order (stable prompts)."""
        wanted = list(paths)
        return [r for r in self.rules if any(r.applies_to(p) for p in wanted)]


_REVIEW_KEYS = {"ignore", "include", "max_file_lines", "min_severity", "max_findings", "fail_on"}
_RULE_KEYS = {"text", "paths", "severity", "name"}


def load_repo_rules(location: Path | str | None) -> RepoRules:
    """Read ``.hunkwise.toml`` (``location`` is the file or the directory holding it); a missing
    file means no rules and default settings."""
    if location is None:
        return RepoRules()
    path = Path(location)
    if path.is_dir():
        path = path / RULES_FILE
    if not path.is_file():
        return RepoRules()
    try:
        text = path.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ReviewInputError(f"cannot read {path}: {exc}") from exc
    return parse_repo_rules(text, source=str(path))


def parse_repo_rules(text: str, *, source: str = RULES_FILE) -> RepoRules:
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        # tomllib's message already carries "(at line L, column C)".
        raise ReviewInputError(f"{source} is not valid TOML: {exc}. Fix the syntax there.") from exc
    settings = _parse_settings(raw.get("review", {}), source)
    rules_raw = raw.get("rules", [])
    if not isinstance(rules_raw, list):
        raise ReviewInputError(f"{source}: 'rules' must be an array of tables: write [[rules]] blocks")
    rules = tuple(_parse_rule(item, i, source) for i, item in enumerate(rules_raw, start=1))
    return RepoRules(settings=settings, rules=rules, source=source)


def _parse_settings(table: Any, source: str) -> ReviewSettings:
    if not isinstance(table, dict):
        raise ReviewInputError(f"{source}: [review] must be a table")
    unknown = set(table) - _REVIEW_KEYS
    if unknown:
        raise ReviewInputError(
            f"{source}: unknown key(s) in [review]: {', '.join(sorted(unknown))}; "
            f"known keys: {', '.join(sorted(_REVIEW_KEYS))}"
        )
    return ReviewSettings(
        ignore=_globs(table.get("ignore", []), f"{source}: [review] ignore"),
        include=_globs(table.get("include", []), f"{source}: [review] include"),
        max_file_lines=_positive_int(table.get("max_file_lines"), f"{source}: [review] max_file_lines"),
        min_severity=_severity(table.get("min_severity"), f"{source}: [review] min_severity"),
        max_findings=_positive_int(table.get("max_findings"), f"{source}: [review] max_findings"),
        fail_on=_severity(table.get("fail_on"), f"{source}: [review] fail_on"),
    )


def _parse_rule(item: Any, index: int, source: str) -> Rule:
    where = f"{source}: rule #{index}"
    if not isinstance(item, dict):
        raise ReviewInputError(f"{where} must be a table ([[rules]] with text = ...)")
    unknown = set(item) - _RULE_KEYS
    if unknown:
        raise ReviewInputError(
            f"{where}: unknown key(s) {', '.join(sorted(unknown))}; "
            f"known keys: {', '.join(sorted(_RULE_KEYS))}"
        )
    text = item.get("text")
    if not isinstance(text, str) or not text.strip():
        raise ReviewInputError(f'{where} needs a non-empty text = "..." saying what to check')
    paths = _globs(item.get("paths", ["**"]), f"{where} paths") or ("**",)
    name = item.get("name")
    if name is not None and not isinstance(name, str):
        raise ReviewInputError(f"{where}: name must be a string")
    return Rule(
        text=text.strip(),
        paths=paths,
        severity=_severity(item.get("severity"), f"{where} severity"),
        name=name,
    )


def _globs(value: Any, where: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise ReviewInputError(f'{where} must be a list of glob strings, e.g. ["src/**/*.py"]')
    for pattern in value:
        try:
            compile_glob(pattern)
        except (ValueError, re.error) as exc:
            raise ReviewInputError(f"{where}: bad glob {pattern!r}: {exc}") from exc
    return tuple(v.strip() for v in value)


def _positive_int(value: Any, where: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ReviewInputError(f"{where} must be a positive integer, got {value!r}")
    return value


def _severity(value: Any, where: str) -> Severity | None:
    if value is None:
        return None
    if not isinstance(value, str) or value.lower() not in SEVERITIES:
        raise ReviewInputError(f"{where} must be one of {', '.join(SEVERITIES)}, got {value!r}")
    return value.lower()  # type: ignore[return-value]
