"""Platform identities are untrusted input: owners, repositories, GitLab project paths, pull and
merge request numbers and commit ids are validated here, once, before anything builds a URL.

A webhook is signed with a secret every tenant shares, so its ``repository.full_name`` or
``pull_request.head.sha`` is whatever the sender typed: ``Codertocat/../../repos/beta/secret`` would
otherwise become a request, with the server's token, on another tenant's repository. The webhook
parsers, the stored job payloads, the ``--pr URL`` parser and the API clients all call these
functions, and :func:`api_path` quotes every segment, so no code path can turn a string it did
not validate into a path outside the repository it names.

The rules follow what the platforms accept for *existing* names (older accounts and Enterprise
instances included), not only what they allow for new ones; every character they allow is
unreserved in a URL, so a valid name is never rewritten by quoting.

Pure (no httpx): :mod:`hunkwise.platforms.github_webhooks` stays importable without a client.
"""

from __future__ import annotations

import re
from urllib.parse import quote

from hunkwise.errors import PermanentError

# GitHub documents logins as 1-39 letters, digits and single inner hyphens. Existing accounts are
# laxer (legacy logins end in or double a hyphen; Enterprise Managed Users carry an ``_shortcode``
# suffix), so the rule is the character set, the length and an alphanumeric first character.
_GITHUB_OWNER = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,38}")
_GITHUB_REPO = re.compile(r"[A-Za-z0-9._-]{1,100}")
# GitLab's routing rule for an existing namespace or project path segment (lib/gitlab/path_regex.rb):
# starts with a letter, digit, '_' or '.', goes on with those and '-', does not end in '.', and
# (checked apart) does not end in '.git' or '.atom'.
_GITLAB_SEGMENT = re.compile(r"[A-Za-z0-9_.][A-Za-z0-9_.-]{0,253}[A-Za-z0-9_-]|[A-Za-z0-9_]")
_GITLAB_SUFFIXES = (".git", ".atom")
GITLAB_MAX_DEPTH = 32  # GitLab allows 20 ancestor groups; deeper is not a real project
_SHA = re.compile(r"[0-9a-fA-F]{40}|[0-9a-fA-F]{64}")  # SHA-1 and SHA-256 object names
MAX_NUMBER = 2**31 - 1  # pull request numbers and iids are 32-bit on both platforms
MAX_ID = 2**63 - 1  # project ids: a 64-bit column at most
_SHOWN = 60  # characters of a refused value echoed in an error (payload strings can be huge)


class IdentityError(PermanentError, ValueError):
    """A platform identity is not acceptable. ``field`` names where it came from (the payload
    field, the URL part), the message says what is wrong and which shape is expected."""

    def __init__(self, field: str, value: object, problem: str) -> None:
        super().__init__(f"{field} {shown(value)} {problem}")
        self.field = field


def shown(value: object) -> str:
    """``value`` as it may appear in an error or a log line: repr (control characters escaped),
    cut to a few dozen characters."""
    if isinstance(value, str) and len(value) > _SHOWN:
        return f"{value[:_SHOWN]!r}… ({len(value)} characters)"
    text = repr(value)
    return text if len(text) <= _SHOWN + 2 else text[:_SHOWN] + "…"


def _text(value: object, field: str) -> str:
    if not isinstance(value, str) or not value:
        raise IdentityError(field, value, "is empty or not a string")
    return value


def github_owner(value: object, field: str = "owner") -> str:
    """A GitHub user or organization login."""
    text = _text(value, field)
    if not _GITHUB_OWNER.fullmatch(text):
        raise IdentityError(
            field,
            value,
            "is not a GitHub login: use 1-39 letters, digits, '-' or '_', starting with a letter or digit",
        )
    return text


def github_repo_name(value: object, field: str = "repository name") -> str:
    text = _text(value, field)
    if not _GITHUB_REPO.fullmatch(text) or text in (".", ".."):
        raise IdentityError(
            field,
            value,
            "is not a GitHub repository name: use 1-100 letters, digits, '.', '-' or '_' (not '.' or '..')",
        )
    return text


