"""The ``@hunkwise`` command job: answer a question in its thread, or suppress a finding.

The webhook route has already checked what the platform must say before anything is stored
(the author may push to the repository, the per-PR rate limit); ``review`` never reaches here
(the route enqueues a review job). This job does the rest, once per comment:

- ``explain`` / a question: the thread's first comment (it must be hunkwise's own finding: its
  author is our user and it carries our marker) and the code around its line are sent to the
  organization's models through the same gateway as a review (slots, shared limits, circuits),
  the call recorded in the usage ledger under the job's key; the answer is posted once in the
  thread (a reply carries a ``reply`` marker keyed by the comment, so a retried job finds it and
  posts nothing);
- ``ignore`` / ``ignore repo``: the finding's fingerprint (its ``fp`` marker) is suppressed for
  this pull request or the repository (:mod:`hunkwise.store.posted_findings`), and the thread is
  told how to undo it.
"""

from __future__ import annotations

import asyncio
import logging
import re
from typing import TYPE_CHECKING, Any

from hunkwise.jobs.engine import JobContext
from hunkwise.jobs.review_job import JobFailed, ReviewDeps
from hunkwise.platforms.commands import Command, CommentEvent, parse_command
from hunkwise.platforms.identity import IdentityError
from hunkwise.platforms.review_post import marker, marker_values, markers_in
from hunkwise.store.jobs import Job
from hunkwise.store.orgs import normalize_slug

if TYPE_CHECKING:
    from hunkwise.gateway import Attempt

log = logging.getLogger("hunkwise.jobs")

GITHUB_COMMAND_KIND = "github_command"
GITLAB_COMMAND_KIND = "gitlab_command"
CONTEXT_LINES = 6  # lines of code shown either side of the finding's line


def command_handlers(deps: ReviewDeps, handle: str) -> dict[str, Any]:
    async def run(job: Job, ctx: JobContext) -> dict[str, Any]:
        return await run_command_job(job, ctx, deps, handle)

    return {GITHUB_COMMAND_KIND: run, GITLAB_COMMAND_KIND: run}


def _event(job: Job) -> CommentEvent:
    try:
        event = CommentEvent.from_payload(dict(job.payload or {}))
        if normalize_slug(event.owner) != job.org:
            raise IdentityError("owner", event.owner, f"is not organization {job.org!r} of this job")
    except (IdentityError, TypeError, ValueError) as exc:
        raise JobFailed(f"the job's stored comment is not acceptable: {exc}") from None
    return event


async def run_command_job(job: Job, ctx: JobContext, deps: ReviewDeps, handle: str) -> dict[str, Any]:
    event = _event(job)
    command = parse_command(event.body, handle)
    if command is None or command.verb == "review":
        return {"ignored": "no command for this job"}
    thread = _Thread.for_event(event, deps)
    async with thread:
        if await thread.already_answered():
            return {"answered": False, "reason": "already answered"}
        root = await thread.root()
        await ctx.ensure_lease()
        if command.verb == "ignore":
            text = await _ignore(job, deps, event, command, root)
            await thread.reply(text)
            return {"answered": True, "verb": "ignore"}
        answer, calls = await _explain(job, deps, event, command, root, thread)
        run_id = await asyncio.to_thread(_record, deps, job, event, calls)
        await ctx.ensure_lease()
        await thread.reply(answer)
        return {"answered": True, "verb": command.verb, "run_id": run_id}


async def _ignore(
    job: Job, deps: ReviewDeps, event: CommentEvent, command: Command, root: dict[str, Any] | None
) -> str:
    from hunkwise.store.posted_findings import PullRef, suppress

    fps = marker_values(root.get("body") if root else None, "fp")
    if not fps:
        return (
            "hunkwise: nothing to ignore here. Reply `@hunkwise ignore` in the thread of one of "
            "hunkwise's findings."
        )
    pr = PullRef(event.platform, event.repository, event.number)
    wide = command.repository_wide
    await asyncio.to_thread(
        suppress,
        deps.engine,
        org=job.org,
        pr=pr,
        fingerprint=fps[0],
        repository_wide=wide,
        reason=f"@{event.author} in comment {event.comment_id}",
        created_by=event.author,
    )
    scope = f"any pull request of {event.repository}" if wide else "this pull request"
    return (
        f"hunkwise: ignored. This finding will not be posted again on {scope} "
        f"(fingerprint `{fps[0]}`). Undo: `hunkwise feedback unignore {event.platform} "
        f"{event.repository} {0 if wide else event.number} {fps[0]}`."
    )


