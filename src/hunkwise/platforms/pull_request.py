"""One pull request on one platform, as the review job sees it, and the one way a review is
posted on a platform without an atomic "review with comments".

The review job (:mod:`hunkwise.jobs.review_job`) is the same for every platform: read the diff,
review it, post once, show the merge status. What differs is how each platform's API does those
five things, so each platform implements :class:`PullRequest` over its client and the job never
names a platform. Adding a platform is a client, an event, a webhook route and a subclass of
this, not another copy of the job.

:func:`post_with_markers` is GitLab's posting order, shared by every platform whose comments are
posted one by one (GitLab, Bitbucket, Azure DevOps, Gitea): every comment carries a hidden
fingerprint, a comment already there is skipped, a line the platform cannot place is folded
into the summary, and the summary is written last (created once, then edited in place), so its
``review`` marker means the whole review is there.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import ClassVar

from hunkwise.platforms.review_post import (
    REVIEW,
    InlineComment,
    PlatformError,
    PlatformRejected,
    PostResult,
    PriorThread,
    ReviewPost,
    fold_comments,
)
from hunkwise.platforms.status import CommitState


@dataclass(frozen=True, slots=True)
class FetchedDiff:
    """A pull request's diff as the review reads it. ``since``: the head an incremental diff
    starts from (None: the whole pull request). ``refs``: what posting needs later that only the
    diff's answer carries (GitLab's ``diff_refs``); checkpointed with the review. ``unread``:
    files in the diff whose text the platform could not give (path -> why: too large, past a
    cap), which the review lists as skipped and the merge status calls incomplete."""

    text: str
    since: str | None = None
    refs: Mapping[str, str] = field(default_factory=dict)
    unread: Mapping[str, str] = field(default_factory=dict)


class PullRequest(ABC):
    """A platform's pull request, bound to one head commit, over an open client. ``repository``
    is the path shown and stored (``owner/name``, ``group/sub/project``); ``number`` the
    platform's pull request number; every identity was validated when the event was made."""

    platform: ClassVar[str]  # "github", "gitlab", ...: stored with usage and fingerprints

    def __init__(self, repository: str, number: int, head_sha: str) -> None:
        self.repository, self.number, self.head_sha = repository, number, head_sha

    @property
    def label(self) -> str:
        """How logs name it: ``owner/name#7``."""
        return f"{self.repository}#{self.number}"

    async def verify(self) -> None:
        """Ask the platform that the stored identities are what they claim before any request
        about the pull request (GitLab: the project id is the project path). Raises
        :class:`~hunkwise.platforms.identity.IdentityError`. Nothing to ask by default."""
        return None

    async def current_head(self) -> str | None:
        """The pull request's head commit as the platform shows it now, or None when this
        platform cannot tell or need not (its diff is pinned to :attr:`head_sha`, like Azure
        DevOps' iteration). Asked before any model is called: a platform whose diff endpoint
        answers the CURRENT diff would otherwise review a newer push under this (older) head,
        and pay for it twice, since the newer push has its own job."""
        return None

    @abstractmethod
    async def diff(self) -> FetchedDiff:
        """The diff to review at :attr:`head_sha`."""

    @abstractmethod
    async def file_at(self, path: str) -> str | None:
        """A file at the head commit (code context), None when absent or too large."""

    @abstractmethod
    async def prior_threads(self) -> list[PriorThread]:
        """What hunkwise posted on this pull request before, as the platform shows it now."""

    @abstractmethod
    async def post(self, post: ReviewPost, refs: Mapping[str, str]) -> PostResult:
        """Post a review or a notice, idempotently (a marker already there is not posted
        again). ``refs``: the :attr:`FetchedDiff.refs` of the reviewed diff ({} for a notice)."""

    @abstractmethod
    async def set_status(self, state: CommitState) -> None:
        """Show ``state`` as the ``hunkwise`` status of the head commit."""


@dataclass(frozen=True, slots=True)
class MarkerPosting:
    """A platform's five writes for :func:`post_with_markers`, each bound to one pull request.

    ``inline`` posts one comment on its line and raises
    :class:`~hunkwise.platforms.review_post.PlatformRejected` when the platform cannot place it;
    ``summary`` finds our summary (its id) or None; ``create`` posts a new top-level comment and
    ``edit`` replaces one's body; both answer the comment's id. ``identity``: who the token
    posts as (its user id, uuid, identity id), the one all "is this ours?" checks compare with;
    None (or an error it raises, naming what to set) when the platform does not say."""

    markers: Callable[[], Awaitable[set[tuple[str, str]]]]
    inline: Callable[[InlineComment], Awaitable[None]]
    summary: Callable[[], Awaitable[int | str | None]]
    create: Callable[[str], Awaitable[int | str | None]]
    edit: Callable[[int | str, str], Awaitable[int | str | None]]
    identity: Callable[[], Awaitable[object]]


async def post_with_markers(post: ReviewPost, writes: MarkerPosting) -> PostResult:
    """One comment per new finding (one whose fingerprint is not on the pull request yet), then
    the summary, created on the first review and edited in place on every later one. A notice
    (``post.kind``: a review not run for its cost) is a comment of its own, posted once.

    Nothing is read or written before the token's identity is known: without it no marker on
    the pull request would count as ours, and every retry would post everything again."""
    if await writes.identity() is None:
        raise PlatformError(
            "the platform did not say who the token is (no user id), so hunkwise cannot tell its "
            "own comments from others' and posts nothing; check the token and its read-user scope"
        )
    existing = await writes.markers()
    if (post.kind, post.key) in existing:
        return PostResult(False, None)
    if post.kind != REVIEW:
        return PostResult(True, await writes.create(post.summary), None)
    posted, refused = 0, []
    for c in post.comments:
        if ("fp", c.key) in existing or ("finding", c.key) in existing:
            continue
        try:
            await writes.inline(c)
            posted += 1
        except PlatformRejected:
            refused.append(c)  # the platform could not place the line: keep the finding in the summary
    summary = fold_comments(post.summary, refused) if refused else post.summary
    current = await writes.summary()
    note_id = await writes.create(summary) if current is None else await writes.edit(current, summary)
    return PostResult(True, note_id, None, inline=posted, folded=len(refused))
