"""GitLab: merge request webhooks (``X-Gitlab-Token``) and an async REST client.

The client reads a merge request through the changes API (files, diffs and the ``diff_refs``
SHAs) and posts a review as one discussion per finding, positioned on the new-file line with
``base_sha``/``start_sha``/``head_sha``, then a summary note. GitLab has no atomic "review with
comments", so idempotency is per body: every discussion and the summary carry a hidden
fingerprint, existing ones are skipped, and the summary is posted last, so its presence means
the whole review is there.
"""

from __future__ import annotations

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
from hunkwise.platforms.rest import RestClient, answered_id
from hunkwise.platforms.review_post import (
    InlineComment,
    PlatformError,
    PlatformNotFound,
    PlatformRejected,
    PostResult,
    PriorThread,
    ReviewPost,
    marker_values,
    markers_in,
    says_wont_fix,
)
from hunkwise.platforms.status import STATUS_NAME, CommitState, gitlab_commit_state

TOKEN_HEADER = "X-Gitlab-Token"
EVENT_HEADER = "X-Gitlab-Event"
DELIVERY_HEADER = "X-Gitlab-Event-UUID"
SECRET_ENV = "HUNKWISE_GITLAB_WEBHOOK_SECRET"
# Where the settings read a token from, first set wins (named in messages).
TOKEN_ENVS = ("HUNKWISE_GITLAB_TOKEN", "GITLAB_TOKEN")
# The API base the webhook server talks to when none is configured; never taken from a delivery.
DEFAULT_API_URL = "https://gitlab.com/api/v4"
REVIEW_ACTIONS = frozenset({"open", "reopen", "update"})


def verify_token(expected: str, header: str | None) -> bool:
    """Constant-time comparison; an unconfigured secret accepts nothing."""
    if not expected or not header:
        return False
    return hmac.compare_digest(expected.encode(), header.encode())


@dataclass(frozen=True, slots=True)
class MergeRequestEvent:
    action: str
    owner: str  # top-level namespace: maps to the hunkwise organization
    project_id: int
    project_path: str  # "group/project"
    iid: int
    head_sha: str
    draft: bool
    api_url: str
    oldrev: str | None = None

    def __post_init__(self) -> None:
        """Checked however the event was made: parsed from a delivery or read back from a job
        row (see :class:`~hunkwise.platforms.github_webhooks.PullRequestEvent`). Raises
        :class:`IdentityError`. Whether ``project_id`` IS ``project_path`` only GitLab knows:
        :meth:`GitLabClient.verify_project` asks it before any review."""
        path = identity.gitlab_path(self.project_path, "project_path")
        if identity.owner_of(path) != self.owner:
            raise IdentityError("owner", self.owner, f"is not the namespace of project {path!r}")
        identity.positive_int(self.project_id, "project_id", maximum=identity.MAX_ID)
        identity.positive_int(self.iid, "iid")
        identity.commit_sha(self.head_sha, "head_sha")
        if self.oldrev is not None:
            identity.commit_sha(self.oldrev, "oldrev")

    @property
    def dedupe_key(self) -> str:
        return f"gitlab:{self.project_path}!{self.iid}@{self.head_sha}"

    def as_payload(self) -> dict[str, Any]:
        return {"platform": "gitlab", **{k: getattr(self, k) for k in self.__slots__}}  # type: ignore[attr-defined]

    @classmethod
    def from_payload(cls, data: dict[str, Any]) -> MergeRequestEvent:
        return cls(**{k: data.get(k) for k in cls.__slots__})  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class GitLabDecision:
    kind: Literal["review", "ignore"]
    reason: str = ""
    event: MergeRequestEvent | None = None


class GitLabPayloadError(PermanentError, ValueError):
    """A merge request event we would act on lacks a field; the message names it."""


def configured_api_url(configured: str | None) -> str:
    """The GitLab API base this server uses: the configured one (``HUNKWISE_GITLAB_API_URL``,
    else ``CI_API_V4_URL``, read by the settings), else ``https://gitlab.com/api/v4``."""
    return configured.strip().rstrip("/") if configured and configured.strip() else DEFAULT_API_URL