async def _explain(
    job: Job,
    deps: ReviewDeps,
    event: CommentEvent,
    command: Command,
    root: dict[str, Any] | None,
    thread: _Thread,
) -> tuple[str, list[Attempt]]:
    from hunkwise.gateway import AllSlotsFailed, Router
    from hunkwise.review.explain import build_explain_request

    try:
        slots = await asyncio.to_thread(deps.slots_for_org, job.org)
    except Exception as exc:
        raise JobFailed(f"the model configuration of organization {job.org!r} is not usable: {exc}") from exc
    if not slots:
        raise JobFailed(f"organization {job.org!r} has no model configuration")
    finding = str(root.get("body") or "") if root else ""
    path, line = thread.place(root)
    code = await thread.code(path, line) if path and line else []
    request = build_explain_request(
        question=command.text or "Explain this finding.", finding=finding, path=path, line=line, code=code
    )
    pool = deps.clients() if deps.clients is not None else None
    try:
        async with Router(slots, backend=deps.backend, clients=pool) as router:
            result = await router.chat(request)
    except AllSlotsFailed as exc:
        from hunkwise.jobs.retry import ModelsFailed

        kinds = frozenset(a.outcome for a in exc.attempts)
        raise ModelsFailed(f"no model could answer the question: {exc}", kinds) from None
    finally:
        if pool is not None:
            await pool.aclose()
    return without_comments(result.content), list(result.attempts)


_HTML_COMMENT = re.compile(r"<!--.*?(-->|$)", re.DOTALL)


def without_comments(answer: str) -> str:
    """The model's answer without HTML comments: it is untrusted text, and a hunkwise marker in
    it (``<!-- hunkwise:review:… -->``) would make a later run believe something was posted."""
    return _HTML_COMMENT.sub("", answer).strip() or "(the model gave no answer)"


def _record(deps: ReviewDeps, job: Job, event: CommentEvent, calls: list[Attempt]) -> int:
    from hunkwise.store.ledger import record_run
    from hunkwise.store.records import RunRecord

    run = RunRecord(
        source=event.platform,
        status="done",
        idempotency_key=f"job:{job.dedupe_key}",
        repository=event.repository,
        ref=f"{event.number}:explain",
    )
    return record_run(deps.engine, run, calls)


class _Thread:
    """Where the command was typed, on either platform: its first comment, its code, a reply."""

    def __init__(self, event: CommentEvent, deps: ReviewDeps) -> None:
        self.event = event
        self.deps = deps
        self.key = marker("reply", f"c{event.comment_id}")
        self._client: Any = None

    @classmethod
    def for_event(cls, event: CommentEvent, deps: ReviewDeps) -> _Thread:
        return _GitHubThread(event, deps) if event.platform == "github" else _GitLabThread(event, deps)

    async def __aenter__(self) -> _Thread:
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._client is not None:
            await self._client.aclose()

    async def already_answered(self) -> bool:
        raise NotImplementedError

    async def root(self) -> dict[str, Any] | None:
        raise NotImplementedError

    def place(self, root: dict[str, Any] | None) -> tuple[str, int | None]:
        raise NotImplementedError

    async def code(self, path: str, line: int) -> list[tuple[int, str]]:
        return []

    async def reply(self, text: str) -> None:
        raise NotImplementedError

    def _body(self, text: str) -> str:
        return f"{text}\n\n{self.key}"