def github_repository(value: object, field: str = "repository") -> tuple[str, str]:
    """``owner/name`` -> ``(owner, name)``, each part valid."""
    text = _text(value, field)
    parts = text.split("/")
    if len(parts) != 2:
        raise IdentityError(field, value, "is not a GitHub repository: expected OWNER/NAME")
    return github_owner(parts[0], field), github_repo_name(parts[1], field)


def gitlab_path(value: object, field: str = "project path") -> str:
    """A GitLab project's full path, ``group[/subgroup...]/project``."""
    text = _text(value, field)
    segments = text.split("/")
    if not 2 <= len(segments) <= GITLAB_MAX_DEPTH:
        raise IdentityError(
            field,
            value,
            f"is not a GitLab project path: expected GROUP[/SUBGROUP...]/PROJECT, "
            f"2 to {GITLAB_MAX_DEPTH} segments",
        )
    for segment in segments:
        if not _GITLAB_SEGMENT.fullmatch(segment) or segment.endswith(_GITLAB_SUFFIXES):
            raise IdentityError(
                field,
                value,
                f"is not a GitLab project path: segment {shown(segment)} may hold only letters, digits, "
                "'_', '-' and '.', must not start with '-' nor end in '.', '.git' or '.atom'",
            )
    return text


def gitlab_project(value: object, field: str = "project") -> int | str:
    """A project as the GitLab API addresses it: a numeric id, or a full path."""
    if isinstance(value, int):
        return positive_int(value, field, maximum=MAX_ID)
    return gitlab_path(value, field)


def owner_of(path: str) -> str:
    """The organization's name in a repository or project path: its first segment (the GitHub
    owner, the GitLab top-level namespace). One rule for both platforms."""
    return path.split("/", 1)[0]


def positive_int(value: object, field: str, *, maximum: int = MAX_NUMBER) -> int:
    """A pull request number, an iid, an id: a JSON integer from 1 (``true`` is not one)."""
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= maximum:
        raise IdentityError(field, value, f"is not a whole number from 1 to {maximum}")
    return value


def commit_sha(value: object, field: str = "commit") -> str:
    """A full commit id (40 hex digits, or 64 in a SHA-256 repository), lower-cased."""
    text = _text(value, field)
    if not _SHA.fullmatch(text):
        raise IdentityError(field, value, "is not a commit id: expected 40 (or 64) hexadecimal digits")
    return text.lower()


MAX_FILE_PATH_CHARS = 4096


def repository_file_path(path: str) -> list[str]:
    """A file path inside a repository (from a diff: untrusted) as its segments: no leading
    ``/``, no empty, ``.`` or ``..`` segment, no NUL, at most :data:`MAX_FILE_PATH_CHARS`."""
    if not isinstance(path, str) or not path or len(path) > MAX_FILE_PATH_CHARS or "\0" in path:
        raise IdentityError("file path", str(path)[:80], "is not a path inside a repository")
    segments = path.split("/")
    if any(s in ("", ".", "..") for s in segments):
        raise IdentityError("file path", path[:80], "is not a path inside a repository")
    return segments


def api_path(*segments: str | int) -> str:
    """A relative API path from validated parts, each quoted as ONE segment (``/`` included:
    GitLab addresses ``group/project`` as ``group%2Fproject``). Refuses an empty or dot segment,
    the only ones quoting leaves able to move a path, so even a missed validation cannot escape."""
    out = []
    for segment in segments:
        text = str(segment)
        if text in ("", ".", ".."):
            raise IdentityError("URL path segment", text, "would leave the resource it names")
        out.append(quote(text, safe=""))
    return "/".join(out)


# -- Gitea and Forgejo ------------------------------------------------------------------------------
# Gitea's rule for a user or organization name (modules/validation: ``^[\da-zA-Z][-.\w]*$``, at most
# 40 characters; new names may not double or end in '-', '.', '_', which existing ones predating
# the rule may). Forgejo keeps the same rule. Repository names: letters, digits, '-', '_', '.'.
_GITEA_OWNER = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,39}")
_GITEA_REPO = re.compile(r"[A-Za-z0-9_.-]{1,100}")