def classify(
    event_name: str | None, payload: dict[str, Any], *, api_url: str = DEFAULT_API_URL
) -> GitLabDecision:
    """``api_url``: the configured API base. A delivery whose ``project.web_url`` is on another
    host is refused (:class:`GitLabPayloadError`); the event carries ``api_url``, never a root
    read from the payload. A project path, id, iid or commit that is not one raises
    :class:`IdentityError` naming the field."""
    if payload.get("object_kind") != "merge_request":
        return GitLabDecision(
            "ignore", f"event {event_name or payload.get('object_kind') or '(none)'} is not reviewed"
        )
    attrs = payload.get("object_attributes")
    project = payload.get("project")
    if not isinstance(attrs, dict) or not isinstance(project, dict):
        raise GitLabPayloadError("the payload has no object_attributes or project object")
    action = str(attrs.get("action") or "")
    if action not in REVIEW_ACTIONS:
        return GitLabDecision("ignore", f"merge_request action {action or '(none)'} is not reviewed")
    oldrev = attrs.get("oldrev")
    if action == "update" and not oldrev:
        return GitLabDecision("ignore", "merge_request update without new commits")
    last_commit = attrs.get("last_commit")
    fields = {
        "object_attributes.last_commit.id": last_commit.get("id") if isinstance(last_commit, dict) else None,
        "project.path_with_namespace": project.get("path_with_namespace"),
        "object_attributes.iid": attrs.get("iid"),
        "project.id": project.get("id"),
    }
    for name, value in fields.items():  # absent: unreadable (400); present but wrong: IdentityError
        if value is None or value == "":
            raise GitLabPayloadError(f"the payload has no {name}")
    head = identity.commit_sha(fields["object_attributes.last_commit.id"], "object_attributes.last_commit.id")
    path = identity.gitlab_path(fields["project.path_with_namespace"], "project.path_with_namespace")
    iid = identity.positive_int(fields["object_attributes.iid"], "object_attributes.iid")
    project_id = identity.positive_int(fields["project.id"], "project.id", maximum=identity.MAX_ID)
    api_url = api_url.rstrip("/")
    web_url = project.get("web_url")
    if isinstance(web_url, str) and web_url:
        got, want = urlsplit(web_url).netloc.lower(), urlsplit(api_url).netloc.lower()
        if got != want:
            raise GitLabPayloadError(
                f"project.web_url is on {identity.shown(got or web_url)}, not on the configured GitLab host "
                f"{want!r} (set HUNKWISE_GITLAB_API_URL for a self-managed GitLab)"
            )
    event = MergeRequestEvent(
        action=action,
        owner=identity.owner_of(path),
        project_id=project_id,
        project_path=path,
        iid=iid,
        head_sha=head,
        draft=bool(attrs.get("draft") or attrs.get("work_in_progress")),
        api_url=api_url,
        oldrev=identity.commit_sha(oldrev, "object_attributes.oldrev") if oldrev else None,
    )
    if event.draft:
        return GitLabDecision("ignore", "draft merge requests are reviewed when marked ready", event)
    return GitLabDecision("review", action, event)


def changes_to_diff(changes: list[dict[str, Any]]) -> str:
    """The changes API's per-file hunks -> one git-style unified diff the parser reads."""
    out: list[str] = []
    for c in changes:
        old, new = c.get("old_path") or c.get("new_path"), c.get("new_path") or c.get("old_path")
        body = c.get("diff") or ""
        out.append(f"diff --git a/{old} b/{new}")
        if c.get("new_file"):
            out.append("new file mode 100644")
        elif c.get("deleted_file"):
            out.append("deleted file mode 100644")
        if not body:
            continue
        out.append("--- /dev/null" if c.get("new_file") else f"--- a/{old}")
        out.append("+++ /dev/null" if c.get("deleted_file") else f"+++ b/{new}")
        out.append(body.removesuffix("\n"))
    return "\n".join(out) + "\n" if out else ""


