"""Bitbucket Cloud: pull request webhooks (``X-Hub-Signature``, HMAC-SHA256) and an async REST
client on the 2.0 API.

The client reads a pull request's diff (``GET .../pullrequests/{id}/diff``, which Bitbucket
answers with a redirect to the repository's diff resource: followed only on the configured
host), posts one inline comment per finding (``inline: {path, to}``, ``start_to`` for a range)
and a top-level summary comment that is created once and edited in place, and shows the review
as the ``hunkwise`` build status of the head commit. Bitbucket has no atomic "review with
comments", so posting is :func:`~hunkwise.platforms.pull_request.post_with_markers`: every body
carries a hidden fingerprint, and only comments authored by hunkwise's own account count.

Why httpx and no client library: the Python Bitbucket Cloud libraries (``atlassian-python-api``,
``pybitbucket``) are synchronous (``requests``), so each call would need a thread in the async
worker pool, they take no injectable transport (the tests' fakes, the server's loopback fakes),
and they would not translate failures through hunkwise's one HTTP classifier
(:mod:`hunkwise.platforms.rest`). The review needs nine endpoints; :class:`RestClient` already
gives quoting of validated path segments, error translation and one pagination loop.

Bitbucket's pull request objects abbreviate commits (12 hexadecimal digits in webhooks and in
REST answers alike), so an event carries the commit as the delivery named it, and the full id is
looked up among the pull request's commits before anything is posted or marked (the review's
fingerprint and the build status need the full id).

Who hunkwise is: ``HUNKWISE_BITBUCKET_BOT_UUID`` when set, else ``GET /user``. An access token
(repository, project or workspace) is not an account and cannot ask ``GET /user``; it must be
told its uuid (docs/bitbucket.md says how to find it). Without an identity nothing on the pull
request is taken for hunkwise's: the client refuses to post rather than post twice.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlsplit

import httpx

from hunkwise.errors import PermanentError
from hunkwise.gateway import Secret
from hunkwise.platforms import identity
from hunkwise.platforms.identity import IdentityError
from hunkwise.platforms.pull_request import FetchedDiff, MarkerPosting, PullRequest, post_with_markers
from hunkwise.platforms.rest import MAX_FILE_BYTES, MAX_PAGES, PER_PAGE, RestClient
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

SIGNATURE_HEADER = "X-Hub-Signature"
EVENT_HEADER = "X-Event-Key"
DELIVERY_HEADER = "X-Request-UUID"
SECRET_ENV = "HUNKWISE_BITBUCKET_WEBHOOK_SECRET"
TOKEN_ENV = "HUNKWISE_BITBUCKET_TOKEN"
BOT_UUID_ENV = "HUNKWISE_BITBUCKET_BOT_UUID"
# The API root the server talks to when none is configured; never taken from a delivery.
DEFAULT_API_URL = "https://api.bitbucket.org/2.0"
# The event keys that change what there is to review, and the action each is (for the job's
# priority: hunkwise.config.scheduling). ``pullrequest:updated`` also fires for a new title or
# description: the job's dedupe key (one review per head) makes that a duplicate.
REVIEW_EVENTS = {"pullrequest:created": "opened", "pullrequest:updated": "updated"}
MAX_REDIRECTS = 3
_OPEN = "OPEN"


def sign(secret: str, body: bytes) -> str:
    """The header value Bitbucket sends for ``body``: ``sha256=<hex hmac>`` (used by tests, too)."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify_signature(secret: str, body: bytes, header: str | None) -> bool:
    """Constant-time check of ``X-Hub-Signature`` on the raw body. An unconfigured secret
    verifies nothing: an unconfigured server must not accept unsigned deliveries."""
    if not secret or not header or not header.strip().startswith("sha256="):
        return False
    return hmac.compare_digest(sign(secret, body).encode(), header.strip().encode())


def configured_api_url(configured: str | None) -> str:
    """The Bitbucket API root this server uses: ``HUNKWISE_BITBUCKET_API_URL``, else
    ``https://api.bitbucket.org/2.0``."""
    return configured.strip().rstrip("/") if configured and configured.strip() else DEFAULT_API_URL


def web_hosts(api_url: str) -> frozenset[str]:
    """The hosts a delivery's ``links.html.href`` may name for the configured API root: the API
    host itself, and without its ``api.`` label (``api.bitbucket.org`` -> ``bitbucket.org``)."""
    host = urlsplit(api_url).netloc.lower()
    return frozenset({host, host.removeprefix("api.")})


