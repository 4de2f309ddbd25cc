"""``thinking = "auto"``: which review requests are light enough to send with thinking off.

Thinking tokens are billed as output and, on a Coding Plan, burn the window: a review of a README
edit does not need them; a change to an authorization check does. The rule is simple, shown per
request in ``--dry-run`` and in the report, and only matters for a slot whose thinking is set to
``auto`` (the gateway ignores the mark for any other setting):

1. a request touching a security-relevant path (auth, crypto, secrets, sessions, payments, SQL,
   permissions...) thinks, whatever its size;
2. a request whose files are all docs, tests or configuration is light;
3. a request with at most :data:`SMALL_CHANGE_LINES` changed lines is light;
4. anything else thinks.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from hunkwise.config.globs import glob_match
from hunkwise.review.noise import DEFAULT_TEST_PATHS

SMALL_CHANGE_LINES = 20
DOC_AND_CONFIG_PATHS: tuple[str, ...] = (
    "docs/",
    "doc/",
    "*.md",
    "*.rst",
    "*.txt",
    "*.adoc",
    "*.json",
    "*.yaml",
    "*.yml",
    "*.toml",
    "*.ini",
    "*.cfg",
    "*.conf",
    "*.properties",
    "*.lock",
    ".github/",
    ".gitignore",
    ".editorconfig",
    "Dockerfile",
    "Makefile",
)
# Words in a path that make a change worth the model's full attention.
_SECURITY_RE = re.compile(
    r"(?:^|[/_.\-])(?:auth|authn|authz|authenticat\w*|authori[sz]\w*|login|logout|passw(?:or)?d|"
    r"crypt\w*|cipher|secret\w*|token\w*|session\w*|"
    r"permission\w*|acl|rbac|oauth\w*|saml|jwt|csrf|xss|sanitiz\w*|security|payment\w*|billing|"
    r"checkout|sql|quer(?:y|ies)|migration\w*|admin\w*)(?:$|[/_.\-])",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class ThinkingChoice:
    """Whether a request is light (thinking off under ``auto``) and the rule that decided it."""

    light: bool
    reason: str

    def describe(self) -> str:
        """The choice as the plan and the report show it: ``off: docs, tests or configuration only``."""
        return f"{'off' if self.light else 'on'}: {self.reason}"


def security_relevant(path: str) -> bool:
    """Whether a path's words (auth, token, sql, migration, payment...) make a change to it
    worth the closest attention: the thinking rule and the pull-request walkthrough's risk areas."""
    return bool(_SECURITY_RE.search(path))


def choose(paths: Sequence[str], changed_lines: int) -> ThinkingChoice:
    """The rule above, for one request's files and its number of changed lines."""
    if risky := next((p for p in paths if security_relevant(p)), None):
        return ThinkingChoice(False, f"security-relevant path {risky}")
    patterns = (*DOC_AND_CONFIG_PATHS, *DEFAULT_TEST_PATHS)
    if paths and all(any(glob_match(g, p) for g in patterns) for p in paths):
        return ThinkingChoice(True, "docs, tests or configuration only")
    if changed_lines <= SMALL_CHANGE_LINES:
        return ThinkingChoice(True, f"small change ({changed_lines} changed line(s))")
    return ThinkingChoice(False, f"code change of {changed_lines} changed line(s)")


__all__ = ["DOC_AND_CONFIG_PATHS", "SMALL_CHANGE_LINES", "ThinkingChoice", "choose", "security_relevant"]
