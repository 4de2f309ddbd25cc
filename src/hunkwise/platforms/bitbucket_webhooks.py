"""Bitbucket Cloud webhook deliveries: the ``X-Hub-Signature`` check and ``pullrequest:*``
payload parsing.

Kept apart from the REST client (:mod:`hunkwise.platforms.bitbucket`), like GitHub's
:mod:`~hunkwise.platforms.github_webhooks`: bytes and headers in, a plain value out, testable on
the documented payloads. Bitbucket signs a delivery with HMAC-SHA256 of the raw body and the
webhook's secret (``X-Hub-Signature: sha256=<hex>``), names the event in ``X-Event-Key`` and the
delivery in ``X-Request-UUID``.

Bitbucket's pull request objects abbreviate commits (12 hexadecimal digits), so an event carries
the commit as the delivery named it; the job looks up the full id before it posts anything
(:meth:`hunkwise.platforms.bitbucket.BitbucketPullRequest.verify`).
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlsplit

from hunkwise.errors import PermanentError
from hunkwise.platforms import identity
from hunkwise.platforms.identity import IdentityError

SIGNATURE_HEADER = "X-Hub-Signature"
EVENT_HEADER = "X-Event-Key"
DELIVERY_HEADER = "X-Request-UUID"
SECRET_ENV = "HUNKWISE_BITBUCKET_WEBHOOK_SECRET"
# The API root the server talks to when none is configured; never taken from a delivery.
DEFAULT_API_URL = "https://api.bitbucket.org/2.0"
# The event keys that change what there is to review, and the action each is (for the job's
# priority: hunkwise.config.scheduling). ``pullrequest:updated`` also fires for a new title or
# description: the job's dedupe key (one review per head) makes that a duplicate.
REVIEW_EVENTS = {"pullrequest:created": "opened", "pullrequest:updated": "updated"}
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
