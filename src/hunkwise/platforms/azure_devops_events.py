"""Azure DevOps Services: the Service Hooks "Web Hooks" delivery (basic authentication) and the
pull request event hunkwise reviews.

Kept apart from the REST client (:mod:`hunkwise.platforms.azure_devops`) so the webhook route
can verify and classify a delivery without an HTTP client, like ``github_webhooks``.

**Which Azure name is the hunkwise organization.** One server talks to ONE Azure DevOps
organization: the one in its configured API root (``HUNKWISE_AZURE_DEVOPS_URL``,
``https://dev.azure.com/{organization}``), with one token. Inside it, teams are Azure *projects*,
each with its own repositories and permissions, so the Azure **project** is the hunkwise
organization (its BYOK keys, budget, ceilings): one server serves several teams, each billed to
its own model keys. Every request is addressed by names under that project
(``{project}/_apis/git/repositories/{repository}/...``), so Azure itself resolves the repository
inside the project the delivery names: a delivery that names team A's project cannot make the
server read team B's repository on A's keys (the job also asks Azure that the repository's id is
the one delivered, :meth:`~hunkwise.platforms.azure_devops.AzureDevOpsClient.verify_repository`).
A delivery from another organization or host (``resource.repository.url``,
``resourceContainers.account.baseUrl``) is refused: the token only goes to the configured root.

**Which deliveries are reviewed.** ``git.pullrequest.created``, and ``git.pullrequest.updated``
when it brings a source commit hunkwise has not seen (``resource.lastMergeSourceCommit``): Azure
sends "updated" for votes, reviewers, titles and status changes too, with the same head; the
route ignores those because a job for that head exists already. Drafts and pull requests that
are not ``active`` are not reviewed.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import re
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlsplit

from hunkwise.errors import PermanentError
from hunkwise.platforms import identity
from hunkwise.platforms.identity import IdentityError, shown

PASSWORD_ENV = "HUNKWISE_AZURE_DEVOPS_WEBHOOK_PASSWORD"
USERNAME_ENV = "HUNKWISE_AZURE_DEVOPS_WEBHOOK_USERNAME"
URL_ENV = "HUNKWISE_AZURE_DEVOPS_URL"
TOKEN_ENV = "HUNKWISE_AZURE_DEVOPS_TOKEN"
CREATED, UPDATED = "git.pullrequest.created", "git.pullrequest.updated"
# Azure's event action -> the word hunkwise's scheduling knows (config/scheduling.priority_for).
ACTIONS = {CREATED: "opened", UPDATED: "synchronize"}

# Azure's naming rules, narrowed to what is safe and common: a project or repository name of
# letters, digits, spaces, '.', '_' and '-' (Azure forbids \ / : * ? " < > | ; # $ { } , + = [ ]
# and a leading '_' or '.', a trailing '.'), at most 64 characters.
_PROJECT = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9 ._-]{0,62}[A-Za-z0-9_-])?")
_REPOSITORY = re.compile(r"[A-Za-z0-9_](?:[A-Za-z0-9 ._-]{0,62}[A-Za-z0-9_-])?")
_ORGANIZATION = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,48}[A-Za-z0-9])?")
_GUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


class AzurePayloadError(PermanentError, ValueError):
    """A pull request event we would act on lacks a field, or comes from another organization or
    host; the message names the field."""


def project_name(value: object, field: str = "project") -> str:
    text = value if isinstance(value, str) else None
    if text is None or not _PROJECT.fullmatch(text):
        raise IdentityError(
            field,
            value,
            "is not an Azure DevOps project name: use 1-64 letters, digits, spaces, '.', '_' or '-', "
            "starting with a letter or digit and not ending in '.' or a space",
        )
    return text


def repository_name(value: object, field: str = "repository") -> str:
    text = value if isinstance(value, str) else None
    if text is None or not _REPOSITORY.fullmatch(text) or text in (".", ".."):
        raise IdentityError(
            field,
            value,
            "is not an Azure DevOps repository name: use 1-64 letters, digits, spaces, '.', '_' or '-', "
            "not starting with '.' nor ending in '.' or a space",
        )
    return text


def guid(value: object, field: str) -> str:
    """An Azure id (repository, project, identity): a GUID, lower-cased."""
    if not isinstance(value, str) or not _GUID.fullmatch(value):
        raise IdentityError(field, value, "is not an Azure DevOps id: expected a GUID (8-4-4-4-12 hex)")
    return value.lower()


def configured_api_url(configured: str | None) -> str | None:
    """The organization's root this server talks to (``HUNKWISE_AZURE_DEVOPS_URL``), without a
    trailing ``/``; None when not configured (there is no default: the URL names the organization)."""
    return configured.strip().rstrip("/") if configured and configured.strip() else None


def organization_of(api_url: str) -> str:
    """The Azure DevOps organization a configured root names: ``https://dev.azure.com/{org}``'s
    first path segment, a legacy ``https://{org}.visualstudio.com``'s first host label, else (an
    Azure DevOps Server collection URL) the collection's last path segment."""
    parts = urlsplit(api_url)
    segments = [s for s in parts.path.split("/") if s]
    host = (parts.hostname or "").lower()
    if host.endswith(".visualstudio.com") and not segments:
        name = host.split(".", 1)[0]
    elif segments:
        name = segments[0] if host == "dev.azure.com" else segments[-1]
    else:
        name = ""
    if not _ORGANIZATION.fullmatch(name):
        raise IdentityError(
            URL_ENV,
            api_url,
            "does not name an Azure DevOps organization: use https://dev.azure.com/ORGANIZATION",
        )
    return name


