"""Bitbucket Cloud: an async REST client on the 2.0 API, and the pull request the review job
posts on (:class:`BitbucketPullRequest`). Deliveries are parsed in
:mod:`hunkwise.platforms.bitbucket_webhooks`.

The client reads a pull request's diff (``GET .../pullrequests/{id}/diff``, which Bitbucket
answers with a redirect to the repository's diff resource: followed only on the configured API
root), posts one inline comment per finding (``inline: {path, to}``, ``start_to`` for a range)
and a top-level summary comment that is created once and edited in place, and shows the review
as the ``hunkwise`` build status of the head commit. Bitbucket has no atomic "review with
comments", so posting is :func:`~hunkwise.platforms.pull_request.post_with_markers`: every body
carries a hidden fingerprint, and only comments authored by hunkwise's own account count.

Why httpx and no client library: ``atlassian-python-api`` and ``bitbucket-python`` are
synchronous (``requests``; each call would need a thread in the async worker pool) and take no
injectable transport (the tests' fakes); ``bitbucket-unofficial-sdk`` is async on httpx but
needs Python 3.14 (hunkwise supports 3.11) and brings its own retries and error mapping, where
hunkwise decides retries once (the job engine) and translates failures once
(:mod:`hunkwise.platforms.rest`). The review needs eight endpoints, and :class:`RestClient`
already gives quoted path segments from validated parts, error translation and pagination.

The head: pull request objects abbreviate commits, so the full id is looked up among the pull
request's commits (forks included) before the review's fingerprint is made and a status set.

Who hunkwise is: ``HUNKWISE_BITBUCKET_BOT_UUID`` when set, else ``GET /user``. An access token
(repository, project or workspace) is not an account and cannot ask ``GET /user``; it must be
told its uuid (docs/bitbucket.md says how to find it). Without an identity nothing on the pull
request is taken for hunkwise's, and the job stops before reviewing rather than post twice.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any, ClassVar
from urllib.parse import urlsplit

import httpx

from hunkwise.gateway import Secret
from hunkwise.platforms import identity
from hunkwise.platforms.bitbucket_webhooks import DEFAULT_API_URL, BitbucketPullRequestEvent, web_hosts
from hunkwise.platforms.identity import IdentityError
from hunkwise.platforms.pull_request import FetchedDiff, MarkerPosting, PullRequest, post_with_markers
from hunkwise.platforms.rest import PER_PAGE, RestClient, answered_id, request_path
from hunkwise.platforms.review_post import (
    InlineComment,
    PlatformAuthError,
    PlatformError,
    PlatformNotFound,
    PostResult,
    PriorThread,
    ReviewPost,
    marker_values,
    markers_in,
    says_wont_fix,
)
from hunkwise.platforms.status import STATUS_NAME, CommitState, bitbucket_commit_state

TOKEN_ENV = "HUNKWISE_BITBUCKET_TOKEN"
BOT_UUID_ENV = "HUNKWISE_BITBUCKET_BOT_UUID"
MAX_REDIRECTS = 3


def _dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


class _Redirect(PlatformError):
    """A 3xx answer to a GET; :meth:`BitbucketClient._request` follows it on the configured host."""

    def __init__(self, message: str, location: str) -> None:
        super().__init__(message)
        self.location = location


class BitbucketClient(RestClient):
    """The Bitbucket Cloud 2.0 API with one token: an access token (``Bearer``), or with
    ``username`` an Atlassian API token (basic auth, the account's e-mail as the user)."""

    platform = "Bitbucket"
    default_api_url = DEFAULT_API_URL
    url_hint = "check the Bitbucket API URL (HUNKWISE_BITBUCKET_API_URL) and the network"
    not_found_hint = "check the workspace, repository and pull request, and that the token can see them"
    first_page: ClassVar[Mapping[str, Any] | None] = {"pagelen": PER_PAGE}

    def __init__(
        self,
        token: Secret | None,
        api_url: str | None = None,
        *,
        username: str | None = None,
        bot_uuid: str | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout_s: float = 30.0,
    ) -> None:
        self._username = username.strip() if username and username.strip() else None
        super().__init__(token, api_url, transport=transport, timeout_s=timeout_s)
        self._bot_uuid = identity.bitbucket_uuid(bot_uuid, BOT_UUID_ENV) if bot_uuid else None
        self._full: dict[tuple[str, int, str], str] = {}

    # -- addresses --------------------------------------------------------------------------------
    def _repo(self, repository: str, *rest: str | int) -> httpx.URL:
        """``/repositories/{workspace}/{repo_slug}/...`` from validated parts."""
        workspace, slug = identity.bitbucket_repository(repository, "repository")
        return self._url("repositories", workspace, slug, *rest)

    def _pr(self, repository: str, number: int, *rest: str | int) -> httpx.URL:
        return self._repo(repository, "pullrequests", identity.positive_int(number, "number"), *rest)

    # -- reading ----------------------------------------------------------------------------------
    async def diff(self, repository: str, number: int) -> str:
        """The pull request's unified diff (git style), as Bitbucket renders it at its head."""
        return (await self._request("GET", self._pr(repository, number, "diff"))).text

    async def pull_request_head(self, repository: str, number: int) -> str:
        """The pull request's head commit now (``source.commit.hash``, abbreviated as Bitbucket
        writes it in pull request objects)."""
        data = (await self._request("GET", self._pr(repository, number))).json()
        source = data.get("source") if isinstance(data, dict) else None
        commit = source.get("commit") if isinstance(source, dict) else None
        return identity.bitbucket_commit(
            commit.get("hash") if isinstance(commit, dict) else None, "source.commit.hash"
        )

    async def full_commit(self, repository: str, number: int, commit: str) -> str:
        """The full id of ``commit`` (an abbreviation, as pull request objects carry it) among the
        pull request's commits (a fork's commits included). :class:`PlatformNotFound` when the
        pull request has no such commit (pushed over since: a newer delivery reviews the head)."""
        commit = identity.bitbucket_commit(commit, "head_sha")
        if len(commit) in (40, 64):
            return commit
        key = (repository, number, commit)
        if key not in self._full:
            listing = self._pr(repository, number, "commits")
            for item in await self._paginate(listing, until=lambda items: _has_commit(items, commit)):
                full = item.get("hash")
                if isinstance(full, str) and full.lower().startswith(commit):
                    self._full[key] = identity.commit_sha(full, "commit hash")
                    break
            else:
                raise PlatformNotFound(
                    f"Bitbucket pull request {repository}#{number} has no commit {commit}; "
                    "it was pushed over (the newer head's delivery reviews it)",
                    status=404,
                )
        return self._full[key]

    async def file_at(self, repository: str, path: str, ref: str) -> str | None:
        """A file's text at commit ``ref`` (``GET .../src/{commit}/{path}``), for code context;
        ``None`` when absent there, binary or too large."""
        ref = identity.commit_sha(ref, "head commit")
        segments = identity.repository_file_path(path)
        return await self._file_text(self._repo(repository, "src", ref, *segments), None)

    # -- who hunkwise is --------------------------------------------------------------------------
    async def own_uuid(self) -> str:
        """The uuid of the account the token posts as: ``HUNKWISE_BITBUCKET_BOT_UUID``, else
        ``GET /user`` (once per client). An access token cannot ask: a clear
        :class:`PlatformAuthError` says what to set."""
        if self._bot_uuid is None:
            try:
                data = (await self._request("GET", self._url("user"))).json()
            except PlatformAuthError as exc:
                raise PlatformAuthError(
                    f"Bitbucket does not say who the token is ({exc}). "
                    "An access token cannot read GET /user: "
                    f"set {BOT_UUID_ENV} to the uuid its comments carry as user.uuid (docs/bitbucket.md), "
                    "or use an API token with HUNKWISE_BITBUCKET_USERNAME and the read:user:bitbucket scope",
                    status=exc.status,
                ) from None
            self._bot_uuid = identity.bitbucket_uuid(_dict(data).get("uuid"), "GET /user uuid")
        return self._bot_uuid

    async def _is_own(self, comment: dict[str, Any]) -> bool:
        user = _dict(comment.get("user"))
        uuid = user.get("uuid")
        return isinstance(uuid, str) and uuid.lower() == await self.own_uuid()

    async def comments(self, repository: str, number: int) -> list[dict[str, Any]]:
        """Every comment on the pull request that is not deleted."""
        items = await self._paginate(self._pr(repository, number, "comments"))
        return [c for c in items if isinstance(c, dict) and not c.get("deleted")]

    async def existing_markers(self, repository: str, number: int) -> set[tuple[str, str]]:
        """Every hunkwise fingerprint on the pull request, from comments its own account wrote
        (anyone can type a marker into a comment)."""
        found: set[tuple[str, str]] = set()
        for c in await self.comments(repository, number):
            text = _raw(c)
            if markers_in(text) and await self._is_own(c):
                found |= markers_in(text)
        return found

    async def summary_comment(self, repository: str, number: int) -> dict[str, Any] | None:
        """The pull request's one summary comment hunkwise wrote (top-level, ``summary`` marker)."""
        for c in await self.comments(repository, number):
            if c.get("inline") or c.get("parent"):
                continue
            if marker_values(_raw(c), "summary") and await self._is_own(c):
                return c
        return None

    async def prior_threads(self, repository: str, number: int) -> list[PriorThread]:
        """Every finding hunkwise posted inline (the ``fp`` marker of its own top comments) with
        the thread's state: resolved (Bitbucket's comment ``resolution``), or a reply by someone
        else answering "won't fix"; then the findings folded into its summary."""
        comments = await self.comments(repository, number)
        replies: dict[int, list[dict[str, Any]]] = {}
        for c in comments:
            parent = _dict(c.get("parent")).get("id")
            if isinstance(parent, int):
                replies.setdefault(parent, []).append(c)
        out: list[PriorThread] = []
        summary_fps: list[str] = []
        for c in comments:
            if c.get("parent") or not await self._is_own_marked(c):
                continue
            inline = _dict(c.get("inline"))
            if not inline:
                if marker_values(_raw(c), "summary"):
                    summary_fps = marker_values(_raw(c), "fp")
                continue
            fps = marker_values(_raw(c), "fp")
            if not fps:
                continue
            wont_fix = False
            for reply in replies.get(c.get("id"), []):  # type: ignore[arg-type]
                if says_wont_fix(_raw(reply)) and not await self._is_own(reply):
                    wont_fix = True
            resolved = c.get("resolution") is not None
            out.append(PriorThread(fps[0], resolved, wont_fix, f"{inline.get('path')}:{inline.get('to')}"))
        return out + [PriorThread(fp, where="summary") for fp in summary_fps]

    async def _is_own_marked(self, comment: dict[str, Any]) -> bool:
        return bool(markers_in(_raw(comment))) and await self._is_own(comment)

    # -- writing ----------------------------------------------------------------------------------
    async def post_review(self, repository: str, number: int, post: ReviewPost) -> PostResult:
        """One inline comment per new finding, then the summary comment, created once and edited
        in place (``PUT .../comments/{id}``) on every later review
        (:func:`~hunkwise.platforms.pull_request.post_with_markers`)."""

        async def markers() -> set[tuple[str, str]]:
            return await self.existing_markers(repository, number)

        async def inline(c: InlineComment) -> None:
            await self._request("POST", self._pr(repository, number, "comments"), json=_inline(c))

        async def summary() -> int | None:
            current = await self.summary_comment(repository, number)
            return None if current is None else identity.positive_int(current.get("id"), "comment id")

        async def create(body: str) -> int | str | None:
            url = self._pr(repository, number, "comments")
            return answered_id(await self._request("POST", url, json={"content": {"raw": body}}))

        async def edit(comment_id: int | str, body: str) -> int | str | None:
            cid = identity.positive_int(int(comment_id), "comment id", maximum=identity.MAX_ID)
            url = self._pr(repository, number, "comments", cid)
            return answered_id(await self._request("PUT", url, json={"content": {"raw": body}}))

        return await post_with_markers(
            post, MarkerPosting(markers, inline, summary, create, edit, self.own_uuid)
        )

    async def set_status(
        self, repository: str, number: int, head_sha: str, state: CommitState, url: str
    ) -> None:
        """Show ``state`` as the ``hunkwise`` build status of the head commit (Bitbucket keeps one
        per key and commit: a later state replaces it). ``url`` is required by Bitbucket: the
        state's target, else the pull request's page."""
        sha = await self.full_commit(repository, number, head_sha)
        body = {
            "key": STATUS_NAME,
            "state": bitbucket_commit_state(state),
            "name": STATUS_NAME,
            "description": state.short,
            "url": state.target_url or url,
        }
        await self._request("POST", self._repo(repository, "commit", sha, "statuses", "build"), json=body)

    # -- what Bitbucket says on top of the shared classification ----------------------------------
    def _headers(self, token: Secret | None) -> dict[str, str]:
        if token is None:
            return {}
        if self._username:
            pair = f"{self._username}:{token.reveal()}".encode()
            return {"Authorization": "Basic " + base64.b64encode(pair).decode("ascii")}
        return {"Authorization": f"Bearer {token.reveal()}"}

    def _auth_hint(self, status: int) -> str:
        if not self._has_token:
            return f"set {TOKEN_ENV}"
        return (
            "the token needs the pullrequest:write (read and write pull requests) and repository "
            "scopes on this repository; an API token also needs HUNKWISE_BITBUCKET_USERNAME "
            "(the account's e-mail)"
        )

    @staticmethod
    def _detail(response: httpx.Response) -> str:
        """Bitbucket's error shape: ``{"type": "error", "error": {"message", "detail", "fields"}}``."""
        try:
            data = response.json()
        except ValueError:
            return response.reason_phrase or str(response.status_code)
        error = _dict(_dict(data).get("error"))
        text = str(error.get("message") or response.reason_phrase)
        if error.get("detail"):
            text += f": {error['detail']}"
        if isinstance(error.get("fields"), dict):
            text += " " + "; ".join(f"{k}: {v}" for k, v in list(error["fields"].items())[:3])
        return text[:300]

    def _error(self, where: str, response: httpx.Response) -> PlatformError:
        location = response.headers.get("location")
        if response.is_redirect and location:
            return _Redirect(f"{where}: redirected", location)
        return super()._error(where, response)

    async def _request(self, method: str, url: httpx.URL, **kwargs: Any) -> httpx.Response:
        """One request; a redirect (the diff's) is followed only to the configured API root's
        scheme, host and path: the token is never sent elsewhere."""
        for _ in range(MAX_REDIRECTS + 1):
            try:
                return await super()._request(method, url, **kwargs)
            except _Redirect as redirect:
                target = url.join(redirect.location)
                if method != "GET":
                    raise PlatformError(
                        f"Bitbucket answered {method} {request_path(url)} with a redirect; "
                        "only reads are followed"
                    ) from None
                if not self._on_root(target):
                    raise PlatformError(
                        f"Bitbucket {method} {request_path(url)} redirected to "
                        f"{identity.shown(str(target))}, "
                        f"outside the configured API root {self.api_url}; refusing to follow it"
                    ) from None
                url = target
        raise PlatformError(f"Bitbucket {method} {request_path(url)}: more than {MAX_REDIRECTS} redirects")

    def _on_root(self, url: httpx.URL) -> bool:
        root = self._root
        return (
            url.scheme == root.scheme
            and url.host == root.host
            and url.port == root.port
            and url.path.startswith(root.path)
        )

    def _next_page(
        self, response: httpx.Response, url: httpx.URL, params: dict[str, Any] | None
    ) -> tuple[httpx.URL, dict[str, Any] | None] | None:
        """``next``: the full URL of the next page (its query included), absent after the last;
        only followed on the configured API root."""
        nxt = _dict(response.json()).get("next")
        if not isinstance(nxt, str) or not nxt:
            return None
        target = httpx.URL(nxt)
        if not self._on_root(target):
            raise PlatformError(f"Bitbucket's next page {identity.shown(nxt)} is outside {self.api_url}")
        return target, None

    def _page_items(self, data: object) -> list[Any] | None:
        """Bitbucket's pages: ``{"values": [...], "next": URL}``."""
        values = _dict(data).get("values")
        return [v for v in values if isinstance(v, dict)] if isinstance(values, list) else None


def _has_commit(items: list[dict[str, Any]], prefix: str) -> bool:
    return any(str(v.get("hash", "")).lower().startswith(prefix) for v in items)


def _raw(comment: dict[str, Any]) -> str:
    raw = _dict(comment.get("content")).get("raw")
    return raw if isinstance(raw, str) else ""


def _inline(c: InlineComment) -> dict[str, Any]:
    """A comment on the new file's lines: ``to`` the last, ``start_to`` the first of a range."""
    inline: dict[str, Any] = {"path": c.path, "to": c.end_line}
    if c.end_line > c.start_line:
        inline["start_to"] = c.start_line
    return {"content": {"raw": c.body}, "inline": inline}


class BitbucketPullRequest(PullRequest):
    """A Bitbucket Cloud pull request for the review job. The event's (abbreviated) head is
    replaced by its full id in :meth:`verify`, before the review's fingerprint is made."""

    platform = "bitbucket"

    def __init__(self, client: BitbucketClient, event: BitbucketPullRequestEvent) -> None:
        super().__init__(event.repository, event.number, event.head_sha)
        self.client, self.event = client, event

    @property
    def web_url(self) -> str:
        """The pull request's page (the build status links to it)."""
        if self.event.html_url:
            return self.event.html_url
        host = sorted(web_hosts(self.client.api_url), key=len)[0]
        scheme = urlsplit(self.client.api_url).scheme or "https"
        return f"{scheme}://{host}/{self.repository}/pull-requests/{self.number}"

    async def verify(self) -> None:
        """Who hunkwise is (before any model is called: without it nothing could be posted),
        and the head's full commit id, asked of the pull request's commits (the commit must be
        one of them)."""
        await self.client.own_uuid()
        try:
            self.head_sha = await self.client.full_commit(self.repository, self.number, self.head_sha)
        except PlatformNotFound as exc:
            raise IdentityError("head_sha", self.event.head_sha, str(exc)) from None

    async def current_head(self) -> str | None:
        """The pull request's head now, in full: its diff endpoint answers the CURRENT diff. The
        object's abbreviated hash is this job's head when it is a prefix of it; another is looked
        up among the pull request's commits (kept abbreviated if it cannot be)."""
        now = await self.client.pull_request_head(self.repository, self.number)
        if self.head_sha.startswith(now):
            return self.head_sha
        try:
            return await self.client.full_commit(self.repository, self.number, now)
        except PlatformNotFound:
            return now

    async def diff(self) -> FetchedDiff:
        return FetchedDiff(await self.client.diff(self.repository, self.number))

    async def file_at(self, path: str) -> str | None:
        return await self.client.file_at(self.repository, path, self.head_sha)

    async def prior_threads(self) -> list[PriorThread]:
        return await self.client.prior_threads(self.repository, self.number)

    async def post(self, post: ReviewPost, refs: Mapping[str, str]) -> PostResult:
        return await self.client.post_review(self.repository, self.number, post)

    async def set_status(self, state: CommitState) -> None:
        await self.client.set_status(self.repository, self.number, self.head_sha, state, self.web_url)
