"""Remote inputs for ``hunkwise review``: a pull request in GitHub Actions (``--github``), or any
GitHub pull request / GitLab merge request URL (``--pr``), and posting the review back.

The diff always comes from the platform's REST API, never from the local checkout: CI clones
are usually shallow, and the API's diff is exactly what reviewers see on the pull request. The
post is built by :func:`hunkwise.jobs.posting.build_post` with the same fingerprint the review
server uses, so a re-run job, a second ``--post``, or the server reviewing the same head never
posts a duplicate.

Before a review that will be posted, the pull request is checked for hunkwise's review of its head
commit: a re-run finds it and exits 0 ("already reviewed <sha>; nothing to do") without calling a
model, and so does an Actions event that is not reviewed (``closed``, ``labeled``, ...).

Exit codes (see ``docs/ci.md``): a bad event, URL or token is a usage error (2); the platform
being down or rate limiting while fetching is an incomplete review (3); a review that could not
be posted is 3 as well: the report was printed, but it did not reach the pull request.
"""

from __future__ import annotations

import asyncio
import json
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal
from urllib.parse import urlsplit

import typer

from hunkwise.errors import HunkwiseError, TransientError

if TYPE_CHECKING:
    import httpx

    from hunkwise.config.settings import Settings
    from hunkwise.gateway import Secret
    from hunkwise.platforms.github import GitHubClient
    from hunkwise.platforms.gitlab import GitLabClient
    from hunkwise.platforms.local_git import LocalChange
    from hunkwise.platforms.review_post import PostResult
    from hunkwise.platforms.status import CommitState
    from hunkwise.review.report import ReviewReport

Platform = Literal["github", "gitlab"]
PR_SHAPES = (
    "https://github.com/OWNER/REPO/pull/N (or a GitHub Enterprise host) or "
    "https://gitlab.com/GROUP/PROJECT/-/merge_requests/N (or a self-hosted GitLab)"
)
PR_EVENTS = ("pull_request", "pull_request_target")
_GITHUB_PATH = re.compile(r"^/([^/]+)/([^/]+)/pulls?/(\d+)(?:/.*)?$")
_GITLAB_PATH = re.compile(r"^/(.+?)/-/merge_requests/(\d+)(?:/.*)?$")


class NothingToDo(Exception):
    """The run has nothing to review: a closed pull request's event, a head already reviewed and
    posted. The CLI prints the message (one line) and exits 0 without calling a model."""


class RemoteError(HunkwiseError):
    """A remote input or post failed; ``code`` is the exit code (2 fix something, 3 retry)."""

    def __init__(self, message: str, code: int = 2) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True, slots=True)
class RemoteTarget:
    """One pull request or merge request, and how to reach its API. ``repository`` is
    ``owner/name`` on GitHub, the full ``group/sub/project`` path on GitLab."""

    platform: Platform
    repository: str
    number: int
    api_url: str
    token: Secret | None = field(default=None, repr=False)
    head_sha: str | None = None  # known from an Actions event; fetched for a URL
    action: str = ""  # the Actions event's action ("synchronize" reviews only new commits)
    transport: httpx.AsyncBaseTransport | None = field(default=None, repr=False, compare=False)

    @property
    def label(self) -> str:
        sep = "#" if self.platform == "github" else "!"
        return f"{self.platform} {self.repository}{sep}{self.number}"

    def github(self) -> GitHubClient:
        from hunkwise.platforms.github import GitHubClient

        return GitHubClient(self.token, self.api_url, transport=self.transport)

    def gitlab(self) -> GitLabClient:
        from hunkwise.platforms.gitlab import GitLabClient

        return GitLabClient(self.token, self.api_url, transport=self.transport)


