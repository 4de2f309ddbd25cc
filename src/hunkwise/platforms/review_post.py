"""What a platform client posts, and the errors every platform client raises.

A :class:`ReviewPost` is plain data (a summary, inline comments, one fingerprint), built by the
jobs layer from a review report, so the platform clients never import the review engine and the
same post can be stored in a job's checkpoint and re-sent verbatim after a crash.

Idempotency lives in hidden HTML comments: every body we post ends with
``<!-- hunkwise:<kind>:<key> -->``. Before posting, a client lists what is already on the pull
request and skips anything whose marker is there, so a retried or re-delivered job never posts
twice, even when the first attempt died between "posted" and "recorded".
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import Any

from hunkwise.errors import ConfigurationError, HunkwiseError, PermanentError, TransientError

# review: one review of one head (complete when on the summary); finding: a finding's old per-line
# key; fp: a finding's fingerprint (review/fingerprint.py); summary: the one summary of a PR;
# head: the head commit the summary describes; push: a later push's review of new comments;
# reply: an answer to an @hunkwise command (convevents), never itself answered;
# notice: a change that was not reviewed for its cost (a budget reached), once per PR and month.
_MARKER = re.compile(
    r"<!-- hunkwise:(review|finding|fp|summary|head|push|reply|notice):([0-9A-Za-z_.:@#/-]+) -->"
)
# An author's reply that closes a thread without resolving it.
_WONT_FIX = re.compile(r"\bwon[\u2019']?t[ -]?fix\b|\bwontfix\b|\bwill not fix\b", re.IGNORECASE)
REVIEW, NOTICE = "review", "notice"
"""A post's kinds: a review of a head, or a notice that a change was not reviewed (a budget
reached). Only a ``review`` marks a head as reviewed (incremental reviews start from it)."""


def marker(kind: str, key: str) -> str:
    return f"<!-- hunkwise:{kind}:{key} -->"


def markers_in(text: str | None) -> set[tuple[str, str]]:
    """Every ``(kind, key)`` marker in a body we (or anyone) posted."""
    return set(_MARKER.findall(text or ""))


def marker_values(text: str | None, kind: str) -> list[str]:
    """The keys of every ``kind`` marker in ``text``, in order."""
    return [key for k, key in _MARKER.findall(text or "") if k == kind]


def says_wont_fix(text: str | None) -> bool:
    """Whether a reply answers "won't fix" (``won't fix``, ``wontfix``, ``will not fix``)."""
    return bool(_WONT_FIX.search(text or ""))


@dataclass(frozen=True, slots=True)
class PriorThread:
    """A finding hunkwise posted earlier on this pull request, as the platform shows it now: its
    fingerprint (the ``fp`` marker of its comment), whether its thread was resolved, whether
    someone answered "won't fix", and where it was posted."""

    fingerprint: str
    resolved: bool = False
    wont_fix: bool = False
    where: str = ""


def review_key(platform: str, repository: str, number: int, head_sha: str) -> str:
    """The fingerprint of one review of one head: stable across retries and re-deliveries."""
    raw = f"{platform}:{repository}#{number}@{head_sha}"
    return hashlib.sha256(raw.encode()).hexdigest()[:20] + f"@{head_sha[:12]}"


def notice_key(platform: str, repository: str, number: int, reason: str, period: str) -> str:
    """The fingerprint of a notice: one per pull request, reason and period (``2026-12``), so a
    budget that stays reached is said once, not on every push."""
    raw = f"{platform}:{repository}#{number}:{reason}:{period}"
    return hashlib.sha256(raw.encode()).hexdigest()[:20] + f"@{period}"


@dataclass(frozen=True, slots=True)
class InlineComment:
    """A comment on new-file lines ``start_line..end_line`` of ``path`` (the right side)."""

    path: str
    start_line: int
    end_line: int
    body: str  # already carries its fingerprint marker
    key: str  # the finding's fingerprint (review/fingerprint.py, text form)
    title: str = ""  # the finding's title, for the store of posted findings

    def as_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "start_line": self.start_line,
            "end_line": self.end_line,
            "body": self.body,
            "key": self.key,
            "title": self.title,
        }


@dataclass(frozen=True, slots=True)
class ReviewPost:
    key: str  # review_key(...)
    head_sha: str
    summary: str  # markdown, already carries the marker of its kind
    comments: list[InlineComment] = field(default_factory=list)
    kind: str = REVIEW  # or NOTICE: posted the same way, never taken for a review of the head

    def as_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "head_sha": self.head_sha,
            "summary": self.summary,
            "comments": [c.as_dict() for c in self.comments],
            "kind": self.kind,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ReviewPost:
        return cls(
            key=data["key"],
            head_sha=data["head_sha"],
            summary=data["summary"],
            comments=[InlineComment(**c) for c in data.get("comments", [])],
            kind=data.get("kind", REVIEW),
        )


@dataclass(frozen=True, slots=True)
class PostResult:
    """``posted`` False means the fingerprint was already there (nothing new was posted)."""

    posted: bool
    review_id: int | str | None
    url: str | None = None
    inline: int = 0  # inline comments posted by this call
    folded: int = 0  # comments the platform refused inline, moved into the summary

    def as_dict(self) -> dict[str, Any]:
        return {
            "posted": self.posted,
            "review_id": self.review_id,
            "url": self.url,
            "inline": self.inline,
            "folded": self.folded,
        }


def fold_comments(summary: str, comments: list[InlineComment]) -> str:
    """The summary with refused inline comments appended as a list (markers kept)."""
    parts = [summary, "", "### Findings that could not be placed inline", ""]
    for c in comments:
        where = f"{c.path}:{c.start_line}" + (f"-{c.end_line}" if c.end_line > c.start_line else "")
        parts.append(f"**`{where}`**\n\n{c.body}\n")
    return "\n".join(parts)


# -- errors ---------------------------------------------------------------------------------------
class PlatformError(HunkwiseError):
    """A platform API refused or failed a request; the message says what to fix. Each subclass
    is in the family its status means (:class:`hunkwise.errors.HttpFailure`); a bare
    ``PlatformError`` is an answer we do not understand: permanent."""

    def __init__(self, message: str, *, status: int | None = None, retry_after_s: float | None = None):
        super().__init__(message)
        self.status = status
        self.retry_after_s = retry_after_s


class PlatformProxyRefused(PlatformError, ConfigurationError):
    """The outbound proxy refused to carry a platform request (``407``: it wants credentials;
    ``403``: its rules forbid the host). Permanent: a retry meets the same proxy until
    ``HTTPS_PROXY`` or the proxy's rules change, so a job fails at once saying which (it was
    retried as an unavailable platform, then died with the same message)."""


class PlatformAuthError(PlatformError, ConfigurationError):
    """401/403: the token is missing, wrong, or lacks a permission (message says which)."""


class PlatformNotFound(PlatformError, ConfigurationError):
    """404: the repository or pull request does not exist, or the token cannot see it."""


class PlatformRejected(PlatformError, PermanentError):
    """422/400: the request was understood and refused (e.g. a line outside the diff)."""


class PlatformRateLimited(PlatformError, TransientError):
    """429 (or GitHub's rate-limit 403); ``retry_after_s`` when the platform said how long."""


class PlatformUnavailable(PlatformError, TransientError):
    """5xx or a network failure."""