class _GitHubThread(_Thread):
    def __init__(self, event: CommentEvent, deps: ReviewDeps) -> None:
        super().__init__(event, deps)
        from hunkwise.platforms.github_webhooks import PullRequestEvent

        probe = PullRequestEvent(
            action="command", owner=event.owner, repository=event.repository, number=event.number,
            head_sha="0" * 40, base_sha="0" * 40, draft=False, installation_id=None, api_url=event.api_url,
        )  # fmt: skip
        self._client = deps.github(probe)

    async def already_answered(self) -> bool:
        gh = self._client
        key = ("reply", f"c{self.event.comment_id}")
        if self.event.thread is None:
            return False  # a conversation comment: the job's dedupe key is the guard
        for c in await gh.list_review_comments(self.event.repository, self.event.number):
            if key in markers_in(c.get("body")) and await gh.is_own(c):
                return True
        return False

    async def root(self) -> dict[str, Any] | None:
        if self.event.thread is None:
            return None
        comment = await self._client.review_comment(self.event.repository, int(self.event.thread))
        own = markers_in(comment.get("body")) and await self._client.is_own(comment)
        return comment if own else None

    def place(self, root: dict[str, Any] | None) -> tuple[str, int | None]:
        if not root:
            return "", None
        line = root.get("line") or root.get("original_line")
        return str(root.get("path") or ""), line if isinstance(line, int) else None

    async def code(self, path: str, line: int) -> list[tuple[int, str]]:
        """The file at the commit the finding was posted on (the comment's ``commit_id``)."""
        root = await self.root()
        try:
            text = await self._client.file_at(self.event.repository, path, (root or {}).get("commit_id"))
        except IdentityError:
            return []  # no usable commit id: the answer goes without code
        return _around(text, line)

    async def reply(self, text: str) -> None:
        if self.event.thread is None:
            await self._client.comment(self.event.repository, self.event.number, self._body(text))
        else:
            await self._client.reply_in_thread(
                self.event.repository, self.event.number, int(self.event.thread), self._body(text)
            )


class _GitLabThread(_Thread):
    def __init__(self, event: CommentEvent, deps: ReviewDeps) -> None:
        super().__init__(event, deps)
        from hunkwise.platforms.gitlab import MergeRequestEvent

        probe = MergeRequestEvent(
            action="command", owner=event.owner, project_id=event.project_id or 0,
            project_path=event.repository, iid=event.number, head_sha="0" * 40, draft=False,
            api_url=event.api_url,
        )  # fmt: skip
        self._client = deps.gitlab(probe)
        self._discussion: dict[str, Any] | None = None

    async def _thread(self) -> dict[str, Any] | None:
        if self.event.thread is None:
            return None
        if self._discussion is None:
            self._discussion = await self._client.discussion(
                self.event.project_id, self.event.number, self.event.thread
            )
        return self._discussion

    async def already_answered(self) -> bool:
        discussion = await self._thread()
        key = ("reply", f"c{self.event.comment_id}")
        me = await self._client.own_user_id()
        for note in (discussion or {}).get("notes") or []:
            if key in markers_in(note.get("body")) and (note.get("author") or {}).get("id") == me:
                return True
        return False

    async def root(self) -> dict[str, Any] | None:
        discussion = await self._thread()
        notes = (discussion or {}).get("notes") or []
        if not notes:
            return None
        first = notes[0]
        me = await self._client.own_user_id()
        own = markers_in(first.get("body")) and (first.get("author") or {}).get("id") == me
        return first if own else None

    def place(self, root: dict[str, Any] | None) -> tuple[str, int | None]:
        position = (root or {}).get("position") or {}
        line = position.get("new_line")
        return str(position.get("new_path") or ""), line if isinstance(line, int) else None

    async def code(self, path: str, line: int) -> list[tuple[int, str]]:
        position = ((await self.root()) or {}).get("position") or {}
        head = position.get("head_sha")
        try:
            text = await self._client.file_at(self.event.project_id, path, head) if head else None
        except IdentityError:
            return []
        return _around(text, line)

    async def reply(self, text: str) -> None:
        if self.event.thread is None:
            await self._client.comment(self.event.project_id, self.event.number, self._body(text))
        else:
            await self._client.reply_in_thread(
                self.event.project_id, self.event.number, self.event.thread, self._body(text)
            )


def _around(text: str | None, line: int) -> list[tuple[int, str]]:
    if not text:
        return []
    lines = text.splitlines()
    lo, hi = max(1, line - CONTEXT_LINES), min(len(lines), line + CONTEXT_LINES)
    return [(n, lines[n - 1]) for n in range(lo, hi + 1)]
