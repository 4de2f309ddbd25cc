"""``@hunkwise`` commands in pull request conversations: which deliveries carry one, and what it says.

A command is a comment that mentions the bot's handle (``HUNKWISE_BOT_HANDLE``, default
``hunkwise``) on a pull request or merge request, in its conversation or in one of its review
threads:

- GitHub ``issue_comment`` (``created``) whose issue is a pull request (``issue.pull_request``; a
  comment on a plain issue does nothing), ``pull_request_review_comment`` (``created``);
- GitLab ``note`` events on a ``MergeRequest``.

``review`` asks for a review now; ``ignore`` (``ignore repo``) suppresses the thread's finding;
``explain`` or any other words are a question answered in the thread.

Everything in the delivery is untrusted: the repository, numbers and ids go through
:mod:`hunkwise.platforms.identity` before anything is built from them, and who may command is
asked of the platform (:meth:`GitHubClient.can_write`, :meth:`GitLabClient.can_write`), never
read from the payload (``author_association`` is advisory). The bot never answers itself: a
comment by its own login, by any ``[bot]`` account, or carrying a hunkwise marker is ignored.

Pure (no httpx), like :mod:`hunkwise.platforms.github_webhooks`.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any, Literal

from hunkwise.platforms import identity
from hunkwise.platforms.github_webhooks import WebhookPayloadError
from hunkwise.platforms.review_post import markers_in

Verb = Literal["review", "explain", "ignore", "ask"]
MAX_QUESTION_CHARS = 2000  # a question longer than this is cut (it goes into a model prompt)
GITHUB_COMMENT_EVENTS = frozenset({"issue_comment", "pull_request_review_comment"})


@dataclass(frozen=True, slots=True)
class Command:
    verb: Verb
    text: str = ""  # the question (``ask``/``explain``), or ``repo`` for ``ignore repo``

    @property
    def repository_wide(self) -> bool:
        return self.verb == "ignore" and self.text.lower() in ("repo", "repository")


def parse_command(body: str | None, handle: str) -> Command | None:
    """The command in ``body`` addressed to ``@handle`` (case-insensitive, not part of a longer
    login or an e-mail address), or None. Quoted lines (``>``) are not read: a reply quoting an
    earlier command does not repeat it."""
    if not body or not handle:
        return None
    lines = [line for line in body.splitlines() if not line.lstrip().startswith(">")]
    text = "\n".join(lines)
    found = re.search(rf"(?<![\w@.-])@{re.escape(handle)}(?![\w-])", text, re.IGNORECASE)
    if found is None:
        return None
    rest = text[found.end() :].strip()
    first, _, tail = rest.partition(" ")
    word = first.strip(".,:;!?").lower()
    if word in ("review", "ignore"):
        return Command(word, tail.strip().lower()[:40])  # type: ignore[arg-type]
    if word == "explain" or not rest:
        return Command("explain", rest[:MAX_QUESTION_CHARS])
    return Command("ask", rest[:MAX_QUESTION_CHARS])


@dataclass(frozen=True, slots=True)
class CommentEvent:
    """A comment that may carry a command, validated. ``thread``: where to answer (GitHub: the
    id of the thread's first review comment; GitLab: the discussion id); None: the pull
    request's conversation. ``author_id``: the platform's user id (GitLab asks membership by
    it), ``author``: the login/username."""

    platform: Literal["github", "gitlab"]
    owner: str
    repository: str  # GitHub owner/name, GitLab group/project path
    number: int  # pull request number / merge request iid
    comment_id: int
    author: str
    author_id: int
    body: str
    thread: str | None = None
    project_id: int | None = None  # GitLab
    api_url: str = ""

    def __post_init__(self) -> None:
        if self.platform == "github":
            identity.github_repository(self.repository, "repository.full_name")
        else:
            identity.gitlab_path(self.repository, "project.path_with_namespace")
            identity.positive_int(self.project_id, "project.id", maximum=identity.MAX_ID)
        if identity.owner_of(self.repository) != self.owner:
            raise identity.IdentityError("owner", self.owner, f"is not the owner of {self.repository!r}")
        identity.positive_int(self.number, "number")
        identity.positive_int(self.comment_id, "comment.id", maximum=identity.MAX_ID)
        identity.positive_int(self.author_id, "user.id", maximum=identity.MAX_ID)

    @property
    def pull_key(self) -> str:
        """One pull request, for the per-PR rate limit."""
        return f"{self.platform}:{self.repository}#{self.number}"

    @property
    def dedupe_key(self) -> str:
        """One job per comment, however often it is delivered."""
        return f"{self.platform}:{self.repository}#{self.number}:comment-{self.comment_id}"

    def as_payload(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_payload(cls, data: dict[str, Any]) -> CommentEvent:
        return cls(**{k: data.get(k) for k in cls.__slots__})  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class CommentDecision:
    kind: Literal["command", "ignore"]
    reason: str = ""
    event: CommentEvent | None = None
    command: Command | None = None


def _ignore(reason: str) -> CommentDecision:
    return CommentDecision("ignore", reason)


def is_bot_author(login: str, user_type: str | None, bot_login: str | None) -> bool:
    """Whether a comment's author is a bot we must not answer: the configured bot login, any
    ``[bot]`` account (GitHub Apps, ours included), or a user of type ``Bot``."""
    if bot_login and login.lower() == bot_login.lower():
        return True
    return login.endswith("[bot]") or user_type == "Bot"


def classify_github(
    event_name: str | None,
    payload: dict[str, Any],
    *,
    handle: str,
    api_url: str,
    bot_login: str | None = None,
) -> CommentDecision:
    """What a GitHub comment delivery asks of us. Raises :class:`IdentityError` for a command
    whose repository, numbers or ids are not acceptable."""
    if event_name not in GITHUB_COMMENT_EVENTS:
        return _ignore(f"event {event_name or '(none)'} carries no command")
    if payload.get("action") != "created":
        return _ignore(f"{event_name} action {payload.get('action') or '(none)'} carries no command")
    comment = payload.get("comment")
    repo = payload.get("repository")
    if not isinstance(comment, dict) or not isinstance(repo, dict):
        raise WebhookPayloadError("the payload has no comment or repository object")
    if event_name == "issue_comment":
        issue = payload.get("issue")
        if not isinstance(issue, dict) or not issue.get("pull_request"):
            return _ignore("a comment on an issue, not on a pull request: no command")
        number, thread = issue.get("number"), None
    else:
        pr = payload.get("pull_request")
        number = pr.get("number") if isinstance(pr, dict) else None
        root = comment.get("in_reply_to_id") or comment.get("id")
        thread = str(identity.positive_int(root, "comment.in_reply_to_id", maximum=identity.MAX_ID))
    user = comment.get("user") if isinstance(comment.get("user"), dict) else {}
    login = str(user.get("login") or "")
    body = str(comment.get("body") or "")
    if is_bot_author(login, user.get("type"), bot_login) or markers_in(body):
        return _ignore(f"comment by {identity.shown(login)} is the bot's own (or a bot's): never answered")
    command = parse_command(body, handle)
    if command is None:
        return _ignore(f"no @{handle} command")
    full_name = repo.get("full_name")
    owner, _ = identity.github_repository(full_name, "repository.full_name")
    _same_host(comment.get("url"), api_url)
    event = CommentEvent(
        platform="github",
        owner=owner,
        repository=str(full_name),
        number=identity.positive_int(number, "issue.number"),
        comment_id=comment.get("id"),  # type: ignore[arg-type]
        author=identity.github_owner(login, "comment.user.login"),
        author_id=user.get("id"),  # type: ignore[arg-type]
        body=body[: MAX_QUESTION_CHARS * 2],
        thread=thread,
        api_url=api_url,
    )
    return CommentDecision("command", command.verb, event, command)


def classify_gitlab(
    payload: dict[str, Any], *, handle: str, api_url: str, own_user_id: int | None = None
) -> CommentDecision:
    """What a GitLab note event asks of us (notes on merge requests only)."""
    if payload.get("object_kind") != "note":
        return _ignore(f"event {payload.get('object_kind') or '(none)'} carries no command")
    attrs = payload.get("object_attributes")
    project = payload.get("project")
    if not isinstance(attrs, dict) or not isinstance(project, dict):
        raise WebhookPayloadError("the payload has no object_attributes or project object")
    if attrs.get("noteable_type") != "MergeRequest":
        return _ignore(
            f"a note on a {attrs.get('noteable_type') or '(none)'}, not a merge request: no command"
        )
    mr = payload.get("merge_request")
    user = payload.get("user") if isinstance(payload.get("user"), dict) else {}
    body = str(attrs.get("note") or "")
    username = str(user.get("username") or "")
    if own_user_id is not None and user.get("id") == own_user_id:
        return _ignore(f"note by {identity.shown(username)} is the bot's own: never answered")
    if markers_in(body):
        return _ignore("a note carrying a hunkwise marker is the bot's own: never answered")
    command = parse_command(body, handle)
    if command is None:
        return _ignore(f"no @{handle} command")
    path = identity.gitlab_path(project.get("path_with_namespace"), "project.path_with_namespace")
    discussion = attrs.get("discussion_id")
    event = CommentEvent(
        platform="gitlab",
        owner=identity.owner_of(path),
        repository=path,
        number=identity.positive_int(mr.get("iid") if isinstance(mr, dict) else None, "merge_request.iid"),
        comment_id=attrs.get("id"),  # type: ignore[arg-type]
        author=username,
        author_id=user.get("id"),  # type: ignore[arg-type]
        body=body[: MAX_QUESTION_CHARS * 2],
        thread=str(discussion) if isinstance(discussion, str) and discussion.isalnum() else None,
        project_id=project.get("id"),  # type: ignore[arg-type]
        api_url=api_url,
    )
    return CommentDecision("command", command.verb, event, command)


def _same_host(url: Any, api_url: str) -> None:
    """A comment whose API url is on another host than the configured one is refused."""
    from urllib.parse import urlsplit

    if not isinstance(url, str) or not url:
        return
    if urlsplit(url).netloc.lower() != urlsplit(api_url).netloc.lower():
        raise WebhookPayloadError(
            f"comment.url is on {identity.shown(urlsplit(url).netloc)}, not on the configured GitHub API host"
        )