@dataclass(frozen=True, slots=True)
class RemoteChange:
    """What was fetched: the diff as a change the review command reads, plus what posting needs."""

    target: RemoteTarget
    change: LocalChange
    head_sha: str
    since: str | None = None  # an incremental review covers the commits after this head
    diff_refs: dict[str, str] = field(default_factory=dict)  # GitLab positions

    def change_dict(self) -> dict[str, object]:
        """The report's ``change`` block: the same keys the review server's jobs record."""
        t = self.target
        out: dict[str, object] = {
            "platform": t.platform,
            "repository": t.repository,
            "number": t.number,
            "head_sha": self.head_sha,
            "summary": self.change.description.summary,
        }
        if self.since:
            out["since"] = self.since
        return out


# -- where ------------------------------------------------------------------------------------------
def github_actions_target(api_url: str | None, settings: Settings) -> RemoteTarget:
    """The pull request of the running GitHub Actions job, from ``GITHUB_EVENT_PATH``."""
    from hunkwise.config.outbound import platform_transport
    from hunkwise.platforms.github_webhooks import REVIEW_ACTIONS, WebhookPayloadError, parse_pull_request
    from hunkwise.platforms.identity import IdentityError, github_repository

    name = settings.github_event_name or ""
    if name and name not in PR_EVENTS:
        raise RemoteError(
            f"--github reviews pull requests, but this job runs on a {name!r} event; trigger the "
            "workflow with 'on: pull_request' (or pass --pr URL)"
        )
    path = settings.github_event_path or ""
    if not path:
        raise RemoteError(
            "--github needs GITHUB_EVENT_PATH (set by GitHub Actions); outside Actions use --pr URL"
        )
    try:
        with open(path, encoding="utf-8") as fh:
            payload = json.load(fh)
    except OSError as exc:
        raise RemoteError(f"cannot read GITHUB_EVENT_PATH {path}: {exc.strerror or exc}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RemoteError(f"GITHUB_EVENT_PATH {path} is not a JSON event payload ({exc})") from None
    if not isinstance(payload, dict) or not isinstance(payload.get("pull_request"), dict):
        raise RemoteError(
            f"GITHUB_EVENT_PATH {path} is not a pull_request event (no pull_request object); "
            "trigger the workflow with 'on: pull_request'"
        )
    try:
        event = parse_pull_request(payload)
    except (WebhookPayloadError, IdentityError) as exc:
        raise RemoteError(f"GITHUB_EVENT_PATH {path}: {exc}") from None
    if event.action not in REVIEW_ACTIONS:
        action, reviewed = event.action or "(none)", ", ".join(sorted(REVIEW_ACTIONS))
        raise NothingToDo(f"pull_request action {action!r} is not reviewed (only {reviewed}); nothing to do")
    token = settings.github_token
    if token is None:
        raise RemoteError(
            "--github needs a token: add 'env: GITHUB_TOKEN: ${{ secrets.GITHUB_TOKEN }}' to the step "
            "(or set HUNKWISE_GITHUB_TOKEN)"
        )
    repository = settings.github_repository or event.repository
    try:
        github_repository(repository, "GITHUB_REPOSITORY")
    except IdentityError as exc:
        raise RemoteError(str(exc)) from None
    base = api_url or settings.github_api_url or event.api_url
    return RemoteTarget(
        "github", repository, event.number, base, token, head_sha=event.head_sha, action=event.action,
        transport=platform_transport(settings.network, base),
    )  # fmt: skip


def target_from_url(url: str, api_url: str | None, *, post: bool, settings: Settings) -> RemoteTarget:
    """A pull request or merge request from its web URL. The shape decides the platform, so
    GitHub Enterprise and self-hosted GitLab hosts work without configuration. The owner,
    repository or project path must be one as the platform spells it (the clients build API URLs
    from these parts only): an encoded or dotted segment is refused, not decoded."""
    from hunkwise.config.outbound import platform_transport
    from hunkwise.platforms import identity

    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise RemoteError(f"--pr expects {PR_SHAPES}; got {url!r}")
    origin = f"{parts.scheme}://{parts.netloc}"
    path = parts.path.rstrip("/")
    try:
        if m := _GITLAB_PATH.match(path):
            platform: Platform = "gitlab"
            repository = identity.gitlab_path(m.group(1), "the project path in the URL")
            number = identity.positive_int(int(m.group(2)), "the merge request number in the URL")
        elif m := _GITHUB_PATH.match(path):
            platform = "github"
            owner = identity.github_owner(m.group(1), "the owner in the URL")
            name = identity.github_repo_name(m.group(2), "the repository in the URL")
            repository = f"{owner}/{name}"
            number = identity.positive_int(int(m.group(3)), "the pull request number in the URL")
        else:
            raise RemoteError(f"--pr expects {PR_SHAPES}; got {identity.shown(url)}")
    except identity.IdentityError as exc:
        raise RemoteError(f"--pr: {exc}") from None
    if platform == "gitlab":
        default_api = f"{origin}/api/v4"
    else:
        host = (parts.hostname or "").lower()
        public = host in ("github.com", "www.github.com")
        default_api = "https://api.github.com" if public else f"{origin}/api/v3"
    token = settings.github_token if platform == "github" else settings.gitlab_token
    if token is None and post:
        names = _token_envs(platform)
        raise RemoteError(f"--post needs a token with write access: set {names[1]} (or {names[0]})")
    base = api_url or default_api
    return RemoteTarget(
        platform, repository, number, base, token, transport=platform_transport(settings.network, base)
    )


def _token_envs(platform: Platform) -> tuple[str, ...]:
    from hunkwise.platforms import github, gitlab

    return github.TOKEN_ENVS if platform == "github" else gitlab.TOKEN_ENVS


# -- fetch ------------------------------------------------------------------------------------------
def fetch(target: RemoteTarget, *, unless_posted: bool = False) -> RemoteChange:
    """The diff to review, through the platform's API (one thin sync entry for the CLI).

    ``unless_posted``: first look for hunkwise's review of this head on the pull request, and
    raise :class:`NothingToDo` when it is there, so a re-run costs API reads, not a review."""
    try:
        return asyncio.run(_fetch(target, unless_posted))
    except NothingToDo:
        raise
    except Exception as exc:
        raise _platform_error(exc, f"cannot fetch {target.label}") from None


def _already_reviewed(target: RemoteTarget, head: str) -> NothingToDo:
    return NothingToDo(f"already reviewed {head[:12]} on {target.label}; nothing to do")


async def _fetch(target: RemoteTarget, unless_posted: bool) -> RemoteChange:
    from hunkwise.platforms.review_post import review_key

    if target.platform == "gitlab":
        async with target.gitlab() as gl:
            diff, refs = await gl.merge_request_diff(target.repository, target.number)
            key = review_key("gitlab", target.repository, target.number, refs["head_sha"])
            if unless_posted and ("review", key) in await gl.existing_markers(
                target.repository, target.number
            ):
                raise _already_reviewed(target, refs["head_sha"])
        return _remote(target, diff, refs["head_sha"], diff_refs=refs)
    async with target.github() as gh:
        head = target.head_sha
        if head is None:
            pull = await gh.pull_request(target.repository, target.number)
            head = str((pull.get("head") or {}).get("sha") or "")
            if not head:
                raise RemoteError(f"GitHub did not report the head commit of {target.label}", 3)
        key = review_key("github", target.repository, target.number, head)
        if unless_posted and await gh.find_review(target.repository, target.number, key) is not None:
            raise _already_reviewed(target, head)
        diff, since = await gh.review_diff(
            target.repository, target.number, head, incremental=target.action == "synchronize"
        )
    return _remote(target, diff, head, since=since)


def _remote(
    target: RemoteTarget,
    diff: str,
    head: str,
    *,
    since: str | None = None,
    diff_refs: dict[str, str] | None = None,
) -> RemoteChange:
    from hunkwise.platforms.local_git import ChangeDescription, LocalChange

    scope = f"commits since {since[:7]}" if since else "whole change"
    summary = f"{target.label} at {head[:7]} ({scope})"
    description = ChangeDescription(kind="range", summary=summary, head_sha=head, base_sha=since)
    change = LocalChange(diff.encode("utf-8"), description)
    return RemoteChange(target, change, head, since, dict(diff_refs or {}))


# -- post -------------------------------------------------------------------------------------------
def post(remote: RemoteChange, report: ReviewReport, *, quiet: bool) -> PostResult:
    """Post the review once (idempotent: an existing fingerprint means nothing new is posted).
    Without a database, what was posted on earlier pushes is read back from hunkwise's own
    comments (their hidden fingerprints, their threads' resolution), so a finding is not posted
    twice and a resolved thread not reopened, exactly as the review server decides."""
    from hunkwise.jobs.conversation import PostingInputs, merge_prior
    from hunkwise.jobs.posting import build_post
    from hunkwise.platforms.review_post import PriorThread, ReviewPost

    t = remote.target

    def build(threads: list[PriorThread]) -> ReviewPost:
        return build_post(
            report,
            platform=t.platform,
            repository=t.repository,
            number=t.number,
            head_sha=remote.head_sha,
            since=remote.since,
            diff=remote.change.diff,
            inputs=PostingInputs(prior=merge_prior(threads)),
        )

    async def send() -> PostResult:
        if t.platform == "gitlab":
            async with t.gitlab() as gl:
                review_post = build(await gl.prior_threads(t.repository, t.number))
                return await gl.post_review(t.repository, t.number, review_post, remote.diff_refs)
        async with t.github() as gh:
            review_post = build(await gh.prior_threads(t.repository, t.number))
            return await gh.post_review(t.repository, t.number, review_post)

    try:
        result = asyncio.run(send())
    except Exception as exc:
        raise _platform_error(exc, f"the review was not posted to {t.label}", always=3) from None
    if not quiet:
        typer.echo(_posted_line(t, result), err=True)
    return result


def set_status(remote: RemoteChange, state: CommitState) -> str:
    """Show ``state`` on the reviewed head (GitHub: a check run, else a commit status; GitLab:
    a commit status); returns which. :class:`RemoteError` when the platform refuses."""
    t = remote.target

    async def send() -> str:
        if t.platform == "gitlab":
            async with t.gitlab() as gl:
                return await gl.set_status(t.repository, remote.head_sha, state)
        async with t.github() as gh:
            return await gh.set_status(t.repository, remote.head_sha, state)

    try:
        return asyncio.run(send())
    except Exception as exc:
        raise _platform_error(exc, f"the {state.state} status was not set on {t.label}") from None


def _posted_line(t: RemoteTarget, result: PostResult) -> str:
    if not result.posted:
        return f"already posted on {t.label} at this head: nothing new posted"
    where = f" {result.url}" if result.url else ""
    folded = f", {result.folded} moved into the summary (lines outside the diff)" if result.folded else ""
    return f"posted the review to {t.label}{where}: {result.inline} inline comment(s){folded}"


def _platform_error(exc: Exception, what: str, *, always: int | None = None) -> RemoteError:
    """A platform failure -> one line. Transient ones (rate limits, 5xx, network) are an
    incomplete run (3); a refused token or unknown pull request needs a fix (2)."""
    from hunkwise.platforms.review_post import PlatformError

    if isinstance(exc, RemoteError):
        return exc
    if isinstance(exc, (ValueError, KeyError)):  # a proxy or an API version we do not understand
        return RemoteError(f"{what}: unexpected answer ({type(exc).__name__}: {exc})"[:400], 3)
    if not isinstance(exc, PlatformError):
        raise exc
    code = always if always is not None else (3 if isinstance(exc, TransientError) else 2)
    return RemoteError(f"{what}: {exc}", code)


def should_post(report: ReviewReport) -> str | None:
    """Why a finished review is not worth posting (``None``: post it)."""
    if report.dry_run:
        return "a dry run posts nothing"
    if report.plan and len(report.failed_chunks) == len(report.plan):
        return "no part of the change could be reviewed"
    return None
