"""Azure DevOps Services: an async REST client (API version 7.1) and the pull request the review
job reads and posts on (docs/azure-devops.md).

Why no client library: Microsoft's ``azure-devops`` Python package is synchronous (generated
clients on ``msrest``, whose last release was in 2022, over ``requests``), so every call would
need a thread in hunkwise's async jobs, and it cannot take an ``httpx`` transport, which the
one error translation (:mod:`hunkwise.platforms.rest`), the loopback fakes and the tests rely on.
The handful of endpoints used here are plain JSON over HTTPS.

What the client does, endpoint by endpoint (every path is built from validated names under
the configured organization root, ``{project}/_apis/git/repositories/{repository}/...``):

- the diff: the pull request's iteration at the head commit (``.../pullRequests/{id}/iterations``),
  its changes against the merge base (``.../iterations/{n}/changes``), each file read at the base
  and head commits (``.../items?path=&versionDescriptor.version=&versionDescriptor.versionType=commit``),
  and diffed by :mod:`hunkwise.platforms.azure_devops_diff` (bounded: what is not read is listed
  as skipped);
- inline comments: a thread per finding on the new file's lines (``threadContext.rightFileStart``
  /``rightFileEnd``), status ``active``, so a "comment resolution" branch policy waits for it;
- the summary: a thread without a file context and without a status (a plain comment, which
  never blocks a policy), its first comment edited in place on every later review
  (``PATCH .../threads/{t}/comments/{c}``);
- prior threads: only threads whose first comment the token's own identity wrote
  (``GET {organization}/_apis/connectionData``: ``authenticatedUser.id``); a thread ``fixed``,
  ``closed`` or ``byDesign`` is resolved, ``wontFix`` is won't fix;
- the merge status: a pull request status (``.../pullRequests/{id}/statuses``, context
  ``ai-review/hunkwise``) on the reviewed iteration. Pull request statuses, not commit statuses:
  they show on the pull request's overview and are what a branch policy's "Status check"
  requires, and tied to an iteration they are reset by a new push.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Mapping
from typing import Any, ClassVar

import httpx

from hunkwise.errors import classify_transport, describe_transport
from hunkwise.gateway import Secret
from hunkwise.platforms import identity
from hunkwise.platforms.azure_devops_diff import FileChange, azure_path, change_of, render, unreadable
from hunkwise.platforms.azure_devops_events import (
    TOKEN_ENV,
    URL_ENV,
    AzurePullRequestEvent,
    guid,
    organization_of,
    project_name,
    repository_name,
)
from hunkwise.platforms.identity import IdentityError
from hunkwise.platforms.pull_request import FetchedDiff, MarkerPosting, PullRequest, post_with_markers
from hunkwise.platforms.rest import MAX_FILE_BYTES, MAX_PAGES, RestClient, answered_id, proxy_refusal
from hunkwise.platforms.review_post import (
    InlineComment,
    PlatformAuthError,
    PlatformError,
    PlatformRejected,
    PlatformUnavailable,
    PostResult,
    PriorThread,
    ReviewPost,
    marker_values,
    markers_in,
    says_wont_fix,
)
from hunkwise.platforms.status import STATUS_NAME, CommitState, azure_devops_state

API_VERSION = "7.1"
CONNECTION_DATA_VERSION = "7.1-preview.1"  # connectionData has only preview versions
STATUS_GENRE = "ai-review"  # shown as "ai-review/hunkwise"; a status policy names both
MAX_DIFF_FILES = 300  # files read per review; the rest are listed as skipped, never dropped
MAX_DIFF_BYTES = 20_000_000  # file content read per review (base and head); the rest: skipped
FILE_READS = 8  # at once
CHANGES_PAGE = 100
RESOLVED = frozenset({"fixed", "closed", "byDesign"})
WONT_FIX = "wontFix"


def _id(value: object, field: str) -> int:
    return identity.positive_int(value, field, maximum=identity.MAX_ID)


class AzureDevOpsClient(RestClient):
    """The REST client on one organization root (``https://dev.azure.com/{organization}``) with a
    personal access token (basic authentication, empty user name)."""

    platform = "Azure DevOps"
    default_api_url = ""  # none: the root names the organization and must be configured
    url_hint = f"check {URL_ENV} (https://dev.azure.com/ORGANIZATION) and the network"
    not_found_hint = "check the project, repository and pull request, and that the token can read them"
    # Azure's listings are not paged by size: a continuation token says what is left.
    first_page: ClassVar[Mapping[str, Any] | None] = None

    def __init__(
        self,
        token: Secret | None,
        api_url: str,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout_s: float = 30.0,
    ) -> None:
        if not api_url:
            raise IdentityError(URL_ENV, api_url, "is not set: use https://dev.azure.com/ORGANIZATION")
        self.organization = organization_of(api_url)  # refuses a root that names none
        super().__init__(token, api_url, transport=transport, timeout_s=timeout_s)
        self._http.params = httpx.QueryParams({"api-version": API_VERSION})
        self._identity: str | None = None

    # -- addressing -------------------------------------------------------------------------------
    def _repo(self, project: str, repository: str, *rest: str | int) -> httpx.URL:
        return self._url(
            project_name(project), "_apis", "git", "repositories", repository_name(repository), *rest
        )

    def _pr(self, project: str, repository: str, number: int, *rest: str | int) -> httpx.URL:
        number = identity.positive_int(number, "pull request id")
        return self._repo(project, repository, "pullRequests", number, *rest)

    # -- reading ----------------------------------------------------------------------------------
    async def _json(self, url: httpx.URL, **kwargs: Any) -> dict[str, Any]:
        data = (await self._request("GET", url, **kwargs)).json()
        if not isinstance(data, dict):
            raise PlatformError(f"Azure DevOps answered GET {url.path} with an unexpected shape")
        return data

    def _page_items(self, data: object) -> list[Any] | None:
        """Azure's listings: ``{"count": n, "value": [...]}``, the next page named by the
        ``x-ms-continuationtoken`` header (:meth:`_next_page`)."""
        values = data.get("value") if isinstance(data, dict) else None
        return [v for v in values if isinstance(v, dict)] if isinstance(values, list) else None

    async def own_identity(self) -> str:
        """The id of the token's identity (``connectionData``: ``authenticatedUser.id``), once.
        Without it nothing on the pull request could be told to be hunkwise's, and every retry
        would post again: no answer is an error, not "nobody"."""
        if self._identity is None:
            url = self._url("_apis", "connectionData")
            data = await self._json(url, params={"api-version": CONNECTION_DATA_VERSION})
            user = data.get("authenticatedUser")
            found = user.get("id") if isinstance(user, dict) else None
            if not found:
                raise PlatformError(
                    f"Azure DevOps did not say whose token this is (GET {url.path}: no "
                    "authenticatedUser.id), so hunkwise cannot tell its own comments; check "
                    f"{TOKEN_ENV} (a personal access token of a user)"
                )
            self._identity = guid(found, "connectionData.authenticatedUser.id")
        return self._identity

    async def verify_repository(self, project: str, repository: str, repository_id: str) -> None:
        """Make sure ``project/repository`` IS the delivered ``repository_id`` before anything is
        read (the name chose the organization): :class:`IdentityError` when Azure disagrees."""
        data = await self._json(self._repo(project, repository))
        got_project = data.get("project") if isinstance(data.get("project"), dict) else {}
        same = (
            str(data.get("id", "")).lower() == guid(repository_id, "resource.repository.id")
            and str(got_project.get("name", "")).lower() == project.lower()
        )
        if not same:
            raise IdentityError(
                "resource.repository.id",
                repository_id,
                f"is not repository {repository!r} of project {project!r} on Azure DevOps; "
                "refusing to review it",
            )

    async def iteration_at(self, project: str, repository: str, number: int, head_sha: str) -> dict[str, Any]:
        """The newest iteration whose source commit is ``head_sha``. Azure creates it shortly
        after the push: until then this is :class:`PlatformUnavailable` (the job retries)."""
        head = identity.commit_sha(head_sha, "head commit")
        iterations = await self._paginate(self._pr(project, repository, number, "iterations"))
        for it in reversed(iterations):
            commit = it.get("sourceRefCommit") if isinstance(it.get("sourceRefCommit"), dict) else {}
            if str(commit.get("commitId", "")).lower() == head:
                return it
        raise PlatformUnavailable(
            f"Azure DevOps pull request {project}/{repository}#{number} has no iteration at "
            f"{head[:12]} yet; retrying later"
        )

    async def iteration_changes(
        self, project: str, repository: str, number: int, iteration: int
    ) -> list[dict[str, Any]]:
        """The iteration's changed files against the merge base (``$compareTo=0``), every page
        (``nextSkip``/``nextTop``)."""
        url = self._pr(project, repository, number, "iterations", _id(iteration, "iteration id"), "changes")
        entries: list[dict[str, Any]] = []
        skip = 0
        for _ in range(MAX_PAGES):
            data = await self._json(url, params={"$top": CHANGES_PAGE, "$skip": skip, "$compareTo": 0})
            page = [e for e in data.get("changeEntries") or [] if isinstance(e, dict)]
            entries.extend(page)
            following = data.get("nextSkip")
            if not page or not isinstance(following, int) or following <= skip:
                return entries
            skip = following
        # Reviewing the first pages only would leave the rest out of the review AND its coverage.
        raise PlatformRejected(
            f"Azure DevOps pull request {project}/{repository}#{number} changes more than "
            f"{MAX_PAGES * CHANGES_PAGE} files; hunkwise does not review a change it cannot list whole"
        )

    async def item(self, project: str, repository: str, path: str, commit: str) -> bytes | None:
        """A file's bytes at ``commit``, at most :data:`MAX_FILE_BYTES` + 1 of them (a longer
        file is cut there, which :func:`_unreadable` reads as too large): the file is streamed,
        so a huge one is never held whole. None when the file is not there."""
        params = {
            "path": azure_path(path),
            "versionDescriptor.version": identity.commit_sha(commit, "commit"),
            "versionDescriptor.versionType": "commit",
        }
        url = self._repo(project, repository, "items")
        headers = {"Accept": "application/octet-stream"}
        try:
            async with self._http.stream("GET", url, params=params, headers=headers) as response:
                if response.status_code == 404:
                    return None
                if not response.is_success or response.status_code == 203:
                    await response.aread()
                    self._check(response, "GET", url)
                data = bytearray()
                async for chunk in response.aiter_bytes():
                    data += chunk
                    if len(data) > MAX_FILE_BYTES:
                        break
                return bytes(data[: MAX_FILE_BYTES + 1])
        except PlatformError:
            raise
        except Exception as exc:
            if (refused := proxy_refusal(exc, f"Azure DevOps GET {url.path}")) is not None:
                raise refused from exc
            if classify_transport(exc) is None:
                raise
            reason = describe_transport(exc, self.api_url)
            raise PlatformUnavailable(
                f"Azure DevOps GET {url.path} failed ({reason}); {self.url_hint}"
            ) from exc

    async def file_at(self, project: str, repository: str, path: str, commit: str) -> str | None:
        """A file's text at ``commit`` (code context); None when absent, binary or too large."""
        data = await self.item(project, repository, path, commit)
        if data is None or _unreadable(data):
            return None
        return data.decode("utf-8", errors="replace")

    async def pull_request_diff(
        self, project: str, repository: str, number: int, head_sha: str
    ) -> FetchedDiff:
        """The unified diff of the pull request at ``head_sha`` against its merge base; its refs:
        ``base_sha``, ``head_sha`` and the ``iteration`` reviewed; its ``unread``: the files in it
        whose text was not read (too large, past the per-review caps), which the review lists as
        skipped and the merge status calls incomplete (a binary file is skipped as git would)."""
        it = await self.iteration_at(project, repository, number, head_sha)
        iteration = _id(it.get("id"), "iteration id")
        base_ref = it.get("commonRefCommit") or it.get("targetRefCommit")
        base = identity.commit_sha(
            base_ref.get("commitId") if isinstance(base_ref, dict) else None, "iteration.commonRefCommit"
        )
        head = identity.commit_sha(head_sha, "head commit")
        changes = [
            c
            for e in await self.iteration_changes(project, repository, number, iteration)
            if (c := change_of(e)) is not None
        ]
        gate = asyncio.Semaphore(FILE_READS)
        left = [MAX_DIFF_BYTES]  # what the review may still read, shared by the reads
        unread: dict[str, str] = {}

        def not_read(c: FileChange, why: str) -> FileChange:
            unread[c.path] = why
            return FileChange(c.kind, c.path, c.old_path, unreadable=True)

        async def read(index: int, c: FileChange) -> FileChange:
            if c.kind == "delete":
                return c
            if index >= MAX_DIFF_FILES:
                return not_read(c, f"past the {MAX_DIFF_FILES} files a review reads")
            async with gate:
                if left[0] <= 0:
                    return not_read(c, f"past the {MAX_DIFF_BYTES // 1_000_000} MB of files a review reads")
                new = await self.item(project, repository, c.path, head)
                old = await self.item(project, repository, c.old_path, base) if c.kind != "add" else b""
                left[0] -= len(new or b"") + len(old or b"")
            if new is None or old is None:
                return not_read(c, "Azure DevOps did not give the file at both commits")
            if len(new) > MAX_FILE_BYTES or len(old) > MAX_FILE_BYTES:
                return not_read(c, f"larger than {MAX_FILE_BYTES // 1_000_000} MB")
            if left[0] < 0:
                return not_read(c, f"past the {MAX_DIFF_BYTES // 1_000_000} MB of files a review reads")
            if _unreadable(new) or _unreadable(old):  # binary: git shows no text either
                return FileChange(c.kind, c.path, c.old_path, unreadable=True)
            text = (old.decode("utf-8", errors="replace"), new.decode("utf-8", errors="replace"))
            return FileChange(c.kind, c.path, c.old_path, text[0], text[1])

        read_changes = await asyncio.gather(*(read(i, c) for i, c in enumerate(changes)))
        refs = {"base_sha": base, "head_sha": head, "iteration": str(iteration)}
        return FetchedDiff(render(list(read_changes)), None, refs, unread)

    # -- threads ----------------------------------------------------------------------------------
    async def threads(self, project: str, repository: str, number: int) -> list[dict[str, Any]]:
        return [
            t
            for t in await self._paginate(self._pr(project, repository, number, "threads"))
            if not t.get("isDeleted")
        ]

    async def _own_first(self, thread: dict[str, Any]) -> dict[str, Any] | None:
        """The thread's first comment if hunkwise's identity wrote it (anyone can type a marker)."""
        comments = [c for c in thread.get("comments") or [] if isinstance(c, dict) and not c.get("isDeleted")]
        if not comments:
            return None
        first = min(comments, key=lambda c: c.get("id") if isinstance(c.get("id"), int) else 0)
        return first if await self._is_own(first) else None

    async def _is_own(self, comment: dict[str, Any]) -> bool:
        author = comment.get("author")
        me = await self.own_identity()
        return isinstance(author, dict) and str(author.get("id", "")).lower() == me

    async def existing_markers(self, project: str, repository: str, number: int) -> set[tuple[str, str]]:
        """Every hunkwise fingerprint on the pull request, from comments its own identity wrote."""
        found: set[tuple[str, str]] = set()
        for thread in await self.threads(project, repository, number):
            for comment in thread.get("comments") or []:
                if isinstance(comment, dict) and not comment.get("isDeleted") and await self._is_own(comment):
                    found |= markers_in(comment.get("content"))
        return found

    async def summary_comment(
        self, project: str, repository: str, number: int
    ) -> tuple[int, int, str] | None:
        """The pull request's one summary hunkwise wrote (thread id, comment id, content): the
        first comment of an own thread without a file context that has a ``summary`` marker, else
        the newest with a ``review`` marker."""
        own: list[tuple[int, int, str]] = []
        for thread in await self.threads(project, repository, number):
            if thread.get("threadContext"):
                continue
            first = await self._own_first(thread)
            if first is not None:
                content = str(first.get("content") or "")
                own.append((_id(thread.get("id"), "thread id"), _id(first.get("id"), "comment id"), content))
        for entry in own:
            if marker_values(entry[2], "summary"):
                return entry
        return next((e for e in reversed(own) if marker_values(e[2], "review")), None)

    async def change_tracking(
        self, project: str, repository: str, number: int, iteration: int
    ) -> dict[str, int]:
        """Each changed file's ``changeTrackingId`` in ``iteration`` (by path), which anchors a
        thread to the file across iterations."""
        out: dict[str, int] = {}
        for entry in await self.iteration_changes(project, repository, number, iteration):
            change, tracking = change_of(entry), entry.get("changeTrackingId")
            if change is not None and isinstance(tracking, int) and not isinstance(tracking, bool):
                out[change.path] = tracking
        return out

    async def post_review(
        self, project: str, repository: str, number: int, post: ReviewPost, iteration: int | None = None
    ) -> PostResult:
        """One ``active`` thread per new finding, then the summary thread, created once and its
        first comment edited in place on every later review
        (:func:`~hunkwise.platforms.pull_request.post_with_markers`). ``iteration``: the one
        reviewed; each thread is anchored to it (``pullRequestThreadContext``), so its lines are
        the reviewed head's even when the pull request has moved on since."""
        threads_url = self._pr(project, repository, number, "threads")
        tracking: dict[str, int] | None = None

        async def markers() -> set[tuple[str, str]]:
            return await self.existing_markers(project, repository, number)

        async def inline(c: InlineComment) -> None:
            nonlocal tracking
            if tracking is None:  # read once, when there is a comment to anchor
                tracking = (
                    await self.change_tracking(project, repository, number, iteration) if iteration else {}
                )
            thread = _inline_thread(c, iteration, tracking.get(c.path))
            await self._request("POST", threads_url, json=thread)

        async def summary() -> str | None:
            found = await self.summary_comment(project, repository, number)
            return None if found is None else f"{found[0]}/{found[1]}"

        async def create(body: str) -> str | None:
            thread = {"comments": [{"parentCommentId": 0, "content": body, "commentType": "text"}]}
            response = await self._request("POST", threads_url, json=thread)
            # The thread is there (2xx); an answer that does not name it is not a failed post
            # (failing would post it again on retry): the next read finds it by its marker.
            comments = _json_object(response).get("comments")
            first = comments[0] if isinstance(comments, list) and comments else {}
            thread_id, comment_id = (
                answered_id(response),
                first.get("id") if isinstance(first, dict) else None,
            )
            if isinstance(thread_id, int) and isinstance(comment_id, int):
                return f"{thread_id}/{comment_id}"
            return None

        async def edit(ref: int | str, body: str) -> str:
            thread_id, _, comment_id = str(ref).partition("/")
            url = self._pr(
                project,
                repository,
                number,
                "threads",
                _id(int(thread_id), "thread id"),
                "comments",
                _id(int(comment_id), "comment id"),
            )
            await self._request("PATCH", url, json={"content": body})
            return str(ref)

        return await post_with_markers(
            post, MarkerPosting(markers, inline, summary, create, edit, self.own_identity)
        )

    async def prior_threads(self, project: str, repository: str, number: int) -> list[PriorThread]:
        """Every finding hunkwise posted here (the ``fp`` marker of its own threads' first
        comment, and the findings folded into its summary), with the thread's state."""
        out: list[PriorThread] = []
        for thread in await self.threads(project, repository, number):
            context = thread.get("threadContext")
            if not isinstance(context, dict):
                continue
            first = await self._own_first(thread)
            fps = marker_values(first.get("content"), "fp") if first is not None else []
            if not fps:
                continue
            status = thread.get("status")
            wont_fix = status == WONT_FIX
            for comment in thread.get("comments") or []:
                if (
                    isinstance(comment, dict)
                    and comment is not first
                    and says_wont_fix(comment.get("content"))
                    and not await self._is_own(comment)
                ):
                    wont_fix = True
            start = context.get("rightFileStart") if isinstance(context.get("rightFileStart"), dict) else {}
            where = f"{str(context.get('filePath', '')).lstrip('/')}:{start.get('line')}"
            out.append(PriorThread(fps[0], status in RESOLVED, wont_fix, where))
        summary = await self.summary_comment(project, repository, number)
        folded = marker_values(summary[2], "fp") if summary else []
        return out + [PriorThread(fp, where="summary") for fp in folded]

    # -- the merge status -------------------------------------------------------------------------
    async def set_status(
        self, project: str, repository: str, number: int, state: CommitState, iteration: int | None
    ) -> None:
        """Show ``state`` as the ``ai-review/hunkwise`` status of the pull request, on
        ``iteration`` when known (a branch policy resets it on the next push)."""
        body: dict[str, Any] = {
            "state": azure_devops_state(state),
            "description": state.short,
            "context": {"name": STATUS_NAME, "genre": STATUS_GENRE},
        }
        if state.target_url:
            body["targetUrl"] = state.target_url
        if iteration is not None:
            body["iterationId"] = _id(iteration, "iteration id")
        await self._request("POST", self._pr(project, repository, number, "statuses"), json=body)

    # -- what Azure DevOps says on top of the shared classification --------------------------------
    async def _request(self, method: str, url: httpx.URL, **kwargs: Any) -> httpx.Response:
        return self._check(await super()._request(method, url, **kwargs), method, url)

    def _check(self, response: httpx.Response, method: str, url: httpx.URL) -> httpx.Response:
        """Azure answers a refused personal access token with 401, or with 203 and its HTML
        sign-in page (an expired or revoked token in some organizations): that is an auth error.
        Any other failure is the shared translation's (:class:`~hunkwise.platforms.rest.RestClient`)."""
        if response.status_code == 203:
            raise PlatformAuthError(
                f"Azure DevOps {method} {url.path}: 203 (a sign-in page, not an answer); "
                f"{self._auth_hint(401)}",
                status=203,
            )
        if not response.is_success:
            raise self._error(f"{self.platform} {method} {url.path}", response)
        return response

    def _headers(self, token: Secret | None) -> dict[str, str]:
        headers = {"Accept": "application/json"}
        if token is not None:
            basic = base64.b64encode(f":{token.reveal()}".encode()).decode("ascii")
            headers["Authorization"] = f"Basic {basic}"
        return headers

    def _auth_hint(self, status: int) -> str:
        if not self._has_token:
            return f"set {TOKEN_ENV} (a personal access token of the organization)"
        if status == 403:
            return "the token needs the 'Code: Read & write' scope and access to this project"
        return "the personal access token is invalid, expired or not for this organization"

    def _next_page(
        self, response: httpx.Response, url: httpx.URL, params: dict[str, Any] | None
    ) -> tuple[httpx.URL, dict[str, Any] | None] | None:
        """``x-ms-continuationtoken``: the same listing again with ``continuationToken``."""
        token = response.headers.get("x-ms-continuationtoken")
        return (url, {**(params or {}), "continuationToken": token}) if token else None