def verify_basic_auth(username: str | None, password: str, header: str | None) -> bool:
    """Whether ``Authorization: Basic ...`` carries ``password`` (and ``username`` when one is
    configured), compared in constant time. An unconfigured password accepts nothing."""
    if not password or not header:
        return False
    scheme, _, encoded = header.strip().partition(" ")
    if scheme.lower() != "basic" or not encoded.strip():
        return False
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return False
    user, sep, given = decoded.partition(":")
    if not sep:
        return False
    password_ok = hmac.compare_digest(password.encode(), given.encode())
    user_ok = hmac.compare_digest(username.encode(), user.encode()) if username else True
    return password_ok and user_ok


@dataclass(frozen=True, slots=True)
class AzurePullRequestEvent:
    """A pull request head to review. ``owner`` is the Azure project (the hunkwise
    organization), ``repository`` is ``project/name`` (shown and stored), ``repository_id`` the
    Azure repository's GUID (verified against the name before anything is read)."""

    action: str
    owner: str
    project: str
    repository_name: str
    repository_id: str
    number: int
    head_sha: str
    draft: bool = False

    def __post_init__(self) -> None:
        """Checked however the event was made: parsed from a delivery or read back from a job row."""
        project_name(self.project, "resource.repository.project.name")
        if self.owner != self.project:
            raise IdentityError("owner", self.owner, f"is not the project {self.project!r}")
        repository_name(self.repository_name, "resource.repository.name")
        guid(self.repository_id, "resource.repository.id")
        identity.positive_int(self.number, "resource.pullRequestId")
        identity.commit_sha(self.head_sha, "resource.lastMergeSourceCommit.commitId")

    @property
    def repository(self) -> str:
        return f"{self.project}/{self.repository_name}"

    @property
    def dedupe_key(self) -> str:
        return f"azure_devops:{self.repository}#{self.number}@{self.head_sha}"

    def as_payload(self) -> dict[str, Any]:
        fields = {k: getattr(self, k) for k in self.__slots__}  # type: ignore[attr-defined]
        return {"platform": "azure_devops", "repository": self.repository, **fields}

    @classmethod
    def from_payload(cls, data: dict[str, Any]) -> AzurePullRequestEvent:
        return cls(**{k: data.get(k) for k in cls.__slots__})  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class AzureDecision:
    kind: Literal["review", "ignore"]
    reason: str = ""
    event: AzurePullRequestEvent | None = None


def _field(data: object, dotted: str) -> Any:
    for part in dotted.split("."):
        if not isinstance(data, dict):
            return None
        data = data.get(part)
    return data


def _on_configured_root(value: object, field: str, api_url: str) -> None:
    """``value`` (an API or base URL from the payload) must be under the configured root: same
    scheme, host and port, and its path must start with the root's path (case-insensitively, as
    Azure's organization and collection names are)."""
    if not isinstance(value, str) or not value:
        raise AzurePayloadError(f"the payload has no {field}")
    got, want = urlsplit(value), urlsplit(api_url)
    same_host = (got.scheme.lower(), got.netloc.lower()) == (want.scheme.lower(), want.netloc.lower())
    root = want.path.rstrip("/").lower() + "/"
    if not same_host or not (got.path.lower() + "/").startswith(root):
        raise AzurePayloadError(
            f"{field} {shown(value)} is not under the configured Azure DevOps organization {api_url!r} "
            f"(set {URL_ENV} to the organization that sends these deliveries)"
        )


def classify(payload: dict[str, Any], *, api_url: str) -> AzureDecision:
    """What to do with a delivery. ``api_url``: the configured organization root. A pull request
    event we act on that names another organization or host raises :class:`AzurePayloadError`;
    a project, repository, id, number or commit that is not one raises :class:`IdentityError`
    naming the field."""
    event_type = payload.get("eventType")
    if not isinstance(event_type, str) or event_type not in ACTIONS:  # a list is unhashable
        return AzureDecision("ignore", f"event {shown(event_type or '(none)')} is not reviewed")
    resource = payload.get("resource")
    if not isinstance(resource, dict):
        raise AzurePayloadError("the payload has no resource object")
    status = resource.get("status")
    if status != "active":
        return AzureDecision("ignore", f"pull request status {shown(status or '(none)')} is not reviewed")
    required = {
        "resource.lastMergeSourceCommit.commitId": _field(resource, "lastMergeSourceCommit.commitId"),
        "resource.repository.project.name": _field(resource, "repository.project.name"),
        "resource.repository.name": _field(resource, "repository.name"),
        "resource.repository.id": _field(resource, "repository.id"),
        "resource.pullRequestId": resource.get("pullRequestId"),
    }
    for name, value in required.items():
        if value is None or value == "":
            raise AzurePayloadError(f"the payload has no {name}")
    _on_configured_root(_field(resource, "repository.url"), "resource.repository.url", api_url)
    account = _field(payload, "resourceContainers.account.baseUrl")
    if account is not None:
        _on_configured_root(account, "resourceContainers.account.baseUrl", api_url)
    project = project_name(required["resource.repository.project.name"], "resource.repository.project.name")
    event = AzurePullRequestEvent(
        action=ACTIONS[event_type],
        owner=project,
        project=project,
        repository_name=repository_name(required["resource.repository.name"], "resource.repository.name"),
        repository_id=guid(required["resource.repository.id"], "resource.repository.id"),
        number=identity.positive_int(required["resource.pullRequestId"], "resource.pullRequestId"),
        head_sha=identity.commit_sha(
            required["resource.lastMergeSourceCommit.commitId"], "resource.lastMergeSourceCommit.commitId"
        ),
        draft=resource.get("isDraft") is True,
    )
    if event.draft:
        return AzureDecision("ignore", "draft pull requests are reviewed when published", event)
    return AzureDecision("review", event.action, event)