def gitea_repository(value: object, field: str = "repository") -> tuple[str, str]:
    """A Gitea or Forgejo ``owner/name`` -> ``(owner, name)``, each part valid."""
    text = _text(value, field)
    parts = text.split("/")
    if len(parts) != 2:
        raise IdentityError(field, value, "is not a Gitea repository: expected OWNER/NAME")
    owner, name = parts
    if not _GITEA_OWNER.fullmatch(owner):
        raise IdentityError(
            field,
            value,
            "is not a Gitea repository: the owner takes 1-40 letters, digits, '-', '_' or '.', "
            "starting with a letter or digit",
        )
    if not _GITEA_REPO.fullmatch(name) or name in (".", ".."):
        raise IdentityError(
            field,
            value,
            "is not a Gitea repository: the name takes 1-100 letters, digits, '-', '_' or '.' "
            "(not '.' or '..')",
        )
    return owner, name


# -- Bitbucket Cloud --------------------------------------------------------------------------------
# A workspace ID (slug) is lower-case letters, digits, '-' and '_' for new workspaces; accounts that
# predate workspaces carry their username, which could hold upper case. A repository slug adds '.'
# and is at most 62 characters for new repositories (laxer here for old ones).
_BITBUCKET_WORKSPACE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,61}")
_BITBUCKET_REPO = re.compile(r"[A-Za-z0-9._-]{1,100}")
# Bitbucket Cloud's pull request objects (webhooks and REST) abbreviate commits to 12 digits.
_BITBUCKET_COMMIT = re.compile(r"[0-9a-fA-F]{7,40}|[0-9a-fA-F]{64}")
_BITBUCKET_UUID = re.compile(
    r"\{[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\}"
)


def bitbucket_workspace(value: object, field: str = "workspace") -> str:
    """A Bitbucket Cloud workspace ID (its slug, the first segment of a repository's path)."""
    text = _text(value, field)
    if not _BITBUCKET_WORKSPACE.fullmatch(text):
        raise IdentityError(
            field,
            value,
            "is not a Bitbucket workspace ID: use 1-62 letters, digits, '-' or '_', "
            "starting with a letter or digit",
        )
    return text


def bitbucket_repo_slug(value: object, field: str = "repository slug") -> str:
    text = _text(value, field)
    if not _BITBUCKET_REPO.fullmatch(text) or text in (".", ".."):
        raise IdentityError(
            field,
            value,
            "is not a Bitbucket repository slug: use 1-100 letters, digits, '.', '-' or '_' "
            "(not '.' or '..')",
        )
    return text


def bitbucket_repository(value: object, field: str = "repository.full_name") -> tuple[str, str]:
    """``workspace/repo_slug`` -> ``(workspace, repo_slug)``, each part valid."""
    text = _text(value, field)
    parts = text.split("/")
    if len(parts) != 2:
        raise IdentityError(field, value, "is not a Bitbucket repository: expected WORKSPACE/REPO_SLUG")
    return bitbucket_workspace(parts[0], field), bitbucket_repo_slug(parts[1], field)


def bitbucket_commit(value: object, field: str = "commit") -> str:
    """A commit as Bitbucket Cloud names it in a pull request: 7 to 40 hexadecimal digits (its
    payloads abbreviate to 12), or 64; lower-cased. The full id is looked up before use."""
    text = _text(value, field)
    if not _BITBUCKET_COMMIT.fullmatch(text):
        raise IdentityError(field, value, "is not a commit id: expected 7 to 40 (or 64) hexadecimal digits")
    return text.lower()


def bitbucket_uuid(value: object, field: str = "uuid") -> str:
    """An account uuid as Bitbucket writes it, braces included: ``{xxxxxxxx-xxxx-...}``."""
    text = _text(value, field)
    if not _BITBUCKET_UUID.fullmatch(text):
        raise IdentityError(field, value, "is not a Bitbucket uuid: expected {8-4-4-4-12 hexadecimal digits}")
    return text.lower()
