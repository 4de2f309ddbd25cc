"""Gitea and Forgejo webhook deliveries: the signature and the ``pull_request`` payload.

Forgejo is a fork of Gitea that kept its webhook format and API: a Forgejo instance sends every
``X-Gitea-*`` header beside its own ``X-Forgejo-*`` ones, so one parser serves both (and Codeberg,
which runs Forgejo). Pure like :mod:`hunkwise.platforms.github_webhooks`: bytes and headers in, a
plain value out, no httpx.

What Gitea sends (``modules/structs/hook.go`` ``PullRequestPayload`` and the webhook sender,
``services/webhook/deliver.go``):

- ``X-Gitea-Signature`` (Forgejo also ``X-Forgejo-Signature``): the HMAC-SHA256 of the raw body
  with the webhook's secret, as bare lower-case hex (no ``sha256=`` prefix);
- ``X-Gitea-Event: pull_request`` for a pull request opened, reopened, edited, closed or pushed
  to (``X-Gitea-Event-Type`` says ``pull_request_sync`` for a push), and ``X-Gitea-Delivery``, a
  UUID per delivery;
- ``action``: ``opened``, ``reopened``, ``synchronized`` (new commits: Gitea's word, not GitHub's
  ``synchronize``), ``edited``, ``closed``, ``assigned``, ``label_updated``, ...;
- a draft is a title starting with ``WIP:`` or ``[WIP]`` (Gitea's default
  ``WORK_IN_PROGRESS_PREFIXES``, compared case-insensitively); newer releases also send
  ``pull_request.draft``. Removing the prefix is an ``edited`` delivery whose
  ``changes.title.from`` had it: the pull request is reviewed then, as "ready".
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlsplit

from hunkwise.errors import PermanentError
from hunkwise.platforms import identity
from hunkwise.platforms.identity import IdentityError

SIGNATURE_HEADERS = ("X-Gitea-Signature", "X-Forgejo-Signature")
EVENT_HEADERS = ("X-Gitea-Event", "X-Forgejo-Event")
DELIVERY_HEADERS = ("X-Gitea-Delivery", "X-Forgejo-Delivery")
SECRET_ENV = "HUNKWISE_GITEA_WEBHOOK_SECRET"
URL_ENV = "HUNKWISE_GITEA_URL"
TOKEN_ENV = "HUNKWISE_GITEA_TOKEN"

REVIEW_ACTIONS = frozenset({"opened", "reopened", "synchronized"})
READY = "ready_for_review"  # an edited title that lost its WIP prefix (the scheduling vocabulary's word)
WIP_PREFIXES = ("WIP:", "[WIP]")


class GiteaPayloadError(PermanentError, ValueError):
    """A delivery we would act on lacks a field, or names another host; the message says which."""


def header(headers: Mapping[str, str], names: tuple[str, ...]) -> str:
    """The first of ``names`` present in ``headers`` (Gitea's, then Forgejo's), or ``""``."""
    for name in names:
        value = headers.get(name)
        if value:
            return value
    return ""


def sign(secret: str, body: bytes) -> str:
    """What Gitea puts in ``X-Gitea-Signature`` for ``body`` (tests sign with it, too)."""
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify_signature(secret: str, body: bytes, headers: Mapping[str, str]) -> bool:
    """Constant-time check of ``X-Gitea-Signature`` or ``X-Forgejo-Signature`` (either one valid
    is enough: Forgejo sends both, with the same value). An unconfigured secret verifies nothing."""
    if not secret:
        return False
    expected = sign(secret, body).encode()
    for name in SIGNATURE_HEADERS:
        given = headers.get(name)
        if given and hmac.compare_digest(expected, given.strip().lower().encode()):
            return True
    return False


def is_wip(title: object) -> bool:
    """Whether a title marks a draft the way Gitea's default settings do."""
    return isinstance(title, str) and title.strip().upper().startswith(WIP_PREFIXES)


def web_root(url: str) -> str:
    """The configured instance's web URL, normalised (``https://codeberg.org``)."""
    return url.strip().rstrip("/")


def api_root(url: str) -> str:
    """The REST API root of the instance at ``url``: ``<url>/api/v1``."""
    return web_root(url) + "/api/v1"


