"""Feedback on hunkwise's comments, and the acceptance rates that demote a category or path.

Each comment hunkwise posted has one row (``finding_feedback``): its category, path and path
pattern, the thumbs up/down counts the platform shows now, and whether its thread is resolved.
How the counts arrive: GitHub sends no webhook for reactions, so they are read from the comments
themselves (the review comment listing carries a ``reactions`` rollup) when the next review of
that pull request runs; GitLab's award emoji are read the same way; resolutions come from
GitHub's ``pull_request_review_thread`` webhook and from GitLab's discussions (docs/conversation.md).

A comment is one sample when it has a signal: accepted (more 👍 than 👎, or its thread resolved
without a 👎 majority) or rejected (more 👎 than 👍). The acceptance rate of a category or path
pattern is accepted / samples, per organization and repository. Below ``threshold`` with at
least ``min_samples`` samples, it is demoted: its findings go to the summary only, which says
so. A person can undo a demotion (:func:`undemote`): visible and reversible, never silent.

Named like :mod:`hunkwise.server.routes.feedback` and :mod:`hunkwise.cli.feedback` on purpose:
store modules are named after the rows they keep.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import delete, select

from hunkwise.store.db import Db, use_session
from hunkwise.store.tables import FeedbackOverride, FindingFeedback, utcnow

Kind = Literal["category", "path"]
KINDS: tuple[Kind, ...] = ("category", "path")


def path_pattern(path: str) -> str:
    """The pattern a path counts under: its directory and everything below (``src/legacy/**``),
    ``*`` for a file at the top."""
    head, _, _ = path.rpartition("/")
    return f"{head}/**" if head else "*"


@dataclass(frozen=True, slots=True)
class CommentFeedback:
    """One comment's feedback as read from the platform."""

    org: str
    platform: str
    repository: str
    number: int
    comment_id: str
    category: str
    path: str
    up: int = 0
    down: int = 0
    resolved: bool | None = None  # None: unknown here (keep what is stored)


def record(db: Db, items: Iterable[CommentFeedback]) -> int:
    """Upsert each comment's counts (what the platform shows now replaces what was read before,
    so reading twice never double counts). Returns how many rows changed."""
    changed = 0
    with use_session(db, write=True) as session:
        for item in items:
            row = session.scalar(
                select(FindingFeedback).where(
                    FindingFeedback.platform == item.platform,
                    FindingFeedback.repository == item.repository,
                    FindingFeedback.comment_id == item.comment_id,
                )
            )
            if row is None:
                row = FindingFeedback(
                    org=item.org,
                    platform=item.platform,
                    repository=item.repository,
                    number=item.number,
                    comment_id=item.comment_id,
                    resolved=False,
                )
                session.add(row)
            new = (item.up, item.down, item.resolved if item.resolved is not None else row.resolved)
            if (row.up, row.down, row.resolved) != new or row.category != item.category:
                changed += 1
            row.up, row.down, row.resolved = new
            row.category = item.category[:64]
            row.path = item.path[:1000]
            row.path_pattern = path_pattern(item.path)[:1000]
            row.updated_at = utcnow()
    return changed


def set_resolved(db: Db, platform: str, repository: str, comment_ids: Iterable[str], resolved: bool) -> int:
    """A thread was resolved or reopened: mark the rows of its comments we know."""
    ids = list(comment_ids)
    if not ids:
        return 0
    with use_session(db, write=True) as session:
        rows = session.scalars(
            select(FindingFeedback).where(
                FindingFeedback.platform == platform,
                FindingFeedback.repository == repository,
                FindingFeedback.comment_id.in_(ids),
            )
        ).all()
        for row in rows:
            row.resolved = resolved
            row.updated_at = utcnow()
        return len(rows)


@dataclass(frozen=True, slots=True)
class Rate:
    """The acceptance of one category or path pattern in one repository (``""``: organization-wide)."""

    org: str
    repository: str
    kind: Kind
    value: str
    accepted: int
    rejected: int
    comments: int  # with or without a signal
    demoted: bool = False
    overridden: bool = False

    @property
    def samples(self) -> int:
        """Comments with a signal (accepted or rejected): what the threshold is judged over."""
        return self.accepted + self.rejected

    @property
    def acceptance(self) -> float | None:
        """Accepted / samples; None without samples (no rate, never a demotion)."""
        return self.accepted / self.samples if self.samples else None

    def as_dict(self) -> dict[str, object]:
        """The JSON shape the API and ``hunkwise feedback --json`` print."""
        return {
            "org": self.org,
            "repository": self.repository,
            "kind": self.kind,
            "value": self.value,
            "accepted": self.accepted,
            "rejected": self.rejected,
            "samples": self.samples,
            "comments": self.comments,
            "acceptance": None if self.acceptance is None else round(self.acceptance, 3),
            "demoted": self.demoted,
            "overridden": self.overridden,
        }


def _signal(row: FindingFeedback) -> int:
    """+1 accepted, -1 rejected, 0 no signal."""
    if row.down > row.up:
        return -1
    if row.up > row.down or row.resolved:
        return 1
    return 0


def rates(
    db: Db, *, org: str | None = None, repository: str | None = None, threshold: float, min_samples: int
) -> list[Rate]:
    """Acceptance per (organization, repository, category) and (…, path pattern), with whether
    each is demoted now (below ``threshold`` with at least ``min_samples``, not overridden)."""
    with use_session(db) as session:
        query = select(FindingFeedback)
        if org is not None:
            query = query.where(FindingFeedback.org == org)
        if repository is not None:
            query = query.where(FindingFeedback.repository == repository)
        rows = session.scalars(query).all()
        overrides = {
            (o.org, o.repository, o.kind, o.value) for o in session.scalars(select(FeedbackOverride)).all()
        }
    counts: dict[tuple[str, str, Kind, str], list[int]] = {}
    for row in rows:
        sig = _signal(row)
        for kind, value in (("category", row.category), ("path", row.path_pattern)):
            if not value:
                continue
            c = counts.setdefault((row.org, row.repository, kind, value), [0, 0, 0])  # type: ignore[arg-type]
            c[0] += sig > 0
            c[1] += sig < 0
            c[2] += 1
    out = []
    for (o, repo, kind, value), (acc, rej, n) in sorted(counts.items()):
        overridden = (o, repo, kind, value) in overrides or (o, "", kind, value) in overrides
        samples = acc + rej
        low = samples >= min_samples and samples > 0 and acc / samples < threshold
        out.append(
            Rate(o, repo, kind, value, acc, rej, n, demoted=low and not overridden, overridden=overridden)
        )
    return out


def undemote(db: Db, *, org: str, repository: str, kind: Kind, value: str, created_by: str = "") -> bool:
    """Keep ``kind``/``value`` inline whatever its acceptance (False: it already was)."""
    with use_session(db, write=True) as session:
        exists = session.scalar(
            select(FeedbackOverride.id).where(
                FeedbackOverride.org == org,
                FeedbackOverride.repository == repository,
                FeedbackOverride.kind == kind,
                FeedbackOverride.value == value,
            )
        )
        if exists is not None:
            return False
        session.add(
            FeedbackOverride(org=org, repository=repository, kind=kind, value=value, created_by=created_by)
        )
    return True


def redemote(db: Db, *, org: str, repository: str, kind: Kind, value: str) -> bool:
    """Undo :func:`undemote`: the acceptance rate decides again."""
    with use_session(db, write=True) as session:
        result = session.execute(
            delete(FeedbackOverride).where(
                FeedbackOverride.org == org,
                FeedbackOverride.repository == repository,
                FeedbackOverride.kind == kind,
                FeedbackOverride.value == value,
            )
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]


def demoted(
    db: Db, *, org: str, repository: str, threshold: float, min_samples: int
) -> dict[tuple[Kind, str], Rate]:
    """What is demoted in ``repository`` now: ``(kind, value) -> its rate``."""
    return {
        (r.kind, r.value): r
        for r in rates(db, org=org, repository=repository, threshold=threshold, min_samples=min_samples)
        if r.demoted
    }
