"""An async GitHub REST client: the few calls a reviewer needs, with errors translated once.

Fetch what changed (the pull request's diff, or only the commits since the head we last reviewed),
and post one review (a summary plus inline comments) idempotently: the review body carries a
hidden fingerprint, and an existing review with that fingerprint means "already posted".

The token is a personal access token or a GitHub App installation token
(``HUNKWISE_GITHUB_TOKEN``, else ``GITHUB_TOKEN`` as in Actions); it is held as a
:class:`~hunkwise.gateway.types.Secret` and never appears in an error or a log line. In GitHub
App mode the client is given a :class:`TokenProvider` instead (an installation's tokens,
:mod:`hunkwise.platforms.github_app`): every request asks it for the current token, so a long
review crosses a token rotation without noticing, and a token GitHub refuses (401) is dropped and
the request sent once more with a new one.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Mapping
from typing import Any, Protocol

import httpx

from hunkwise.errors import HttpFailure
from hunkwise.gateway import Secret
from hunkwise.platforms import identity
from hunkwise.platforms.github_webhooks import DEFAULT_API_URL, PullRequestEvent
from hunkwise.platforms.pull_request import FetchedDiff, PullRequest
from hunkwise.platforms.rest import RestClient
from hunkwise.platforms.review_post import (
    InlineComment,
    PlatformAuthError,
    PlatformError,
    PlatformNotFound,
    PlatformRejected,
    PostResult,
    PriorThread,
    ReviewPost,
    fold_comments,
    marker,
    marker_values,
    markers_in,
    says_wont_fix,
)
from hunkwise.platforms.status import STATUS_NAME, CommitState, github_check_fields, github_commit_state

# Where the settings read a token from, first set wins (named in messages).
TOKEN_ENVS = ("HUNKWISE_GITHUB_TOKEN", "GITHUB_TOKEN")
DIFF_MEDIA_TYPE = "application/vnd.github.v3.diff"
log = logging.getLogger("hunkwise.platforms.github")


RAW_MEDIA_TYPE = "application/vnd.github.raw+json"  # a file's bytes from the contents API
# Which review threads are resolved: REST does not say; GraphQL's reviewThreads does. Each thread
# is named by the REST id (databaseId) of its first comment, the comment hunkwise posted.
THREADS_QUERY = """
query($owner: String!, $name: String!, $number: Int!, $cursor: String) {
  repository(owner: $owner, name: $name) {
    pullRequest(number: $number) {
      reviewThreads(first: 100, after: $cursor) {
        pageInfo { hasNextPage endCursor }
        nodes { isResolved comments(first: 1) { nodes { databaseId } } }
      }
    }
  }
}
"""
MAX_THREAD_PAGES = 20


class TokenProvider(Protocol):
    """Where a client in App mode gets its token for each request (an installation's)."""

    async def token(self) -> Secret:
        """The token to send now (cached by the provider while it is fresh)."""
        ...

    async def refused(self, token: Secret) -> None:
        """GitHub answered 401 to ``token``: drop it, so :meth:`token` fetches another."""
        ...

    async def bot_login(self) -> str:
        """The login of the bot the tokens post as (a GitHub App's ``<slug>[bot]``)."""
        ...


class GitHubClient(RestClient):
    platform = "GitHub"
    default_api_url = DEFAULT_API_URL
    url_hint = "check GITHUB_API_URL and the network"
    not_found_hint = "check the repository and number, and that the token can see this repository"

    def __init__(
        self,
        token: Secret | TokenProvider | None,
        api_url: str | None = None,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout_s: float = 30.0,
        bot_login: str | None = None,
    ) -> None:
        # A provider's token goes into each request (_request), never into the client's headers.
        self._provider = None if token is None or isinstance(token, Secret) else token
        super().__init__(
            token if self._provider is None else None, api_url, transport=transport, timeout_s=timeout_s
        )  # type: ignore[arg-type]
        self._has_token = token is not None
        self.bot_login = (bot_login or "").strip() or None
        self._checks_allowed = True  # until GitHub refuses a check run (a token of a user)

    # -- URLs -------------------------------------------------------------------------------------
    def _repo(self, repository: str, *rest: str | int) -> httpx.URL:
        """``/repos/{owner}/{name}/...`` of a validated ``owner/name``: the only way this client
        names a repository, so a caller's string never reaches a URL unchecked."""
        owner, name = identity.github_repository(repository)
        return self._url("repos", owner, name, *rest)

    def _pull(self, repository: str, number: int, *rest: str) -> httpx.URL:
        return self._repo(repository, "pulls", identity.positive_int(number, "pull request number"), *rest)

    # -- reading ----------------------------------------------------------------------------------
    async def pull_request(self, repository: str, number: int) -> dict[str, Any]:
        """The pull request object (``head.sha``, ``html_url``, ...): what a caller that starts
        from a URL, not from an event, needs before it can fingerprint and post a review."""
        data = (await self._request("GET", self._pull(repository, number))).json()
        if not isinstance(data, dict):
            raise PlatformError(f"GitHub answered pull {repository}#{number} with an unexpected shape")
        return data

    async def pull_diff(self, repository: str, number: int) -> str:
        """The whole pull request as a unified diff (base...head)."""
        response = await self._request(
            "GET", self._pull(repository, number), headers={"Accept": DIFF_MEDIA_TYPE}
        )
        return response.text

    async def compare_diff(self, repository: str, base: str, head: str) -> str | None:
        """The diff of ``head`` against ``base`` when ``head`` simply extends ``base``; ``None``
        after a force-push or rebase (the old head is not an ancestor), where only the full
        pull request diff is meaningful."""
        base, head = identity.commit_sha(base, "base commit"), identity.commit_sha(head, "head commit")
        url = self._repo(repository, "compare", f"{base}...{head}")
        try:
            info = (await self._request("GET", url)).json()
        except PlatformNotFound:
            return None  # the old head was garbage-collected or never existed
        if info.get("status") != "ahead":
            return None
        response = await self._request("GET", url, headers={"Accept": DIFF_MEDIA_TYPE})
        return response.text

    async def file_at(self, repository: str, path: str, ref: str) -> str | None:
        """A file's text at commit ``ref`` (code context for a review); ``None`` when absent there,
        binary or too large. The path comes from a diff: it is validated and quoted segment by
        segment, never joined into the URL as text."""
        ref = identity.commit_sha(ref, "head commit")
        url = self._repo(repository, "contents", *identity.repository_file_path(path))
        return await self._file_text(url, ref, {"Accept": RAW_MEDIA_TYPE})

    async def list_reviews(self, repository: str, number: int) -> list[dict[str, Any]]:
        return await self._paginate(self._pull(repository, number, "reviews"))

    async def list_review_comments(self, repository: str, number: int) -> list[dict[str, Any]]:
        return await self._paginate(self._pull(repository, number, "comments"))

    async def own_user_id(self) -> int | None:
        """The id of the token's user (``GET /user``, once per client); None when the token may
        not ask (a GitHub App installation token answers 403)."""
        if not self._me_known:
            try:
                data = (await self._request("GET", self._url("user"))).json()
            except (PlatformAuthError, PlatformNotFound) as exc:
                if exc.status == 401:
                    raise
                data = None
            user_id = data.get("id") if isinstance(data, dict) else None
            self._me = user_id if isinstance(user_id, int) else None
            self._me_known = True
        return self._me

    async def is_own(self, review: dict[str, Any]) -> bool:
        """Whether hunkwise itself wrote ``review``: only then are its markers trusted (anyone
        can type a marker into a review). With a user token: the author is ``GET /user``. With an
        installation token: a ``Bot`` author whose login is ``HUNKWISE_GITHUB_BOT_LOGIN`` when
        set, else the App's own bot when the tokens are an App's (its slug asked of GitHub once),
        else any App bot (``…[bot]``, posted via an app: an installation token given as a plain
        token, where nothing says which App it is)."""
        user = review.get("user")
        if not isinstance(user, dict):
            return False
        me = await self.own_user_id()
        if me is not None:
            return user.get("id") == me
        login = str(user.get("login") or "")
        if user.get("type") != "Bot":
            return False
        if self.bot_login is None and self._provider is not None:
            self.bot_login = await self._provider.bot_login()
        if self.bot_login is not None:
            return login.lower() == self.bot_login.lower()
        via_app = review.get("performed_via_github_app", True)  # absent on some review payloads
        return login.endswith("[bot]") and bool(via_app)

    async def own_reviews(self, repository: str, number: int) -> list[dict[str, Any]]:
        """The reviews on the pull request that carry a marker and that hunkwise wrote."""
        return [
            review
            for review in await self.list_reviews(repository, number)
            if markers_in(review.get("body")) and await self.is_own(review)
        ]

    async def last_reviewed_head(self, repository: str, number: int) -> str | None:
        """The commit of the newest review hunkwise posted on this pull request, if any (a
        ``commit_id`` that is not a commit id is no head: it would end up in a compare URL)."""
        head: str | None = None
        own = await self.own_reviews(repository, number)
        for review in own:
            found = markers_in(review.get("body"))
            if any(kind in ("review", "push") for kind, _ in found):
                try:
                    head = identity.commit_sha(review.get("commit_id"), "commit_id")
                except identity.IdentityError:
                    continue
        summary = _summary_of(own)
        for value in marker_values(summary.get("body") if summary else None, "head")[-1:]:
            # the summary is edited last on every push: its head is the newest reviewed
            with contextlib.suppress(identity.IdentityError):
                head = identity.commit_sha(value, "head marker")
        return head

    async def review_diff(
        self, repository: str, number: int, head_sha: str, *, incremental: bool
    ) -> tuple[str, str | None]:
        """What to review: ``(diff, since)``. With ``incremental`` (a synchronize event) and an
        earlier hunkwise review of an ancestor head, only the commits since that head; otherwise
        the whole pull request (``since`` is ``None``)."""
        if incremental:
            last = await self.last_reviewed_head(repository, number)
            if last and last != head_sha:
                diff = await self.compare_diff(repository, last, head_sha)
                if diff is not None:
                    return diff, last
        return await self.pull_diff(repository, number), None

    # -- posting ----------------------------------------------------------------------------------
    async def find_review(
        self, repository: str, number: int, key: str, kind: str = "review"
    ) -> dict[str, Any] | None:
        """hunkwise's complete review of one head: the summary carrying its ``review`` marker (or,
        with ``kind="notice"``, the notice with that fingerprint)."""
        for review in await self.own_reviews(repository, number):
            if (kind, key) in markers_in(review.get("body")):
                return review
        return None

    async def summary_review(self, repository: str, number: int) -> dict[str, Any] | None:
        """The review whose body is the pull request's one summary: the one with a ``summary``
        marker, else (posted before summaries were edited) the first with a ``review`` marker."""
        return _summary_of(await self.own_reviews(repository, number))

    async def post_review(self, repository: str, number: int, post: ReviewPost) -> PostResult:
        """Post ``post`` unless its fingerprint is already on the pull request. The first review
        of a pull request is ONE review (``event: COMMENT``): the summary as its body, the inline
        comments with it. A later push posts its new inline comments as a short review of their
        own, then edits the first review's body to the new summary (``PUT .../reviews/{id}``), so
        there is one summary however many pushes. If GitHub refuses the inline comments (422: a
        line it cannot place on its diff), they are folded into the summary instead. A notice
        (``post.kind``: a review not run for its cost) is a review of its own, posted once, and
        never edits the summary."""
        own = await self.own_reviews(repository, number)
        existing = next((r for r in own if (post.kind, post.key) in markers_in(r.get("body"))), None)
        if existing is not None:
            return PostResult(False, existing.get("id"), existing.get("html_url"))
        if post.kind != "review":
            return await self._first_review(repository, number, post)
        summary = _summary_of(own)
        if summary is None:
            return await self._first_review(repository, number, post)
        inline, refused = 0, []
        # Posted already when a retry follows a crash between the push review and the summary edit.
        pushed = any(("push", post.key) in markers_in(r.get("body")) for r in own)
        if post.comments and not pushed:
            body = {
                "commit_id": identity.commit_sha(post.head_sha, "head commit"),
                "event": "COMMENT",
                "body": push_body(post),
                "comments": [_inline(c) for c in post.comments],
            }
            try:
                await self._request("POST", self._pull(repository, number, "reviews"), json=body)
                inline = len(post.comments)
            except PlatformRejected:
                refused = post.comments
        text = fold_comments(post.summary, refused) if refused else post.summary
        url = self._pull(
            repository, number, "reviews", str(identity.positive_int(summary.get("id"), "review id"))
        )
        edited = (await self._request("PUT", url, json={"body": text})).json()
        return PostResult(True, edited.get("id"), edited.get("html_url"), inline=inline, folded=len(refused))

    async def _first_review(self, repository: str, number: int, post: ReviewPost) -> PostResult:
        body: dict[str, Any] = {
            "commit_id": identity.commit_sha(post.head_sha, "head commit"),
            "event": "COMMENT",
            "body": post.summary,
            "comments": [_inline(c) for c in post.comments],
        }
        path = self._pull(repository, number, "reviews")
        try:
            created = (await self._request("POST", path, json=body)).json()
            return PostResult(True, created.get("id"), created.get("html_url"), inline=len(post.comments))
        except PlatformRejected:
            if not post.comments:
                raise
        body["comments"] = []
        body["body"] = fold_comments(post.summary, post.comments)
        created = (await self._request("POST", path, json=body)).json()
        return PostResult(True, created.get("id"), created.get("html_url"), folded=len(post.comments))

    # -- the merge status -------------------------------------------------------------------------
    async def set_status(self, repository: str, head_sha: str, state: CommitState) -> str:
        """Show ``state`` on ``head_sha``: the ``hunkwise`` check run (created, or updated in
        place when this head already has one of ours), else a commit status with context
        ``hunkwise``. Only a GitHub App may create check runs; a personal access token is
        answered 403, after which this client uses commit statuses. Returns which one it set."""
        sha = identity.commit_sha(head_sha, "head commit")
        if self._checks_allowed:
            try:
                await self._set_check_run(repository, sha, state)
                return "check_run"
            except (PlatformAuthError, PlatformNotFound) as exc:
                if exc.status == 401:
                    raise
                self._checks_allowed = False  # a token without checks:write (or a user token)
        body: dict[str, Any] = {
            "state": github_commit_state(state),
            "description": state.short,
            "context": STATUS_NAME,
        }
        if state.target_url:
            body["target_url"] = state.target_url
        await self._request("POST", self._repo(repository, "statuses", sha), json=body)
        return "commit_status"

    async def _set_check_run(self, repository: str, sha: str, state: CommitState) -> None:
        listed = (
            await self._request(
                "GET",
                self._repo(repository, "commits", sha, "check-runs"),
                params={"check_name": STATUS_NAME, "filter": "latest"},
            )
        ).json()
        runs = listed.get("check_runs") if isinstance(listed, dict) else None
        fields = github_check_fields(state)
        for run in runs or []:
            if isinstance(run, dict) and isinstance(run.get("id"), int) and run.get("name") == STATUS_NAME:
                if state.state == "pending" and run.get("status") == "completed":
                    break  # a new review of the same head: a fresh run, the old one stays history
                await self._request("PATCH", self._repo(repository, "check-runs", run["id"]), json=fields)
                return
        body = {"name": STATUS_NAME, "head_sha": sha, **fields}
        await self._request("POST", self._repo(repository, "check-runs"), json=body)

    # -- conversation -----------------------------------------------------------------------------
    async def can_write(self, repository: str, login: str) -> tuple[bool, str]:
        """Whether user ``login`` may push to ``repository`` (the collaborator permission
        endpoint): ``(allowed, permission)``. Only ``admin``/``maintain``/``write`` may command
        hunkwise; a user GitHub does not know is ``none``."""
        login = identity.github_owner(login, "comment.user.login")
        try:
            data = (
                await self._request("GET", self._repo(repository, "collaborators", login, "permission"))
            ).json()
        except PlatformNotFound:
            return False, "none"
        permission = str(data.get("permission") or "none") if isinstance(data, dict) else "none"
        role = str(data.get("role_name") or "") if isinstance(data, dict) else ""
        allowed = permission in ("admin", "write") or role in ("admin", "maintain", "write")
        return allowed, role or permission

    async def review_comment(self, repository: str, comment_id: int) -> dict[str, Any]:
        """One pull request review comment (the finding a thread replies to)."""
        cid = identity.positive_int(comment_id, "comment id", maximum=identity.MAX_ID)
        data = (await self._request("GET", self._repo(repository, "pulls", "comments", cid))).json()
        if not isinstance(data, dict):
            raise PlatformError(f"GitHub answered review comment {cid} with an unexpected shape")
        return data

    async def reply_in_thread(
        self, repository: str, number: int, comment_id: int, body: str
    ) -> dict[str, Any]:
        """Answer in the review thread of top-level review comment ``comment_id``."""
        cid = identity.positive_int(comment_id, "comment id", maximum=identity.MAX_ID)
        url = self._pull(repository, number, "comments", str(cid), "replies")
        return dict((await self._request("POST", url, json={"body": body})).json())

    async def comment(self, repository: str, number: int, body: str) -> dict[str, Any]:
        """A conversation comment on the pull request (an issue comment)."""
        n = identity.positive_int(number, "pull request number")
        url = self._repo(repository, "issues", n, "comments")
        return dict((await self._request("POST", url, json={"body": body})).json())

    # -- the conversation so far --------------------------------------------------------------------
    async def prior_threads(self, repository: str, number: int) -> list[PriorThread]:
        """Every finding hunkwise posted on this pull request (the ``fp`` markers of its own
        review comments, and of findings folded into its summary), with its thread's state: resolved
        (GraphQL ``reviewThreads``: REST does not say), or answered "won't fix" by someone else."""
        comments = await self.list_review_comments(repository, number)
        roots: dict[int, PriorThread] = {}
        for c in comments:
            if c.get("in_reply_to_id") or not isinstance(c.get("id"), int):
                continue
            fps = marker_values(c.get("body"), "fp")
            if fps and await self.is_own(c):
                where = f"{c.get('path')}:{c.get('line') or c.get('original_line') or ''}"
                roots[c["id"]] = PriorThread(fps[0], where=where)
        wont_fix = {
            c.get("in_reply_to_id")
            for c in comments
            if c.get("in_reply_to_id") in roots and says_wont_fix(c.get("body")) and not await self.is_own(c)
        }
        resolved = await self.resolved_threads(repository, number) if roots else {}
        out = [
            PriorThread(t.fingerprint, resolved=resolved.get(i, False), wont_fix=i in wont_fix, where=t.where)
            for i, t in roots.items()
        ]
        summary = await self.summary_review(repository, number)
        folded = marker_values(summary.get("body"), "fp") if summary else []
        return out + [PriorThread(fp, where="summary") for fp in folded]

    def graphql_url(self) -> httpx.URL:
        """``https://api.github.com/graphql``; on GitHub Enterprise (``…/api/v3``) ``…/api/graphql``."""
        root = str(self._root).rstrip("/")
        if root.endswith("/api/v3"):
            return httpx.URL(root.removesuffix("/v3") + "/graphql")
        return self._url("graphql")

    async def resolved_threads(self, repository: str, number: int) -> dict[int, bool]:
        """``{first comment id: resolved}`` for the pull request's review threads. Best effort:
        a token GraphQL refuses, or an answer we cannot read, gives ``{}`` (every thread counts as
        open, so nothing is reposted either way) and a log line."""
        owner, name = identity.github_repository(repository)
        out: dict[int, bool] = {}
        cursor: str | None = None
        for _ in range(MAX_THREAD_PAGES):
            variables = {"owner": owner, "name": name, "number": number, "cursor": cursor}
            try:
                data = (
                    await self._request(
                        "POST", self.graphql_url(), json={"query": THREADS_QUERY, "variables": variables}
                    )
                ).json()
                threads = data["data"]["repository"]["pullRequest"]["reviewThreads"]
                for node in threads["nodes"]:
                    first = (node.get("comments") or {}).get("nodes") or []
                    if first and isinstance(first[0].get("databaseId"), int):
                        out[first[0]["databaseId"]] = bool(node.get("isResolved"))
            except (PlatformError, KeyError, TypeError, ValueError) as exc:
                log.warning("review thread resolution unknown on %s#%s: %s", repository, number, exc)
                return out
            page = threads.get("pageInfo") or {}
            if not page.get("hasNextPage"):
                break
            cursor = page.get("endCursor")
        return out

    # -- what GitHub says on top of the shared classification --------------------------------------
    async def _request(self, method: str, url: httpx.URL, **kwargs: Any) -> httpx.Response:
        """With a :class:`TokenProvider`: the provider's current token on this request; a 401
        drops that token and the request is sent once more with a fresh one (a token revoked or
        expired early, e.g. by a clock that is off)."""
        if self._provider is None:
            return await super()._request(method, url, **kwargs)
        headers = dict(kwargs.pop("headers", None) or {})
        for attempt in (1, 2):
            token = await self._provider.token()
            headers["Authorization"] = f"Bearer {token.reveal()}"
            try:
                return await super()._request(method, url, headers=headers, **kwargs)
            except PlatformAuthError as exc:
                if exc.status != 401 or attempt == 2:
                    raise
                await self._provider.refused(token)
        raise AssertionError("unreachable")  # pragma: no cover

    def _headers(self, token: Secret | None) -> dict[str, str]:
        headers = {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28"}
        if token is not None:
            headers["Authorization"] = f"Bearer {token.reveal()}"
        return headers

    def _auth_hint(self, status: int) -> str:
        if self._provider is not None:
            if status == 403:
                return (
                    "the GitHub App needs 'Pull requests: read and write' and 'Contents: read' (and the "
                    "installation must include this repository): see the App's permissions (docs/github.md)"
                )
            return "GitHub refused the installation's token twice (is the installation suspended?)"
        if status == 403:
            return "the token needs 'Pull requests: read and write' and 'Contents: read' on this repository"
        return "the token is invalid or expired" if self._has_token else "set HUNKWISE_GITHUB_TOKEN"

    def _failure(self, response: httpx.Response, detail: str) -> HttpFailure:
        """GitHub answers a spent rate limit with 403 (primary limit: no requests left; secondary
        limit: a ``Retry-After``), not only with 429."""
        if response.status_code == 403 and (
            self._retry_after(response) is not None or "rate limit" in detail.lower()
        ):
            return HttpFailure.RATE_LIMITED
        return super()._failure(response, detail)

    def _retry_after(self, response: httpx.Response) -> float | None:
        """``Retry-After``, else the primary limit's reset time (``x-ratelimit-reset``) once no
        requests are left, else a minute."""
        after = super()._retry_after(response)
        if after is not None or response.headers.get("x-ratelimit-remaining") != "0":
            return after
        reset = response.headers.get("x-ratelimit-reset", "")
        return max(0.0, float(reset) - time.time()) if reset.isdigit() else 60.0

    def _next_page(
        self, response: httpx.Response, url: httpx.URL, params: dict[str, Any] | None
    ) -> tuple[httpx.URL, dict[str, Any] | None] | None:
        """The ``Link: rel=next`` URL (it carries its own query), only on the configured API host:
        the token goes nowhere else."""
        link = response.links.get("next", {}).get("url")
        if not link:
            return None
        following = self._root.join(link)
        if (following.scheme, following.host, following.port) != (
            self._root.scheme,
            self._root.host,
            self._root.port,
        ):
            raise PlatformError(f"GitHub answered GET {url.path} with a next page on another host")
        return following, None


def _summary_of(own: list[dict[str, Any]]) -> dict[str, Any] | None:
    for review in own:
        if marker_values(review.get("body"), "summary"):
            return review
    return next((r for r in own if marker_values(r.get("body"), "review")), None)


def push_body(post: ReviewPost) -> str:
    """The body of a later push's review: GitHub requires one for a ``COMMENT`` review."""
    return (
        f"hunkwise: {len(post.comments)} new finding(s) at `{post.head_sha[:12]}`; "
        "the summary at the top of this pull request is updated.\n\n" + marker("push", post.key)
    )


def _inline(c: InlineComment) -> dict[str, Any]:
    """GitHub's multi-line form: ``line`` is the last line, ``start_line`` the first."""
    out: dict[str, Any] = {"path": c.path, "line": c.end_line, "side": "RIGHT", "body": c.body}
    if c.start_line < c.end_line:
        out["start_line"] = c.start_line
        out["start_side"] = "RIGHT"
    return out


class GitHubPullRequest(PullRequest):
    """A pull request for the review job (:class:`~hunkwise.platforms.pull_request.PullRequest`).
    A ``synchronize`` event is reviewed incrementally, from the last head hunkwise reviewed."""

    platform = "github"

    def __init__(self, client: GitHubClient, event: PullRequestEvent) -> None:
        super().__init__(event.repository, event.number, event.head_sha)
        self.client, self.event = client, event

    async def diff(self) -> FetchedDiff:
        incremental = self.event.action == "synchronize"
        text, since = await self.client.review_diff(
            self.repository, self.number, self.head_sha, incremental=incremental
        )
        return FetchedDiff(text, since)

    async def current_head(self) -> str | None:
        """``head.sha`` of the pull request now: the whole-change diff (``pull_diff``) is the
        CURRENT one, not the one at :attr:`head_sha`."""
        head = (await self.client.pull_request(self.repository, self.number)).get("head")
        return identity.commit_sha((head or {}).get("sha") if isinstance(head, dict) else None, "head.sha")

    async def file_at(self, path: str) -> str | None:
        return await self.client.file_at(self.repository, path, self.head_sha)

    async def prior_threads(self) -> list[PriorThread]:
        return await self.client.prior_threads(self.repository, self.number)

    async def post(self, post: ReviewPost, refs: Mapping[str, str]) -> PostResult:
        return await self.client.post_review(self.repository, self.number, post)

    async def set_status(self, state: CommitState) -> None:
        await self.client.set_status(self.repository, self.head_sha, state)
