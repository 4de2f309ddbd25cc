"""Gitea and Forgejo (Codeberg too): an async REST client and the pull request the review job sees.

Forgejo kept Gitea's ``/api/v1``, so one client serves both. It reads a pull request's diff
(``GET /repos/{owner}/{repo}/pulls/{index}.diff``) and posts a review the way
:func:`~hunkwise.platforms.pull_request.post_with_markers` orders it: each new finding as a pull
request review of its own (``event: COMMENT`` with one comment on its new-file line), then the
summary as an issue comment, created once and edited in place on every later review.

One review per finding, not one review holding every comment, because of how Gitea creates a
review (``routers/api/v1/repo/pull_review.go`` ``CreatePullReview``): each comment is first added
to the token user's *pending* review, then the pending review is submitted. A request that fails
half-way leaves the comments made so far pending, and Gitea attaches them to the user's next
review: a retried batch would post them twice. With one comment per review a failure strands at
most one comment, which the next attempt finds and removes (:meth:`GiteaClient.drop_stranded`)
before it posts again, and a retry resumes at the finding that failed.

Gitea does not refuse a comment on a line outside the diff: it stores it with an empty diff hunk,
shown in the conversation with no code around it (``CutDiffAroundLine`` answers ``""``). So the
lines a comment may go on are read from the diff when it is fetched (:func:`placeable_lines`,
checkpointed with the review as the diff's ``refs``), and a finding on any other line raises
:class:`~hunkwise.platforms.review_post.PlatformRejected` before anything is sent: it is folded
into the summary.

No client library is used. Among the Python clients for Gitea: ``py-gitea`` is synchronous
(requests) and written for Gitea 1.13, without pull request reviews; ``giteapy`` is a synchronous
client generated from a 2019 swagger file and unmaintained; ``python-gitea`` is young (0.x), and
what its documentation lists (issues, pull requests, comments, ...) names neither review comments
nor commit statuses. None takes an httpx transport, which hunkwise needs for the loopback fakes
in its tests and the connect-time network policy, and each would bring its own error types where
:class:`~hunkwise.platforms.rest.RestClient` translates every failure once. The endpoints used
here are eleven.
"""

from __future__ import annotations

import codecs
import functools
import json
import re
from collections.abc import Mapping
from typing import Any

import httpx

from hunkwise.gateway import Secret
from hunkwise.platforms import identity
from hunkwise.platforms.gitea_webhooks import TOKEN_ENV, URL_ENV, GiteaPullRequestEvent
from hunkwise.platforms.pull_request import FetchedDiff, MarkerPosting, PullRequest, post_with_markers
from hunkwise.platforms.rest import RestClient, answered_id
from hunkwise.platforms.review_post import (
    InlineComment,
    PlatformError,
    PlatformRejected,
    PostResult,
    PriorThread,
    ReviewPost,
    marker_values,
    markers_in,
    says_wont_fix,
)
from hunkwise.platforms.status import STATUS_NAME, CommitState, gitea_commit_state

PLACEABLE = "placeable"  # the diff refs' key: the new-file line ranges a comment may go on
PENDING = "PENDING"  # a review not submitted yet (only its author sees it)
OwnReviews = list[tuple[dict[str, Any], list[dict[str, Any]]]]  # (review, its comments)
_HUNK = re.compile(r"^@@ -\d+(?:,\d+)? \+(\d+)(?:,(\d+))? @@")


def placeable_lines(diff: str) -> dict[str, list[list[int]]]:
    """Per file of a git diff, the new-file line ranges ``[first, last]`` of its hunks: where
    Gitea can show a comment with its code (a hunk's context lines included, as in its UI)."""
    out: dict[str, list[list[int]]] = {}
    path: str | None = None
    for line in diff.splitlines():
        if line.startswith("diff --git "):
            path = None
        elif line.startswith("+++ "):
            target = _git_path(line[4:])
            path = target[2:] if target.startswith("b/") else None  # /dev/null: a deleted file
        elif path is not None and (found := _HUNK.match(line)):
            first, count = int(found.group(1)), int(found.group(2) or 1)
            if count:
                out.setdefault(path, []).append([first, first + count - 1])
    return out


