"""What people do on hunkwise's comments, read back: reactions, resolutions, and the demotion
they lead to; and the per-PR limit on ``@hunkwise`` commands.

- :func:`learn_github` / :func:`learn_gitlab` / :func:`learn_gitea`: before a review of a pull
  request runs, read the reactions (GitHub's ``reactions`` rollup on each review comment, GitLab's
  award emoji, Gitea's comment reactions) and resolutions (GitLab discussions, Gitea's
  resolver) of hunkwise's own earlier comments on it into the feedback store. GitHub and Gitea
  send no webhook for reactions; this is when they are learned.
- :func:`github_thread_event`: GitHub's ``pull_request_review_thread`` webhook (resolved,
  unresolved) marks the feedback rows of the thread's comments.
- :func:`demotion_rule`: the posting decision's ``demote`` input: a finding whose category or
  path pattern is demoted in its repository gets a reason (it then goes to the summary only).
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from hunkwise.platforms import identity
from hunkwise.platforms.review_post import PlatformError, markers_in
from hunkwise.review.findings import Finding
from hunkwise.store import feedback as store

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from hunkwise.jobs.runtime import Runtime
    from hunkwise.platforms.gitea import GiteaClient
    from hunkwise.platforms.github import GitHubClient
    from hunkwise.platforms.gitlab import GitLabClient

log = logging.getLogger("hunkwise.feedback")

# The first line of a finding comment (jobs/posting.comment_body): "🔴 **HIGH** · security · **Title**"
_CATEGORY = re.compile(r"\*\*[A-Z]+\*\* · ([^·\n]+?) · ")
THUMBS_UP = ("+1", "thumbsup")
THUMBS_DOWN = ("-1", "thumbsdown")


def category_of(body: str | None) -> str:
    found = _CATEGORY.search(body or "")
    return found.group(1).strip() if found else ""


def _is_finding(body: str | None) -> bool:
    return any(kind in ("finding", "fp") for kind, _ in markers_in(body))


async def learn_github(gh: GitHubClient, engine: Engine, org: str, repository: str, number: int) -> int:
    """Read the reactions of hunkwise's finding comments on one pull request into the store."""
    items = []
    for c in await gh.list_review_comments(repository, number):
        if c.get("in_reply_to_id") or not _is_finding(c.get("body")) or not await gh.is_own(c):
            continue
        reactions = c.get("reactions") if isinstance(c.get("reactions"), dict) else {}
        items.append(
            store.CommentFeedback(
                org=org,
                platform="github",
                repository=repository,
                number=number,
                comment_id=str(c.get("id")),
                category=category_of(c.get("body")),
                path=str(c.get("path") or ""),
                up=int(reactions.get("+1") or 0),
                down=int(reactions.get("-1") or 0),
            )
        )
    return await asyncio.to_thread(store.record, engine, items) if items else 0


async def learn_gitlab(
    gl: GitLabClient, engine: Engine, org: str, project_id: int, project_path: str, iid: int
) -> int:
    """Read award emoji and resolutions of hunkwise's finding discussions on one merge request."""
    me = await gl.own_user_id()
    items = []
    for d in await gl.discussions(project_id, iid):
        notes = d.get("notes") or []
        if not notes:
            continue
        first = notes[0]
        if (first.get("author") or {}).get("id") != me or not _is_finding(first.get("body")):
            continue
        awards = await gl.note_awards(project_id, iid, first.get("id"))
        names = [str(a.get("name")) for a in awards]
        position = first.get("position") or {}
        items.append(
            store.CommentFeedback(
                org=org,
                platform="gitlab",
                repository=project_path,
                number=iid,
                comment_id=str(first.get("id")),
                category=category_of(first.get("body")),
                path=str(position.get("new_path") or ""),
                up=sum(n in THUMBS_UP for n in names),
                down=sum(n in THUMBS_DOWN for n in names),
                resolved=bool(first.get("resolved")),
            )
        )
    return await asyncio.to_thread(store.record, engine, items) if items else 0


async def learn_gitea(gt: GiteaClient, engine: Engine, org: str, repository: str, number: int) -> int:
    """Read the reactions (``+1``/``-1``) and resolutions (a ``resolver``) of hunkwise's finding
    comments on one Gitea/Forgejo pull request. Gitea sends no webhook for either."""
    items = []
    for review, comments in await gt.own_reviews(repository, number):
        if review.get("state") == "PENDING":
            continue
        for c in comments:
            if not _is_finding(c.get("body")) or not await gt.is_own(c):
                continue
            names = [str(r.get("content")) for r in await gt.comment_reactions(repository, c.get("id"))]
            items.append(
                store.CommentFeedback(
                    org=org,
                    platform="gitea",
                    repository=repository,
                    number=number,
                    comment_id=str(c.get("id")),
                    category=category_of(c.get("body")),
                    path=str(c.get("path") or ""),
                    up=sum(n in THUMBS_UP for n in names),
                    down=sum(n in THUMBS_DOWN for n in names),
                    resolved=c.get("resolver") is not None,
                )
            )
    return await asyncio.to_thread(store.record, engine, items) if items else 0


async def best_effort(learn: Any, what: str) -> None:
    """Feedback is never worth a failed review: a platform error is logged and the review goes on."""
    try:
        await learn
    except (PlatformError, identity.IdentityError, ValueError) as exc:
        log.warning("feedback of %s not read: %s", what, exc)


def demotion_rule(
    engine: Engine, org: str, repository: str, *, threshold: float, min_samples: int
) -> Callable[[Finding], str | None]:
    """The ``demote`` input of the posting decision for one repository (read once per review)."""
    demoted = store.demoted(
        engine, org=org, repository=repository, threshold=threshold, min_samples=min_samples
    )

    def demote(f: Finding) -> str | None:
        for kind, value in (("category", f.category), ("path", store.path_pattern(f.path))):
            rate = demoted.get((kind, value))  # type: ignore[arg-type]
            if rate is not None:
                return (
                    f"{kind} {value}: {rate.accepted} of {rate.samples} accepted "
                    f"({rate.acceptance or 0:.0%} < {threshold:.0%})"
                )
        return None

    return demote


async def github_thread_event(runtime: Runtime, payload: dict[str, Any], delivery: str) -> tuple[str, int]:
    """``pull_request_review_thread`` resolved/unresolved: the thread's comments' feedback rows
    follow (only rows we recorded for our own comments change; a forged id matches nothing).
    Returns ``(what happened, rows changed)``."""
    action = payload.get("action")
    if action not in ("resolved", "unresolved"):
        return f"pull_request_review_thread action {action or '(none)'} is not recorded", 0
    repo = payload.get("repository") if isinstance(payload.get("repository"), dict) else {}
    thread = payload.get("thread") if isinstance(payload.get("thread"), dict) else {}
    try:
        owner, name = identity.github_repository(repo.get("full_name"), "repository.full_name")
    except identity.IdentityError as exc:
        log.info("GitHub delivery %s ignored: %s", delivery or "-", exc)
        return str(exc), 0
    ids = [
        str(c["id"])
        for c in thread.get("comments") or []
        if isinstance(c, dict) and isinstance(c.get("id"), int) and not isinstance(c.get("id"), bool)
    ]
    changed = await asyncio.to_thread(
        store.set_resolved, runtime.engine, "github", f"{owner}/{name}", ids, action == "resolved"
    )
    log.info(
        "GitHub delivery %s: thread %s on %s/%s, %d feedback row(s)",
        delivery or "-",
        action,
        owner,
        name,
        changed,
    )
    return f"thread {action}: {changed} comment(s) recorded", changed