class GitLabClient(RestClient):
    platform = "GitLab"
    default_api_url = DEFAULT_API_URL
    url_hint = "check the GitLab API URL (HUNKWISE_GITLAB_API_URL, CI_API_V4_URL) and the network"
    not_found_hint = "check the project and that the token can see it"

    def _mr(self, project: int | str, iid: int, *rest: str) -> httpx.URL:
        """``/projects/{id or url-encoded path}/merge_requests/{iid}/...``, from validated parts."""
        project = identity.gitlab_project(project)
        return self._url("projects", project, "merge_requests", identity.positive_int(iid, "iid"), *rest)

    async def file_at(self, project: int | str, path: str, ref: str) -> str | None:
        """A file's text at commit ``ref`` (code context for a review); ``None`` when absent there,
        binary or too large. GitLab names the file as ONE url-encoded segment (``src%2Fapp.py``);
        its segments are validated first."""
        ref = identity.commit_sha(ref, "head commit")
        file = "/".join(identity.repository_file_path(path))
        url = self._url("projects", identity.gitlab_project(project), "repository", "files", file, "raw")
        return await self._file_text(url, ref)

    async def verify_project(self, project_id: int, path: str) -> None:
        """Make sure project ``project_id`` IS ``path`` before anything is read from it: a webhook
        names both, and only the path says which organization it belongs to, so a delivery under
        ``acme/anything`` with another tenant's project id would otherwise be reviewed (and its
        code sent to acme's models). :class:`IdentityError` when GitLab disagrees (the message
        never shows the project the id really is); :class:`PlatformNotFound` when the token
        cannot see the id."""
        project_id = identity.positive_int(project_id, "project.id", maximum=identity.MAX_ID)
        path = identity.gitlab_path(path, "project.path_with_namespace")
        data = (await self._request("GET", self._url("projects", project_id))).json()
        if (
            not isinstance(data, dict)
            or data.get("id") != project_id
            or data.get("path_with_namespace") != path
        ):
            raise IdentityError(
                "project.id", project_id, f"is not project {path!r} on GitLab; refusing to review it"
            )

    async def merge_request_diff(self, project: int | str, iid: int) -> tuple[str, dict[str, str]]:
        """``(unified diff, diff_refs)`` of the merge request (``base_sha``/``start_sha``/``head_sha``)."""
        data = (await self._request("GET", self._mr(project, iid, "changes"))).json()
        refs = data.get("diff_refs") or {}
        if not all(refs.get(k) for k in ("base_sha", "start_sha", "head_sha")):
            raise PlatformError(
                f"GitLab merge request {project}!{iid} has no diff_refs yet; retry when it is ready"
            )
        return changes_to_diff(data.get("changes") or []), {
            k: refs[k] for k in ("base_sha", "start_sha", "head_sha")
        }

    async def _own_markers(self, note: dict[str, Any]) -> set[tuple[str, str]]:
        """The note's markers if hunkwise wrote it (anyone can type a marker into a note)."""
        found = markers_in(note.get("body"))
        if not found:
            return found
        author = note.get("author")
        me = await self.own_user_id()
        if me is None or not isinstance(author, dict) or author.get("id") != me:
            return set()
        return found

    async def existing_markers(self, project: int | str, iid: int) -> set[tuple[str, str]]:
        """Every hunkwise fingerprint already on the merge request (notes and discussions),
        from notes authored by the token's own user only."""
        found: set[tuple[str, str]] = set()
        for note in await self._paginate(self._mr(project, iid, "notes")):
            found |= await self._own_markers(note)
        for discussion in await self._paginate(self._mr(project, iid, "discussions")):
            for note in discussion.get("notes") or []:
                found |= await self._own_markers(note)
        return found

    async def summary_note(self, project: int | str, iid: int) -> dict[str, Any] | None:
        """The merge request's one summary note hunkwise wrote: the one with a ``summary``
        marker, else (posted before summaries were edited) the newest with a ``review`` marker."""
        notes = await self._paginate(self._mr(project, iid, "notes"))
        own = [n for n in notes if await self._own_markers(n)]
        for note in own:
            if marker_values(note.get("body"), "summary"):
                return note
        return next((n for n in reversed(own) if marker_values(n.get("body"), "review")), None)

    async def post_review(
        self, project: int | str, iid: int, post: ReviewPost, diff_refs: Mapping[str, str]
    ) -> PostResult:
        """One discussion per new finding, positioned with ``diff_refs``, then the summary note,
        created once and edited in place (``PUT .../notes/{id}``) on every later review
        (:func:`~hunkwise.platforms.pull_request.post_with_markers`)."""

        async def markers() -> set[tuple[str, str]]:
            return await self.existing_markers(project, iid)

        async def inline(c: InlineComment) -> None:
            await self._request("POST", self._mr(project, iid, "discussions"), json=_discussion(c, diff_refs))

        async def summary() -> int | None:
            current = await self.summary_note(project, iid)
            return None if current is None else identity.positive_int(current.get("id"), "note id")

        async def create(body: str) -> int | str | None:
            note = await self._request("POST", self._mr(project, iid, "notes"), json={"body": body})
            return answered_id(note)

        async def edit(note_id: int | str, body: str) -> int | str | None:
            url = self._mr(project, iid, "notes", str(note_id))
            return answered_id(await self._request("PUT", url, json={"body": body}))

        return await post_with_markers(
            post, MarkerPosting(markers, inline, summary, create, edit, self.own_user_id)
        )

    # -- the merge status -------------------------------------------------------------------------
    async def set_status(self, project: int | str, head_sha: str, state: CommitState) -> str:
        """Show ``state`` as the ``hunkwise`` commit status of ``head_sha``. GitLab refuses a
        transition to the state a status already has (400 "Cannot transition status"): that
        means it already shows what we want, so it is not an error."""
        sha = identity.commit_sha(head_sha, "head commit")
        body: dict[str, Any] = {
            "state": gitlab_commit_state(state),
            "name": STATUS_NAME,
            "description": state.short,
        }
        if state.target_url:
            body["target_url"] = state.target_url
        url = self._url("projects", identity.gitlab_project(project), "statuses", sha)
        try:
            await self._request("POST", url, json=body)
        except PlatformRejected as exc:
            if "transition" not in str(exc).lower():
                raise
        return "commit_status"

    # -- conversation -----------------------------------------------------------------------------
    DEVELOPER = 30  # GitLab's access level of a Developer: the least that may push

    async def can_write(self, project: int | str, user_id: int) -> tuple[bool, str]:
        """Whether user ``user_id`` is a member with Developer access or more (inherited
        memberships included: ``members/all``): ``(allowed, "access level N")``."""
        uid = identity.positive_int(user_id, "user.id", maximum=identity.MAX_ID)
        url = self._url("projects", identity.gitlab_project(project), "members", "all", uid)
        try:
            data = (await self._request("GET", url)).json()
        except PlatformNotFound:
            return False, "not a member"
        level = data.get("access_level") if isinstance(data, dict) else None
        level = level if isinstance(level, int) and not isinstance(level, bool) else 0
        return level >= self.DEVELOPER, f"access level {level}"

    async def merge_request(self, project: int | str, iid: int) -> dict[str, Any]:
        """The merge request object (``sha``: its head commit, ``draft``, ``web_url``)."""
        data = (await self._request("GET", self._mr(project, iid))).json()
        if not isinstance(data, dict):
            raise PlatformError(f"GitLab answered merge request {project}!{iid} with an unexpected shape")
        return data

    async def discussion(self, project: int | str, iid: int, discussion_id: str) -> dict[str, Any]:
        """One discussion of the merge request (its notes, positions and resolution)."""
        data = (
            await self._request("GET", self._mr(project, iid, "discussions", _discussion_id(discussion_id)))
        ).json()
        if not isinstance(data, dict):
            raise PlatformError(f"GitLab answered discussion {discussion_id} with an unexpected shape")
        return data

    async def discussions(self, project: int | str, iid: int) -> list[dict[str, Any]]:
        return await self._paginate(self._mr(project, iid, "discussions"))

    async def reply_in_thread(
        self, project: int | str, iid: int, discussion_id: str, body: str
    ) -> dict[str, Any]:
        """A note in discussion ``discussion_id``."""
        url = self._mr(project, iid, "discussions", _discussion_id(discussion_id), "notes")
        return dict((await self._request("POST", url, json={"body": body})).json())

    async def comment(self, project: int | str, iid: int, body: str) -> dict[str, Any]:
        """A note on the merge request itself."""
        return dict(
            (await self._request("POST", self._mr(project, iid, "notes"), json={"body": body})).json()
        )

    async def note_awards(self, project: int | str, iid: int, note_id: int) -> list[dict[str, Any]]:
        """The award emoji on one note (``thumbsup``/``thumbsdown`` are feedback)."""
        nid = identity.positive_int(note_id, "note id", maximum=identity.MAX_ID)
        return await self._paginate(self._mr(project, iid, "notes", str(nid), "award_emoji"))

    async def prior_threads(self, project: int | str, iid: int) -> list[PriorThread]:
        """Every finding hunkwise posted on this merge request (the ``fp`` markers of the first
        note of its own discussions, and of findings folded into its summary), with the
        discussion's state: ``resolved`` as GitLab reports it on the notes, or a reply by
        someone else answering "won't fix"."""
        out: list[PriorThread] = []
        for discussion in await self._paginate(self._mr(project, iid, "discussions")):
            notes = [n for n in discussion.get("notes") or [] if isinstance(n, dict)]
            if not notes:
                continue
            fps = marker_values(notes[0].get("body"), "fp")
            if not fps or not await self._own_markers(notes[0]):
                continue
            resolved = bool(notes[0].get("resolved")) or bool(discussion.get("resolved"))
            wont_fix = False
            for n in notes[1:]:
                if says_wont_fix(n.get("body")) and not await self._own_markers_or_author(n):
                    wont_fix = True
            position = notes[0].get("position") or {}
            out.append(
                PriorThread(
                    fps[0], resolved, wont_fix, f"{position.get('new_path')}:{position.get('new_line')}"
                )
            )
        summary = await self.summary_note(project, iid)
        folded = marker_values(summary.get("body"), "fp") if summary else []
        return out + [PriorThread(fp, where="summary") for fp in folded]

    async def _own_markers_or_author(self, note: dict[str, Any]) -> bool:
        """Whether hunkwise's own user wrote ``note`` (its own replies never close a thread)."""
        author = note.get("author")
        return isinstance(author, dict) and author.get("id") == await self.own_user_id()

    # -- what GitLab says on top of the shared classification --------------------------------------
    def _headers(self, token: Secret | None) -> dict[str, str]:
        return {"PRIVATE-TOKEN": token.reveal()} if token is not None else {}

    def _auth_hint(self, status: int) -> str:
        return "the token needs the 'api' scope" if self._has_token else "set HUNKWISE_GITLAB_TOKEN"

    def _retry_after(self, response: httpx.Response) -> float | None:
        """``Retry-After``, else a minute (GitLab's throttles count per minute)."""
        after = super()._retry_after(response)
        return 60.0 if after is None else after

    def _next_page(
        self, response: httpx.Response, url: httpx.URL, params: dict[str, Any] | None
    ) -> tuple[httpx.URL, dict[str, Any] | None] | None:
        """``X-Next-Page``: the number of the next page of the same listing, empty after the last."""
        page = response.headers.get("x-next-page")
        return (url, {**(params or {}), "page": page}) if page else None