def _git_path(field: str) -> str:
    """A ``---``/``+++`` path as git writes it: C-quoted (``"b/tab\\there.py"``) when it holds a
    tab, a newline, a quote or a backslash (and non-ASCII, unless ``core.quotePath`` is off, as
    Gitea sets it), followed by a tab when it holds a space. A quoting git would not write is
    kept as it is (no file matches it: its findings go into the summary)."""
    if field.startswith('"'):
        end = field.rfind('"')
        if end > 0:
            try:
                raw: bytes = codecs.escape_decode(field[1:end].encode("utf-8"))[0]
            except ValueError:  # a trailing backslash: not git's quoting
                return field
            return raw.decode("utf-8", errors="replace")
    return field.split("\t", 1)[0]


def _placeable(refs: Mapping[str, str]) -> dict[str, list[list[int]]] | None:
    """The checkpointed ranges, or None when the refs have none (a notice, an older checkpoint)."""
    raw = refs.get(PLACEABLE)
    if not raw:
        return None
    data = json.loads(raw)
    return data if isinstance(data, dict) else None


class GiteaClient(RestClient):
    """The Gitea/Forgejo REST API at one instance, with one token (``Authorization: token ...``)."""

    platform = "Gitea"
    # Never used by the server: its factory passes the configured HUNKWISE_GITEA_URL's API root.
    default_api_url = "https://gitea.com/api/v1"
    url_hint = f"check {URL_ENV} (the instance's web address; the API is under /api/v1) and the network"
    not_found_hint = "check the repository and pull request, and that the token's user can see them"

    @functools.cached_property
    def _submitted_comments(self) -> dict[tuple[str, int, int], list[dict[str, Any]]]:
        """Comments of submitted reviews already read by this client (:meth:`own_reviews`)."""
        return {}

    def _repo(self, repository: str, *rest: str | int) -> httpx.URL:
        owner, name = identity.gitea_repository(repository)
        return self._url("repos", owner, name, *rest)

    def _pull(self, repository: str, number: int, *rest: str | int) -> httpx.URL:
        return self._repo(repository, "pulls", identity.positive_int(number, "number"), *rest)

    # -- reading --------------------------------------------------------------------------------
    async def pull_diff(self, repository: str, number: int) -> str:
        """The pull request's diff against its merge base, as ``git diff`` prints it."""
        url = self._repo(repository, "pulls", f"{identity.positive_int(number, 'number')}.diff")
        return (await self._request("GET", url, headers={"Accept": "text/plain"})).text

    async def pull_head(self, repository: str, number: int) -> str:
        """The pull request's head commit now (``head.sha`` of ``GET .../pulls/{index}``)."""
        data = (await self._request("GET", self._pull(repository, number))).json()
        head = data.get("head") if isinstance(data, dict) else None
        return identity.commit_sha(head.get("sha") if isinstance(head, dict) else None, "head.sha")

    async def file_at(self, repository: str, path: str, ref: str) -> str | None:
        """A file's text at commit ``ref`` (``GET .../raw/{path}?ref=``), for code context;
        ``None`` when absent there, binary or too large."""
        ref = identity.commit_sha(ref, "head commit")
        url = self._repo(repository, "raw", *identity.repository_file_path(path))
        return await self._file_text(url, ref)

    async def own_id(self) -> int:
        """The token user's id, which every "is this hunkwise's?" check compares with. No answer
        is an error, not "nobody": without it every marker would look foreign and a retry would
        post every finding and the summary again (as Bitbucket and Azure DevOps refuse too)."""
        me = await self.own_user_id()
        if me is None:
            raise PlatformError(
                "Gitea did not say who the token's user is (GET /user answered no numeric id), so "
                f"hunkwise cannot tell its own comments and posts nothing; check {TOKEN_ENV}"
            )
        return me

    async def is_own(self, item: dict[str, Any]) -> bool:
        """Whether the token's user wrote ``item`` (a review, a comment)."""
        user = item.get("user")
        me = await self.own_user_id()
        return me is not None and isinstance(user, dict) and user.get("id") == me

    async def reviews(self, repository: str, number: int) -> list[dict[str, Any]]:
        return await self._paginate(self._pull(repository, number, "reviews"))

    async def review_comments(self, repository: str, number: int, review_id: object) -> list[dict[str, Any]]:
        """The code comments of one review, replies in its threads included (Gitea files a reply
        in the review of the comment it answers, and lists them per file and line)."""
        rid = identity.positive_int(review_id, "review id", maximum=identity.MAX_ID)
        data = (await self._request("GET", self._pull(repository, number, "reviews", rid, "comments"))).json()
        if not isinstance(data, list):
            raise PlatformError(f"Gitea answered review {rid}'s comments with an unexpected shape")
        return [c for c in data if isinstance(c, dict)]

    async def issue_comments(self, repository: str, number: int) -> list[dict[str, Any]]:
        """The pull request's conversation comments (its summary and notices among them)."""
        return await self._paginate(
            self._repo(repository, "issues", identity.positive_int(number, "number"), "comments")
        )

    async def own_reviews(self, repository: str, number: int) -> OwnReviews:
        """The token user's reviews with their comments (replies by others included).

        hunkwise posts one review per finding, and a job asks three times (the feedback learner,
        the prior threads, the marker check before posting): reading every review's comments
        each time made a re-run with 20 findings cost 88 requests. A client serves one job, so a
        *submitted* review's comments are read once per client: hunkwise's own comment in it is
        never edited, so its fingerprint cannot change, and the replies and resolutions are as
        of the job's first read, seconds earlier. The list of reviews is read every time (a
        review posted since is read then), and a pending review always (it is about to be
        submitted or dropped)."""
        out = []
        for review in await self.reviews(repository, number):
            if not await self.is_own(review):
                continue
            rid = identity.positive_int(review.get("id"), "review id", maximum=identity.MAX_ID)
            submitted = review.get("state") != PENDING
            comments = self._submitted_comments.get((repository, number, rid)) if submitted else None
            if comments is None:
                comments = await self.review_comments(repository, number, rid)
                if submitted:
                    self._submitted_comments[(repository, number, rid)] = comments
            out.append((review, comments))
        return out

    async def comment_reactions(self, repository: str, comment_id: object) -> list[dict[str, Any]]:
        """The reactions on one comment (a review comment is a comment of the pull request's issue
        too): ``[{"user": ..., "content": "+1"}, ...]``."""
        cid = identity.positive_int(comment_id, "comment id", maximum=identity.MAX_ID)
        data = (
            await self._request("GET", self._repo(repository, "issues", "comments", cid, "reactions"))
        ).json()
        return [r for r in data if isinstance(r, dict)] if isinstance(data, list) else []

    async def drop_stranded(self, repository: str, number: int, reviews: OwnReviews | None = None) -> int:
        """Delete the token user's pending reviews whose every comment is hunkwise's (an attempt
        that failed between adding a comment and submitting it): Gitea would submit them with the
        next review, and the finding would be there twice. A pending review with any comment
        without a hunkwise fingerprint (a person's draft, when the token is a person's) is kept.
        ``reviews``: :meth:`own_reviews` when the caller has them already."""
        dropped = 0
        for review, comments in (
            reviews if reviews is not None else await self.own_reviews(repository, number)
        ):
            if review.get("state") != PENDING:
                continue
            if comments and all(marker_values(c.get("body"), "fp") for c in comments):
                rid = identity.positive_int(review.get("id"), "review id", maximum=identity.MAX_ID)
                await self._request("DELETE", self._pull(repository, number, "reviews", rid))
                dropped += 1
        return dropped

    async def existing_markers(
        self, repository: str, number: int, reviews: OwnReviews | None = None
    ) -> set[tuple[str, str]]:
        """Every hunkwise fingerprint on the pull request, from what the token's user wrote:
        submitted reviews' comments and the conversation's comments."""
        found: set[tuple[str, str]] = set()
        for review, comments in (
            reviews if reviews is not None else await self.own_reviews(repository, number)
        ):
            if review.get("state") == PENDING:
                continue
            found |= markers_in(review.get("body"))
            for c in comments:
                if await self.is_own(c):
                    found |= markers_in(c.get("body"))
        for comment in await self.issue_comments(repository, number):
            if await self.is_own(comment):
                found |= markers_in(comment.get("body"))
        return found

    async def summary_comment(self, repository: str, number: int) -> dict[str, Any] | None:
        """The pull request's one summary: the own comment with a ``summary`` marker, else the
        newest with a ``review`` marker."""
        own = [c for c in await self.issue_comments(repository, number) if await self.is_own(c)]
        for comment in own:
            if marker_values(comment.get("body"), "summary"):
                return comment
        return next((c for c in reversed(own) if marker_values(c.get("body"), "review")), None)

    async def prior_threads(self, repository: str, number: int) -> list[PriorThread]:
        """Every finding hunkwise posted here: the ``fp`` marker of its own first comment of each
        of its reviews, ``resolved`` when Gitea names a resolver (the *Resolve conversation*
        button), ``wont_fix`` when someone else answered so in the thread; and the findings
        folded into the summary."""
        out: list[PriorThread] = []
        for review, comments in await self.own_reviews(repository, number):
            if review.get("state") == PENDING:
                continue
            # Gitea lists a review's comments per file and line, not in one order: the thread's
            # root is hunkwise's own comment with a fingerprint, its replies the others there.
            roots = [c for c in comments if marker_values(c.get("body"), "fp") and await self.is_own(c)]
            if not roots:
                continue
            first = roots[0]
            fps = marker_values(first.get("body"), "fp")
            thread = [
                c
                for c in comments
                if c is not first
                and c.get("path") == first.get("path")
                and c.get("position") == first.get("position")
            ]
            wont_fix = False
            for reply in thread:
                if says_wont_fix(reply.get("body")) and not await self.is_own(reply):
                    wont_fix = True
            resolved = any(c.get("resolver") is not None for c in (first, *thread))
            out.append(
                PriorThread(fps[0], resolved, wont_fix, f"{first.get('path')}:{first.get('position')}")
            )
        summary = await self.summary_comment(repository, number)
        folded = marker_values(summary.get("body"), "fp") if summary else []
        return out + [PriorThread(fp, where="summary") for fp in folded]

    # -- writing --------------------------------------------------------------------------------
    async def post_review(
        self, repository: str, number: int, post: ReviewPost, refs: Mapping[str, str]
    ) -> PostResult:
        """Each new finding as a one-comment review on the head commit, then the summary issue
        comment, created once and edited in place (``PATCH .../issues/comments/{id}``)."""
        placeable = _placeable(refs)
        head = identity.commit_sha(post.head_sha, "head commit")

        async def markers() -> set[tuple[str, str]]:
            reviews = await self.own_reviews(repository, number)
            await self.drop_stranded(repository, number, reviews)
            return await self.existing_markers(repository, number, reviews)

        async def inline(c: InlineComment) -> None:
            if placeable is not None and not _inside(placeable.get(c.path), c.start_line):
                raise PlatformRejected(
                    f"{c.path}:{c.start_line} is not in the pull request's diff; Gitea would show the "
                    "comment without its code"
                )
            await self._request("POST", self._pull(repository, number, "reviews"), json=_review(c, head))

        async def summary() -> int | None:
            current = await self.summary_comment(repository, number)
            return (
                None
                if current is None
                else identity.positive_int(current.get("id"), "comment id", maximum=identity.MAX_ID)
            )

        async def create(body: str) -> int | str | None:
            url = self._repo(repository, "issues", identity.positive_int(number, "number"), "comments")
            return answered_id(await self._request("POST", url, json={"body": body}))

        async def edit(comment_id: int | str, body: str) -> int | str | None:
            cid = identity.positive_int(comment_id, "comment id", maximum=identity.MAX_ID)
            url = self._repo(repository, "issues", "comments", cid)
            return answered_id(await self._request("PATCH", url, json={"body": body}))

        return await post_with_markers(
            post, MarkerPosting(markers, inline, summary, create, edit, self.own_id)
        )

    async def set_status(self, repository: str, head_sha: str, state: CommitState) -> None:
        """The ``hunkwise`` commit status of ``head_sha`` (each POST adds one; Gitea shows the
        newest per context)."""
        sha = identity.commit_sha(head_sha, "head commit")
        body: dict[str, Any] = {
            "state": gitea_commit_state(state),
            "context": STATUS_NAME,
            "description": state.short,
        }
        if state.target_url:
            body["target_url"] = state.target_url
        await self._request("POST", self._repo(repository, "statuses", sha), json=body)

    # -- what Gitea says on top of the shared classification --------------------------------------
    def _headers(self, token: Secret | None) -> dict[str, str]:
        headers = {"Accept": "application/json"}
        if token is not None:
            headers["Authorization"] = f"token {token.reveal()}"
        return headers

    def _auth_hint(self, status: int) -> str:
        if not self._has_token:
            return f"set {TOKEN_ENV}"
        if status == 403:
            return (
                "the token needs the write:repository and write:issue scopes (read:user too), and its "
                "user read access to the repository"
            )
        return f"the token ({TOKEN_ENV}) is invalid, expired or revoked"

    def _next_page(
        self, response: httpx.Response, url: httpx.URL, params: dict[str, Any] | None
    ) -> tuple[httpx.URL, dict[str, Any] | None] | None:
        """Gitea pages with ``page`` and ``limit`` and says how many items there are in
        ``X-Total-Count`` (its ``Link`` header names the instance's public URL, which may not be
        the configured one, so it is not followed). The first page's size is the instance's
        default page size; the next pages ask for the same."""
        data = response.json()
        got = len(data) if isinstance(data, list) else 0
        total = response.headers.get("x-total-count", "")
        if not got or not total.isdigit():
            return None
        page = int((params or {}).get("page", 1))
        limit = int((params or {}).get("limit") or got)
        return (url, {"page": page + 1, "limit": limit}) if page * limit < int(total) else None


