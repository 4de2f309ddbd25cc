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
from hunkwise.platforms.rest import RestClient
from hunkwise.platforms.review_post import (
    InlineComment,
    PlatformError,
    PlatformRejected,
    PostResult,
    PriorThread,
    ReviewPost,
    fold_comments,
    marker_values,
    markers_in,
    says_wont_fix,
)

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

    async def own_user_id(self) -> int | None:
        """The id of the token's user (``GET /user``, once per client)."""
        if not self._me_known:
            data = (await self._request("GET", self._url("user"))).json()
            user_id = data.get("id") if isinstance(data, dict) else None
            self._me = user_id if isinstance(user_id, int) else None
            self._me_known = True
        return self._me

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
        """One discussion per new finding (one whose fingerprint is not on the merge request
        yet), then the summary: created on the first review, edited in place
        (``PUT .../notes/{id}``) on every later one. The summary is written last, so its
        ``review`` marker means this head's review is complete."""
        existing = await self.existing_markers(project, iid)
        if ("review", post.key) in existing:
            return PostResult(False, None)
        posted, refused = 0, []
        for c in post.comments:
            if ("fp", c.key) in existing or ("finding", c.key) in existing:
                continue
            try:
                await self._request(
                    "POST", self._mr(project, iid, "discussions"), json=_discussion(c, diff_refs)
                )
                posted += 1
            except PlatformRejected:
                refused.append(c)  # GitLab could not place the line: keep the finding in the summary
        summary = fold_comments(post.summary, refused) if refused else post.summary
        current = await self.summary_note(project, iid)
        if current is None:
            note = (
                await self._request("POST", self._mr(project, iid, "notes"), json={"body": summary})
            ).json()
        else:
            note_id = identity.positive_int(current.get("id"), "note id")
            url = self._mr(project, iid, "notes", str(note_id))
            note = (await self._request("PUT", url, json={"body": summary})).json()
        return PostResult(True, note.get("id"), None, inline=posted, folded=len(refused))

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
