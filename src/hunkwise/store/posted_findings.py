"""What hunkwise posted on each pull request, and what users asked it not to post again.

Two small repositories over two tables (``posted_findings``, ``finding_suppressions``):

- :func:`record_posted` / :func:`posted`: the fingerprints posted per pull request and their
  thread's state, so a later push never posts the same finding twice (the comments' hidden
  markers carry the same fingerprints; this table is the server's memory when a comment was
  deleted, and the place the thread webhooks and ``@hunkwise`` commands write to);
- :func:`suppress` / :func:`suppressed`: the ``ignore`` command's store, per pull request or per
  repository; :class:`SuppressionStore` is the interface the posting decision reads.

Fingerprints are stored as their text form (:attr:`hunkwise.review.fingerprint.Fingerprint.text`,
``<16 hex>.<title-slug>``); the store is a sibling of the review engine and does not import it, so
the jobs layer parses them (:func:`hunkwise.review.fingerprint.Fingerprint.parse`), and a row
whose text no longer parses is skipped there, never fatal.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal, Protocol

from sqlalchemy import Engine, delete, or_, select
from sqlalchemy.exc import IntegrityError

from hunkwise.store.db import Db, use_session
from hunkwise.store.tables import FindingSuppression, PostedFinding, utcnow

ThreadState = Literal["open", "resolved", "wont_fix"]
THREAD_STATES: tuple[ThreadState, ...] = ("open", "resolved", "wont_fix")
REPOSITORY_WIDE = 0  # ``number`` of a suppression that holds for every pull request


@dataclass(frozen=True, slots=True)
class PullRef:
    """One pull request (GitHub ``owner/name#n``) or merge request (GitLab ``group/project!n``)."""

    platform: str
    repository: str
    number: int


@dataclass(frozen=True, slots=True)
class PostedRecord:
    """A posted finding as stored: its fingerprint, its thread's state, where and what it was."""

    fingerprint: str  # Fingerprint.text
    state: ThreadState = "open"
    path: str = ""
    title: str = ""
    head_sha: str = ""


def posted(db: Db, pr: PullRef) -> list[PostedRecord]:
    """Every finding recorded as posted on ``pr``, oldest first."""
    with use_session(db) as session:
        rows = session.scalars(
            select(PostedFinding)
            .where(
                PostedFinding.platform == pr.platform,
                PostedFinding.repository == pr.repository,
                PostedFinding.number == pr.number,
            )
            .order_by(PostedFinding.id)
        ).all()
        return [
            PostedRecord(
                row.fingerprint,
                row.state if row.state in THREAD_STATES else "open",  # type: ignore[arg-type]
                row.path,
                row.title,
                row.head_sha,
            )
            for row in rows
        ]


def record_posted(engine: Engine, pr: PullRef, records: Iterable[PostedRecord]) -> int:
    """Add what was posted (an existing fingerprint is left as it is: its thread's state wins
    over a re-post); returns how many rows were new. Idempotent, so a retried job may call it
    again."""
    added = 0
    for rec in records:
        try:
            with use_session(engine, write=True) as session:
                exists = session.scalar(
                    select(PostedFinding.id).where(
                        PostedFinding.platform == pr.platform,
                        PostedFinding.repository == pr.repository,
                        PostedFinding.number == pr.number,
                        PostedFinding.fingerprint == rec.fingerprint,
                    )
                )
                if exists is not None:
                    continue
                session.add(
                    PostedFinding(
                        platform=pr.platform,
                        repository=pr.repository,
                        number=pr.number,
                        fingerprint=rec.fingerprint,
                        state=rec.state,
                        path=rec.path[:1000],
                        title=rec.title[:300],
                        head_sha=rec.head_sha[:64],
                    )
                )
            added += 1
        except IntegrityError:  # a concurrent job recorded it first: the same outcome
            continue
    return added


def set_state(db: Db, pr: PullRef, fingerprint: str, state: ThreadState) -> bool:
    """Record what became of a thread (a resolution webhook, a "won't fix" reply); False when
    the fingerprint was never recorded on ``pr``."""
    if state not in THREAD_STATES:
        raise ValueError(f"thread state must be one of {', '.join(THREAD_STATES)}; got {state!r}")
    with use_session(db, write=True) as session:
        row = session.scalar(
            select(PostedFinding).where(
                PostedFinding.platform == pr.platform,
                PostedFinding.repository == pr.repository,
                PostedFinding.number == pr.number,
                PostedFinding.fingerprint == fingerprint,
            )
        )
        if row is None:
            return False
        row.state = state
        row.updated_at = utcnow()
        return True


# -- suppressions (``@hunkwise ignore``) ------------------------------------------------------------
class SuppressionStore(Protocol):
    """What the posting decision reads: the fingerprints not to post on one pull request (its
    own suppressions and the repository-wide ones). A test or the ``--github`` mode (no
    database) passes any object with this method."""

    def suppressed(self, pr: PullRef) -> list[str]:
        """The fingerprints (text form) not to post on ``pr``."""
        ...


def suppress(
    db: Db,
    *,
    org: str,
    pr: PullRef,
    fingerprint: str,
    repository_wide: bool = False,
    reason: str = "",
    created_by: str = "",
) -> bool:
    """Suppress ``fingerprint`` on ``pr`` (or, ``repository_wide``, on every pull request of
    its repository). False when it already was."""
    number = REPOSITORY_WIDE if repository_wide else pr.number
    try:
        with use_session(db, write=True) as session:
            exists = session.scalar(
                select(FindingSuppression.id).where(
                    FindingSuppression.platform == pr.platform,
                    FindingSuppression.repository == pr.repository,
                    FindingSuppression.number == number,
                    FindingSuppression.fingerprint == fingerprint,
                )
            )
            if exists is not None:
                return False
            session.add(
                FindingSuppression(
                    org=org,
                    platform=pr.platform,
                    repository=pr.repository,
                    number=number,
                    fingerprint=fingerprint,
                    reason=reason[:500],
                    created_by=created_by[:200],
                )
            )
    except IntegrityError:
        return False
    return True


def unsuppress(db: Db, *, pr: PullRef, fingerprint: str, repository_wide: bool = False) -> bool:
    """Undo :func:`suppress` (suppressions are visible and reversible)."""
    number = REPOSITORY_WIDE if repository_wide else pr.number
    with use_session(db, write=True) as session:
        result = session.execute(
            delete(FindingSuppression).where(
                FindingSuppression.platform == pr.platform,
                FindingSuppression.repository == pr.repository,
                FindingSuppression.number == number,
                FindingSuppression.fingerprint == fingerprint,
            )
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]


def suppressed(db: Db, pr: PullRef) -> list[str]:
    """The fingerprints suppressed on ``pr`` and on its whole repository."""
    with use_session(db) as session:
        texts = session.scalars(
            select(FindingSuppression.fingerprint)
            .where(
                FindingSuppression.platform == pr.platform,
                FindingSuppression.repository == pr.repository,
                or_(FindingSuppression.number == pr.number, FindingSuppression.number == REPOSITORY_WIDE),
            )
            .order_by(FindingSuppression.id)
        ).all()
    return list(texts)


@dataclass(frozen=True, slots=True)
class DatabaseSuppressions:
    """:class:`SuppressionStore` over the database."""

    db: Engine

    def suppressed(self, pr: PullRef) -> list[str]:
        """The pull request's and the repository's suppressions, from the database."""
        return suppressed(self.db, pr)