class BitbucketPayloadError(PermanentError, ValueError):
    """A pull request event we would act on lacks a field, or names another host; the message
    says which."""


@dataclass(frozen=True, slots=True)
class BitbucketPullRequestEvent:
    """What a review job needs from a ``pullrequest:*`` delivery. ``owner`` is the workspace
    (the hunkwise organization); ``repository`` is ``workspace/repo_slug``; ``head_sha`` the
    source commit as the delivery named it (usually 12 digits: the job looks up the full id)."""

    action: str
    owner: str
    repository: str
    number: int
    head_sha: str
    draft: bool
    api_url: str
    html_url: str = ""

    def __post_init__(self) -> None:
        """Checked however the event was made: parsed from a delivery or read back from a job
        row, right before its URLs are built. Raises :class:`IdentityError`."""
        workspace, _ = identity.bitbucket_repository(self.repository, "repository")
        if workspace != self.owner:
            raise IdentityError(
                "owner", self.owner, f"is not the workspace of repository {self.repository!r}"
            )
        identity.positive_int(self.number, "number")
        identity.bitbucket_commit(self.head_sha, "head_sha")

    @property
    def workspace(self) -> str:
        return self.owner

    @property
    def repo_slug(self) -> str:
        return self.repository.split("/", 1)[1]

    @property
    def dedupe_key(self) -> str:
        """One review per pull request head, whichever delivery announced it."""
        return f"bitbucket:{self.repository}#{self.number}@{self.head_sha}"

    def as_payload(self) -> dict[str, Any]:
        return {"platform": "bitbucket", **{k: getattr(self, k) for k in self.__slots__}}  # type: ignore[attr-defined]

    @classmethod
    def from_payload(cls, data: dict[str, Any]) -> BitbucketPullRequestEvent:
        return cls(**{k: data.get(k) for k in cls.__slots__})  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class BitbucketDecision:
    kind: Literal["review", "ignore"]
    reason: str = ""
    event: BitbucketPullRequestEvent | None = None