def _inside(ranges: list[list[int]] | None, line: int) -> bool:
    return any(first <= line <= last for first, last in ranges or [])


def _review(c: InlineComment, head: str) -> dict[str, Any]:
    """One finding as a review: Gitea anchors a comment to one new-file line (a range is named in
    the body); ``old_position`` 0 means "the new file"."""
    body = c.body
    if c.end_line > c.start_line:
        body = f"_Lines {c.start_line}-{c.end_line}_\n\n{body}"
    return {
        "event": "COMMENT",
        "body": "",
        "commit_id": head,
        "comments": [{"path": c.path, "body": body, "new_position": c.start_line, "old_position": 0}],
    }


class GiteaPullRequest(PullRequest):
    """A Gitea or Forgejo pull request for the review job. Every head is reviewed whole; the
    summary says what was reviewed, and is edited in place on each push."""

    platform = "gitea"

    def __init__(self, client: GiteaClient, event: GiteaPullRequestEvent) -> None:
        super().__init__(event.repository, event.number, event.head_sha)
        self.client, self.event = client, event

    async def verify(self) -> None:
        """Who the token's user is, before any model is called: without it nothing could be
        posted (:meth:`GiteaClient.own_id`)."""
        await self.client.own_id()

    async def current_head(self) -> str | None:
        """The pull request's head now: its ``.diff`` endpoint answers the CURRENT diff."""
        return await self.client.pull_head(self.repository, self.number)

    async def diff(self) -> FetchedDiff:
        text = await self.client.pull_diff(self.repository, self.number)
        return FetchedDiff(text, None, {PLACEABLE: json.dumps(placeable_lines(text), separators=(",", ":"))})

    async def file_at(self, path: str) -> str | None:
        return await self.client.file_at(self.repository, path, self.head_sha)

    async def prior_threads(self) -> list[PriorThread]:
        return await self.client.prior_threads(self.repository, self.number)

    async def post(self, post: ReviewPost, refs: Mapping[str, str]) -> PostResult:
        return await self.client.post_review(self.repository, self.number, post, refs)

    async def set_status(self, state: CommitState) -> None:
        await self.client.set_status(self.repository, self.head_sha, state)
