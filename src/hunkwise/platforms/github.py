"""An async GitHub REST client: the few calls a reviewer needs, with errors translated once.

Fetch what changed (the pull request's diff, or only the commits since the head we last reviewed),
and post one review (a summary plus inline comments) idempotently: the review body carries a
hidden fingerprint, and an existing review with that fingerprint means "already posted".

The token is a personal access token or a GitHub App installation token
(``HUNKWISE_GITHUB_TOKEN``, else ``GITHUB_TOKEN`` as in Actions); it is held as a
:class:`~hunkwise.gateway.types.Secret` and never appears in an error or a log line.
"""

from __future__ import annotations

import time
from typing import Any

import httpx

from hunkwise.errors import HttpFailure
from hunkwise.gateway import Secret
from hunkwise.platforms import identity
from hunkwise.platforms.github_webhooks import DEFAULT_API_URL
from hunkwise.platforms.rest import RestClient
from hunkwise.platforms.review_post import (
    InlineComment,
    PlatformAuthError,
    PlatformError,
    PlatformNotFound,
    PlatformRejected,
    PostResult,
    ReviewPost,
    fold_comments,
    markers_in,
)

# Where the settings read a token from, first set wins (named in messages).
TOKEN_ENVS = ("HUNKWISE_GITHUB_TOKEN", "GITHUB_TOKEN")
DIFF_MEDIA_TYPE = "application/vnd.github.v3.diff"


RAW_MEDIA_TYPE = "application/vnd.github.raw+json"  # a file's bytes from the contents API


class GitHubClient(RestClient):
    platform = "GitHub"
    default_api_url = DEFAULT_API_URL
    url_hint = "check GITHUB_API_URL and the network"
    not_found_hint = "check the repository and number, and that the token can see this repository"

    def __init__(
        self,
        token: Secret | None,
        api_url: str | None = None,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout_s: float = 30.0,
        bot_login: str | None = None,
    ) -> None:
        super().__init__(token, api_url, transport=transport, timeout_s=timeout_s)
        self.bot_login = (bot_login or "").strip() or None

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
        set, else any App bot (``…[bot]``, posted via an app)."""
        user = review.get("user")
        if not isinstance(user, dict):
            return False
        me = await self.own_user_id()
        if me is not None:
            return user.get("id") == me
        login = str(user.get("login") or "")
        if user.get("type") != "Bot":
            return False
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
        for review in await self.own_reviews(repository, number):
            if any(kind == "review" for kind, _ in markers_in(review.get("body"))):
                try:
                    head = identity.commit_sha(review.get("commit_id"), "commit_id")
                except identity.IdentityError:
                    continue
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
        for review in await self.own_reviews(repository, number):
            if (kind, key) in markers_in(review.get("body")):
                return review
        return None

    async def post_review(self, repository: str, number: int, post: ReviewPost) -> PostResult:
        """Post ``post`` as ONE review (``event: COMMENT``) unless its fingerprint is already on
        the pull request. If GitHub refuses the inline comments (422: a line it cannot place on
        its diff), the review is posted once more with those comments folded into the summary,
        so findings are never lost to an anchoring disagreement."""
        existing = await self.find_review(repository, number, post.key, post.kind)
        if existing is not None:
            return PostResult(False, existing.get("id"), existing.get("html_url"))
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

    # -- what GitHub says on top of the shared classification --------------------------------------
    def _headers(self, token: Secret | None) -> dict[str, str]:
        headers = {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28"}
        if token is not None:
            headers["Authorization"] = f"Bearer {token.reveal()}"
        return headers

    def _auth_hint(self, status: int) -> str:
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


def _inline(c: InlineComment) -> dict[str, Any]:
    """GitHub's multi-line form: ``line`` is the last line, ``start_line`` the first."""
    out: dict[str, Any] = {"path": c.path, "line": c.end_line, "side": "RIGHT", "body": c.body}
    if c.start_line < c.end_line:
        out["start_line"] = c.start_line
        out["start_side"] = "RIGHT"
    return out