@dataclass(frozen=True, slots=True)
class GiteaPullRequestEvent:
    """What a review job needs from a Gitea or Forgejo ``pull_request`` delivery."""

    action: str  # opened | reopened | synchronized | ready_for_review
    owner: str  # the repository's owner (user or organization): the hunkwise organization
    repository: str  # "owner/name"
    number: int  # the pull request's index
    head_sha: str
    draft: bool
    api_url: str  # the configured API root (the delivery's host must be the configured one)

    def __post_init__(self) -> None:
        """Checked however the event was made, from a delivery or read back from a job row, before
        any URL is built from it. Raises :class:`IdentityError` naming the field."""
        owner, _ = identity.gitea_repository(self.repository, "repository")
        if owner != self.owner:
            raise IdentityError("owner", self.owner, f"is not the owner of repository {self.repository!r}")
        identity.positive_int(self.number, "number")
        identity.commit_sha(self.head_sha, "head_sha")

    @property
    def dedupe_key(self) -> str:
        """One review per pull request head."""
        return f"gitea:{self.repository}#{self.number}@{self.head_sha}"

    def as_payload(self) -> dict[str, Any]:
        return {"platform": "gitea", **{k: getattr(self, k) for k in self.__slots__}}  # type: ignore[attr-defined]

    @classmethod
    def from_payload(cls, data: dict[str, Any]) -> GiteaPullRequestEvent:
        return cls(**{k: data.get(k) for k in cls.__slots__})  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class GiteaDecision:
    kind: Literal["review", "ignore"]
    reason: str = ""
    event: GiteaPullRequestEvent | None = None


def _ready(payload: dict[str, Any], title: object) -> bool:
    """An ``edited`` delivery whose title lost its WIP prefix: the draft became ready."""
    changes = payload.get("changes")
    before = changes.get("title") if isinstance(changes, dict) else None
    return isinstance(before, dict) and is_wip(before.get("from")) and not is_wip(title)


def classify(event_name: str | None, payload: dict[str, Any], *, web_url: str) -> GiteaDecision:
    """Review, or ignore with the reason. ``web_url``: the configured instance
    (``HUNKWISE_GITEA_URL``); a delivery whose ``repository.html_url`` is elsewhere is refused
    (:class:`GiteaPayloadError`), so a delivery signed with the shared secret cannot send the
    server's token to another host. A repository, number or commit that is not one raises
    :class:`IdentityError` naming the field."""
    if event_name != "pull_request":
        return GiteaDecision("ignore", f"event {event_name or '(none)'} is not reviewed")
    action = str(payload.get("action") or "")
    pr = payload.get("pull_request")
    repo = payload.get("repository")
    if not isinstance(pr, dict) or not isinstance(repo, dict):
        raise GiteaPayloadError("the payload has no pull_request or repository object")
    title = pr.get("title")
    if action == "edited" and _ready(payload, title):
        action = READY
    elif action not in REVIEW_ACTIONS:
        return GiteaDecision("ignore", f"pull_request action {action or '(none)'} is not reviewed")
    if pr.get("state") not in (None, "open"):
        return GiteaDecision("ignore", f"the pull request is {pr.get('state')}")
    head = pr.get("head")
    fields = {
        "repository.full_name": repo.get("full_name"),
        "number": payload.get("number") if payload.get("number") is not None else pr.get("number"),
        "pull_request.head.sha": head.get("sha") if isinstance(head, dict) else None,
        "repository.html_url": repo.get("html_url"),
    }
    for name, value in fields.items():  # absent: unreadable (400); present but wrong: IdentityError
        if value is None or value == "":
            raise GiteaPayloadError(f"the payload has no {name}")
    owner, name = identity.gitea_repository(fields["repository.full_name"], "repository.full_name")
    login = repo.get("owner", {}).get("login") if isinstance(repo.get("owner"), dict) else None
    if login is not None and str(login).lower() != owner.lower():
        raise IdentityError(
            "repository.full_name",
            fields["repository.full_name"],
            f"is not owned by repository.owner.login {login!r}",
        )
    number = identity.positive_int(fields["number"], "number")
    sha = identity.commit_sha(fields["pull_request.head.sha"], "pull_request.head.sha")
    _same_instance(str(fields["repository.html_url"]), web_url)
    event = GiteaPullRequestEvent(
        action=action,
        owner=owner,
        repository=f"{owner}/{name}",
        number=number,
        head_sha=sha,
        draft=bool(pr.get("draft")) or is_wip(title),
        api_url=api_root(web_url),
    )
    if event.draft:
        return GiteaDecision("ignore", "draft (WIP) pull requests are reviewed when marked ready", event)
    return GiteaDecision("review", action, event)


def _same_instance(html_url: str, web_url: str) -> None:
    """``repository.html_url`` must be on the configured instance: same host (and port), under
    its path when Gitea is served below one (``https://example.com/git``)."""
    got, want = urlsplit(html_url), urlsplit(web_root(web_url))
    inside = (got.path.rstrip("/") + "/").startswith(want.path.rstrip("/") + "/")
    if got.netloc.lower() != want.netloc.lower() or not inside:
        raise GiteaPayloadError(
            f"repository.html_url is on {identity.shown(got.netloc or html_url)}, not on the configured "
            f"Gitea instance {web_root(web_url)!r} (set {URL_ENV} to the instance this webhook comes from)"
        )