def _discussion_id(value: object) -> str:
    """A discussion id as GitLab makes them (40 hex digits; tests use short ones): untrusted."""
    if not isinstance(value, str) or not value.isalnum() or len(value) > 64:
        raise IdentityError("discussion_id", value, "is not a GitLab discussion id")
    return value


def _discussion(c: InlineComment, refs: Mapping[str, str]) -> dict[str, Any]:
    """A text position on the new file's line (GitLab anchors a discussion to one line; a range
    is named in the body)."""
    body = c.body
    if c.end_line > c.start_line:
        body = f"_Lines {c.start_line}-{c.end_line}_\n\n{body}"
    return {
        "body": body,
        "position": {
            "position_type": "text",
            "base_sha": refs["base_sha"],
            "start_sha": refs["start_sha"],
            "head_sha": refs["head_sha"],
            "old_path": c.path,
            "new_path": c.path,
            "new_line": c.start_line,
        },
    }


class GitLabMergeRequest(PullRequest):
    """A merge request for the review job (:class:`~hunkwise.platforms.pull_request.PullRequest`).
    GitLab addresses it by project id; the id is verified to be the path before anything else."""

    platform = "gitlab"

    def __init__(self, client: GitLabClient, event: MergeRequestEvent) -> None:
        super().__init__(event.project_path, event.iid, event.head_sha)
        self.client, self.event = client, event

    @property
    def label(self) -> str:
        return f"{self.repository}!{self.number}"

    async def verify(self) -> None:
        await self.client.verify_project(self.event.project_id, self.event.project_path)

    async def current_head(self) -> str | None:
        """The merge request's head now (``sha``): the changes API answers the CURRENT version
        (its ``diff_refs`` place the lines right, but the review would carry this older head)."""
        data = await self.client.merge_request(self.event.project_id, self.number)
        return identity.commit_sha(data.get("sha"), "sha")

    async def diff(self) -> FetchedDiff:
        text, refs = await self.client.merge_request_diff(self.event.project_id, self.number)
        return FetchedDiff(text, None, refs)

    async def file_at(self, path: str) -> str | None:
        return await self.client.file_at(self.event.project_id, path, self.head_sha)

    async def prior_threads(self) -> list[PriorThread]:
        return await self.client.prior_threads(self.event.project_id, self.number)

    async def post(self, post: ReviewPost, refs: Mapping[str, str]) -> PostResult:
        return await self.client.post_review(self.event.project_id, self.number, post, refs)

    async def set_status(self, state: CommitState) -> None:
        await self.client.set_status(self.event.project_id, self.head_sha, state)