def _dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def classify(
    event_key: str | None, payload: dict[str, Any], *, api_url: str = DEFAULT_API_URL
) -> BitbucketDecision:
    """Review ``pullrequest:created`` and ``pullrequest:updated`` of an open, non-draft pull
    request; acknowledge everything else. ``api_url``: the configured API root; a delivery whose
    repository or pull request links to another host is refused (:class:`BitbucketPayloadError`).
    A workspace, slug, id or commit that is not one raises :class:`IdentityError` naming the
    field."""
    action = REVIEW_EVENTS.get(event_key or "")
    if action is None:
        return BitbucketDecision("ignore", f"event {event_key or '(none)'} is not reviewed")
    pr, repo = payload.get("pullrequest"), payload.get("repository")
    if not isinstance(pr, dict) or not isinstance(repo, dict):
        raise BitbucketPayloadError("the payload has no pullrequest or repository object")
    state = pr.get("state")
    if state != _OPEN:
        return BitbucketDecision("ignore", f"pull request state {state or '(none)'} is not reviewed")
    source = _dict(pr.get("source"))
    fields = {
        "pullrequest.source.commit.hash": _dict(source.get("commit")).get("hash"),
        "repository.full_name": repo.get("full_name"),
        "pullrequest.id": pr.get("id"),
    }
    for name, value in fields.items():  # absent: unreadable (400); present but wrong: IdentityError
        if value is None or value == "":
            raise BitbucketPayloadError(f"the payload has no {name}")
    workspace, slug = identity.bitbucket_repository(fields["repository.full_name"], "repository.full_name")
    listed = _dict(repo.get("workspace")).get("slug")
    if listed is not None and str(listed).lower() != workspace.lower():
        raise IdentityError(
            "repository.workspace.slug", listed, f"is not the workspace of repository.full_name {workspace!r}"
        )
    number = identity.positive_int(fields["pullrequest.id"], "pullrequest.id")
    head = identity.bitbucket_commit(
        fields["pullrequest.source.commit.hash"], "pullrequest.source.commit.hash"
    )
    api_url = api_url.rstrip("/")
    allowed = web_hosts(api_url)
    html_url = ""
    for where, links in (("repository", repo.get("links")), ("pullrequest", pr.get("links"))):
        href = _dict(_dict(links).get("html")).get("href")
        if not isinstance(href, str) or not href:
            continue
        host = urlsplit(href).netloc.lower()
        if host not in allowed:
            raise BitbucketPayloadError(
                f"{where}.links.html.href is on {identity.shown(host or href)}, not on the configured "
                f"Bitbucket host {min(allowed, key=len)!r} (HUNKWISE_BITBUCKET_API_URL)"
            )
        if where == "pullrequest":
            html_url = href
    event = BitbucketPullRequestEvent(
        action=action,
        owner=workspace,
        repository=f"{workspace}/{slug}",
        number=number,
        head_sha=head,
        draft=bool(pr.get("draft")),
        api_url=api_url,
        html_url=html_url,
    )
    if event.draft:
        return BitbucketDecision("ignore", "draft pull requests are reviewed when marked ready", event)
    return BitbucketDecision("review", action, event)


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

    async def full_commit(self, repository: str, number: int, commit: str) -> str:
        """The full id of ``commit`` (an abbreviation, as pull request objects carry it) among the
        pull request's commits (a fork's commits included). :class:`PlatformNotFound` when the
        pull request has no such commit (pushed over since: a newer delivery reviews the head)."""
        commit = identity.bitbucket_commit(commit, "head_sha")
        if len(commit) in (40, 64):
            return commit
        key = (repository, number, commit)
        if key not in self._full:
            for item in await self._paginate(self._pr(repository, number, "commits"), until=commit):
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
        return await self._file_text(self._repo(repository, "src", ref, *segments), ref)

    async def _file_text(self, url: httpx.URL, ref: str, headers: dict[str, str] | None = None) -> str | None:
        """As :meth:`RestClient._file_text`, with the commit in the path (no ``ref`` query)."""
        try:
            response = await self._request("GET", url, headers=headers or {})
        except PlatformNotFound:
            return None
        data = response.content
        if len(data) > MAX_FILE_BYTES or b"\0" in data[:8000]:
            return None
        return data.decode("utf-8", errors="replace")

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
        await self.own_uuid()  # no identity, no posting: every marker would look foreign

        async def markers() -> set[tuple[str, str]]:
            return await self.existing_markers(repository, number)

        async def inline(c: InlineComment) -> None:
            await self._request("POST", self._pr(repository, number, "comments"), json=_inline(c))

        async def summary() -> int | None:
            current = await self.summary_comment(repository, number)
            return None if current is None else identity.positive_int(current.get("id"), "comment id")

        async def create(body: str) -> int | str | None:
            url = self._pr(repository, number, "comments")
            return (await self._request("POST", url, json={"content": {"raw": body}})).json().get("id")

        async def edit(comment_id: int | str, body: str) -> int | str | None:
            cid = identity.positive_int(int(comment_id), "comment id", maximum=identity.MAX_ID)
            url = self._pr(repository, number, "comments", cid)
            return (await self._request("PUT", url, json={"content": {"raw": body}})).json().get("id")

        return await post_with_markers(post, MarkerPosting(markers, inline, summary, create, edit))

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
                if method != "GET" or not self._on_root(target):
                    raise PlatformError(
                        f"Bitbucket {method} {_where(url)} redirected to {identity.shown(str(target))}, "
                        f"outside the configured API root {self.api_url}; refusing to follow it"
                    ) from None
                url = target
        raise PlatformError(f"Bitbucket {method} {_where(url)}: more than {MAX_REDIRECTS} redirects")

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

    async def _paginate(self, url: httpx.URL, until: str | None = None) -> list[dict[str, Any]]:
        """Every item of a listing (Bitbucket's ``{"values": [...], "next": URL}`` pages), at most
        :data:`~hunkwise.platforms.rest.MAX_PAGES`; ``until``: stop after the page holding an item
        whose ``hash`` starts with it."""
        items: list[dict[str, Any]] = []
        page: tuple[httpx.URL, dict[str, Any] | None] | None = (url, {"pagelen": PER_PAGE})
        for _ in range(MAX_PAGES):
            if page is None:
                break
            response = await self._request("GET", page[0], params=page[1])
            values = _dict(response.json()).get("values")
            if not isinstance(values, list):
                raise PlatformError(f"Bitbucket answered GET {_where(url)} with an unexpected shape")
            items.extend(v for v in values if isinstance(v, dict))
            if until is not None and any(str(v.get("hash", "")).startswith(until) for v in items):
                break
            page = self._next_page(response, url, page[1])
        return items


def _where(url: httpx.URL) -> str:
    """The request path as sent, no query (how messages name a request)."""
    return url.raw_path.decode("ascii").split("?", 1)[0]


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
