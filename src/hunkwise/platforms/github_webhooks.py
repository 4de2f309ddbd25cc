"""GitHub webhook deliveries: signature check, ``pull_request`` and App installation payload parsing.

Kept apart from the REST client so the webhook route can verify and classify a delivery without
importing httpx, and so the parsing is testable on GitHub's own example payloads. Everything here
is pure: bytes and headers in, a plain value out.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlsplit

from hunkwise.errors import PermanentError
from hunkwise.platforms import identity
from hunkwise.platforms.identity import IdentityError

SIGNATURE_HEADER = "X-Hub-Signature-256"
EVENT_HEADER = "X-GitHub-Event"
DELIVERY_HEADER = "X-GitHub-Delivery"
SECRET_ENV = "HUNKWISE_GITHUB_WEBHOOK_SECRET"
# The API root the server talks to when none is configured. Never taken from a delivery: anyone
# holding the (shared) webhook secret could otherwise point the server, and its token, at any host.
DEFAULT_API_URL = "https://api.github.com"

# The pull_request actions that change what there is to review. Everything else (labels,
# assignments, closing) is acknowledged and ignored.
REVIEW_ACTIONS = frozenset({"opened", "synchronize", "reopened", "ready_for_review"})


class WebhookPayloadError(PermanentError, ValueError):
    """The delivery is not valid JSON or lacks a field we need; the message names it. (A field
    that is there but not an acceptable identity raises :class:`IdentityError` instead.)"""


@dataclass(frozen=True, slots=True)
class PullRequestEvent:
    """What a review job needs from a ``pull_request`` delivery, nothing else."""

    action: str
    owner: str  # the repository owner's login: maps to the hunkwise organization
    repository: str  # "owner/name"
    number: int
    head_sha: str
    base_sha: str
    draft: bool
    installation_id: int | None
    api_url: str  # the configured API root (the payload's must be on the same host)
    html_url: str = ""
    before_sha: str | None = None  # synchronize: the head before the push

    def __post_init__(self) -> None:
        """Every event is checked, however it was made: parsed from a delivery, or read back from
        a job row (one stored before identities were validated, or by a future code path) right
        before its URLs are built. Raises :class:`IdentityError`."""
        owner, _ = identity.github_repository(self.repository, "repository")
        if owner != self.owner:
            raise IdentityError("owner", self.owner, f"is not the owner of repository {self.repository!r}")
        identity.positive_int(self.number, "number")
        identity.commit_sha(self.head_sha, "head_sha")
        identity.commit_sha(self.base_sha, "base_sha")
        if self.before_sha is not None:
            identity.commit_sha(self.before_sha, "before_sha")
        if self.installation_id is not None:
            identity.positive_int(self.installation_id, "installation_id", maximum=identity.MAX_ID)

    @property
    def dedupe_key(self) -> str:
        """One review per pull request head, whichever delivery announced it."""
        return f"github:{self.repository}#{self.number}@{self.head_sha}"

    def as_payload(self) -> dict[str, Any]:
        """The JSON a review job stores (plain values only)."""
        return {
            "platform": "github",
            "action": self.action,
            "owner": self.owner,
            "repository": self.repository,
            "number": self.number,
            "head_sha": self.head_sha,
            "base_sha": self.base_sha,
            "draft": self.draft,
            "installation_id": self.installation_id,
            "api_url": self.api_url,
            "html_url": self.html_url,
            "before_sha": self.before_sha,
        }

    @classmethod
    def from_payload(cls, data: dict[str, Any]) -> PullRequestEvent:
        fields = {k: data.get(k) for k in cls.__slots__}  # type: ignore[attr-defined]
        return cls(**fields)


@dataclass(frozen=True, slots=True)
class Decision:
    """What to do with a delivery: ``review`` it, answer a ``ping``, or ``ignore`` it (and why)."""

    kind: Literal["review", "ping", "ignore"]
    reason: str = ""
    event: PullRequestEvent | None = None


def sign(secret: str, body: bytes) -> str:
    """The header value GitHub sends for ``body``: ``sha256=<hex hmac>`` (used by tests, too)."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify_signature(secret: str, body: bytes, header: str | None) -> bool:
    """Constant-time check of ``X-Hub-Signature-256``. A missing secret verifies nothing: an
    unconfigured server must not accept unsigned deliveries."""
    if not secret or not header or not header.startswith("sha256="):
        return False
    return hmac.compare_digest(sign(secret, body).encode(), header.strip().encode())