def _json_object(response: httpx.Response) -> dict[str, Any]:
    try:
        data = response.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _unreadable(data: bytes) -> bool:
    return unreadable(data, MAX_FILE_BYTES)


def _inline_thread(c: InlineComment, iteration: int | None, tracking: int | None) -> dict[str, Any]:
    """An ``active`` thread on the new file's lines ``start_line..end_line`` (both ends given: a
    start without an end breaks the pull request page). With the reviewed ``iteration`` and the
    file's ``tracking`` id, the thread is placed on that iteration against the merge base (Azure:
    a first comparing iteration equal to the second means the common commit on the left)."""
    thread: dict[str, Any] = {
        "comments": [{"parentCommentId": 0, "content": c.body, "commentType": "text"}],
        "status": "active",
        "threadContext": {
            "filePath": azure_path(c.path),
            "rightFileStart": {"line": c.start_line, "offset": 1},
            "rightFileEnd": {"line": c.end_line, "offset": 1},
        },
    }
    if iteration is not None and tracking is not None:
        thread["pullRequestThreadContext"] = {
            "changeTrackingId": tracking,
            "iterationContext": {"firstComparingIteration": iteration, "secondComparingIteration": iteration},
        }
    return thread


class AzureDevOpsPullRequest(PullRequest):
    """A pull request for the review job (:class:`~hunkwise.platforms.pull_request.PullRequest`):
    the whole pull request is reviewed at each new head; the repository is verified first."""

    platform = "azure_devops"

    def __init__(self, client: AzureDevOpsClient, event: AzurePullRequestEvent) -> None:
        super().__init__(event.repository, event.number, event.head_sha)
        self.client, self.event = client, event
        self._iteration: int | None = None

    @property
    def _where(self) -> tuple[str, str, int]:
        return self.event.project, self.event.repository_name, self.number

    async def verify(self) -> None:
        """The repository is the delivered one, and who the token is, before any model is called
        (without the identity nothing could be posted, :meth:`AzureDevOpsClient.own_identity`)."""
        await self.client.verify_repository(
            self.event.project, self.event.repository_name, self.event.repository_id
        )
        await self.client.own_identity()

    async def diff(self) -> FetchedDiff:
        fetched = await self.client.pull_request_diff(*self._where, self.head_sha)
        self._iteration = int(fetched.refs["iteration"])
        return fetched

    async def file_at(self, path: str) -> str | None:
        return await self.client.file_at(self.event.project, self.event.repository_name, path, self.head_sha)

    async def prior_threads(self) -> list[PriorThread]:
        return await self.client.prior_threads(*self._where)

    async def post(self, post: ReviewPost, refs: Mapping[str, str]) -> PostResult:
        if refs.get("iteration", "").isdigit():
            self._iteration = int(refs["iteration"])
        return await self.client.post_review(*self._where, post, self._iteration)

    async def set_status(self, state: CommitState) -> None:
        if self._iteration is None:
            try:
                found = await self.client.iteration_at(*self._where, self.head_sha)
                self._iteration = _id(found.get("id"), "iteration id")
            except PlatformUnavailable:
                pass  # not there yet: a status on the pull request itself
        await self.client.set_status(*self._where, state, self._iteration)