def parse_json(body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise WebhookPayloadError(f"the body is not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise WebhookPayloadError("the body must be a JSON object")
    return data


def configured_api_url(configured: str | None) -> str:
    """The GitHub API root this server uses: the configured one (``HUNKWISE_GITHUB_API_URL``,
    else ``GITHUB_API_URL``, read by the settings), else ``https://api.github.com``."""
    return configured.strip().rstrip("/") if configured and configured.strip() else DEFAULT_API_URL


def classify(event_name: str | None, payload: dict[str, Any], *, api_url: str = DEFAULT_API_URL) -> Decision:
    """Decide what a delivery asks of us. Raises only for a ``pull_request`` event we would act
    on: :class:`WebhookPayloadError` when we cannot read it or its API host is not ``api_url`` (the
    configured root), :class:`IdentityError` when its owner, repository, number or commits are
    not acceptable (see :func:`parse_pull_request`)."""
    if event_name == "ping":
        return Decision("ping", "pong")
    if event_name != "pull_request":
        return Decision("ignore", f"event {event_name or '(none)'} is not reviewed")
    action = str(payload.get("action") or "")
    if action not in REVIEW_ACTIONS:
        return Decision("ignore", f"pull_request action {action or '(none)'} is not reviewed")
    event = parse_pull_request(payload, api_url=api_url)
    if event.draft:
        return Decision("ignore", "draft pull requests are reviewed when marked ready", event)
    return Decision("review", action, event)


def parse_pull_request(payload: dict[str, Any], *, api_url: str | None = None) -> PullRequestEvent:
    """The event of a ``pull_request`` payload. ``api_url``: the configured API root; a payload
    whose ``pull_request.url`` is on another host is refused, and the event carries ``api_url``
    (never the payload's). None (the Actions event file written by the runner, trusted): the root
    is read from the payload.

    Raises :class:`WebhookPayloadError` for a missing object or field, :class:`IdentityError` for an
    owner, repository, number or commit that is not one: ``repository.full_name`` must be exactly
    ``repository.owner.login + "/" + repository.name`` (case aside: logins are case-insensitive),
    each part a valid GitHub name, and the commits full hex ids."""
    pr = _obj(payload, "pull_request")
    repo = _obj(payload, "repository")
    owner = _obj(repo, "owner", where="repository.owner")
    head = _obj(pr, "head", where="pull_request.head")
    base = _obj(pr, "base", where="pull_request.base")
    installation = payload.get("installation")
    number = identity.positive_int(_field(payload, "number", "number", fallback=pr), "number")
    if pr.get("number") is not None and pr["number"] != number:
        raise IdentityError("pull_request.number", pr["number"], f"differs from number {number}")
    login = identity.github_owner(_field(owner, "login", "repository.owner.login"), "repository.owner.login")
    name = identity.github_repo_name(_field(repo, "name", "repository.name"), "repository.name")
    full_name = _field(repo, "full_name", "repository.full_name")
    if not isinstance(full_name, str) or full_name.lower() != f"{login}/{name}".lower():
        raise IdentityError(
            "repository.full_name",
            full_name,
            f"must be repository.owner.login + '/' + repository.name ({login}/{name})",
        )
    if api_url is None:
        root = _api_root(pr.get("url"))
    else:
        root = api_url.rstrip("/")
        _check_api_host(pr.get("url"), root)
    before = payload.get("before")
    return PullRequestEvent(
        action=str(payload.get("action") or ""),
        owner=identity.owner_of(full_name),
        repository=full_name,
        number=number,
        head_sha=identity.commit_sha(_field(head, "sha", "pull_request.head.sha"), "pull_request.head.sha"),
        base_sha=identity.commit_sha(_field(base, "sha", "pull_request.base.sha"), "pull_request.base.sha"),
        draft=bool(pr.get("draft", False)),
        installation_id=(
            identity.positive_int(installation.get("id"), "installation.id", maximum=identity.MAX_ID)
            if isinstance(installation, dict) and installation.get("id") is not None
            else None
        ),
        api_url=root,
        html_url=str(pr.get("html_url") or ""),
        before_sha=identity.commit_sha(before, "before") if before is not None else None,
    )


# -- GitHub App installations (docs/github.md) -------------------------------------------------------
INSTALLATION_EVENTS = frozenset({"installation", "installation_repositories"})
INSTALLATION_ACTIONS = frozenset({"created", "deleted", "suspend", "unsuspend", "new_permissions_accepted"})
REPOSITORY_ACTIONS = frozenset({"added", "removed"})


@dataclass(frozen=True, slots=True)
class InstallationEvent:
    """An ``installation`` or ``installation_repositories`` delivery, its identities validated:
    the installation, the account it is on (the hunkwise organization), the repositories it
    adds and removes (``owner/name``, each on that account)."""

    event: str  # "installation" | "installation_repositories"
    action: str
    installation_id: int
    account_login: str
    account_type: str
    repository_selection: str
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()


def installation_id_of(payload: dict[str, Any]) -> int | None:
    """The delivery's ``installation.id`` (validated), None when it names no installation (a
    repository webhook, not an App's)."""
    installation = payload.get("installation")
    if not isinstance(installation, dict) or installation.get("id") is None:
        return None
    return identity.positive_int(installation.get("id"), "installation.id", maximum=identity.MAX_ID)


def parse_installation(event_name: str, payload: dict[str, Any]) -> InstallationEvent | None:
    """The installation event of a delivery; None for an action that changes nothing here.
    Raises :class:`WebhookPayloadError` for a missing object, :class:`IdentityError` for an id,
    account or repository that is not one (or a repository of another account)."""
    action = str(payload.get("action") or "")
    known = INSTALLATION_ACTIONS if event_name == "installation" else REPOSITORY_ACTIONS
    if action not in known:
        return None
    installation = _obj(payload, "installation")
    account = _obj(installation, "account", where="installation.account")
    installation_id = identity.positive_int(
        installation.get("id"), "installation.id", maximum=identity.MAX_ID
    )
    login = identity.github_owner(
        _field(account, "login", "installation.account.login"), "installation.account.login"
    )
    account_type = str(account.get("type") or "Organization")
    if account_type not in ("Organization", "User", "Enterprise"):
        raise IdentityError(
            "installation.account.type", account_type, "is not Organization, User or Enterprise"
        )
    selection = str(
        installation.get("repository_selection") or payload.get("repository_selection") or "selected"
    )
    if selection not in ("all", "selected"):
        raise IdentityError("installation.repository_selection", selection, "is not 'all' or 'selected'")

    def names(key: str) -> tuple[str, ...]:
        out = []
        for i, repo in enumerate(payload.get(key) or []):
            where = f"{key}.{i}.full_name"
            if not isinstance(repo, dict):
                raise WebhookPayloadError(f"the payload's {key} lists something that is not a repository")
            owner, name = identity.github_repository(repo.get("full_name"), where)
            if owner.lower() != login.lower():
                raise IdentityError(
                    where, f"{owner}/{name}", f"is not a repository of the installation's account {login!r}"
                )
            out.append(f"{owner}/{name}")
        return tuple(out)

    if event_name == "installation":
        added, removed = names("repositories"), ()
    else:
        added, removed = names("repositories_added"), names("repositories_removed")
    return InstallationEvent(
        event_name, action, installation_id, login, account_type, selection, added, removed
    )


def _api_root(pr_url: Any) -> str:
    """``https://ghe.example/api/v3/repos/o/r/pulls/1`` -> ``https://ghe.example/api/v3``."""
    if isinstance(pr_url, str) and "/repos/" in pr_url:
        return pr_url.split("/repos/", 1)[0]
    return DEFAULT_API_URL


def _check_api_host(pr_url: Any, api_url: str) -> None:
    """Refuse a delivery whose ``pull_request.url`` is not on the configured API host."""
    if not isinstance(pr_url, str) or not pr_url:
        return
    got, want = urlsplit(pr_url).netloc.lower(), urlsplit(api_url).netloc.lower()
    if got != want:
        raise WebhookPayloadError(
            f"pull_request.url is on {identity.shown(got or pr_url)}, not on the configured GitHub API host "
            f"{want!r} (set HUNKWISE_GITHUB_API_URL for GitHub Enterprise)"
        )


def _obj(data: dict[str, Any], key: str, *, where: str | None = None) -> dict[str, Any]:
    value = data.get(key)
    if not isinstance(value, dict):
        raise WebhookPayloadError(f"the payload has no {where or key} object")
    return value


def _field(data: dict[str, Any], key: str, where: str, *, fallback: dict[str, Any] | None = None) -> Any:
    """A field that must be there (its value is validated by the caller): absent or empty is an
    unreadable delivery (400), present but not acceptable an identity error (422)."""
    value = data.get(key)
    if value is None and fallback is not None:
        value = fallback.get(key)
    if value is None or value == "":
        raise WebhookPayloadError(f"the payload has no {where}")
    return value
