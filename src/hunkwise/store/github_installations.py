"""GitHub App installations and their repositories, as GitHub's webhooks report them.

An ``installation`` delivery creates, suspends, unsuspends or deletes a row here; an
``installation_repositories`` delivery adds and removes repositories. The installation's account
is the hunkwise organization (``org``: its login, normalized like every slug). A repository is
reviewed while ``enabled`` (the default; a person turns it off with the API or the console), and
only while its installation is not suspended (:func:`review_gate`).

Repository names are stored lower-cased: GitHub logins and repository names are
case-insensitive, and one repository must be one row however a delivery spells it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from hunkwise.store.db import Db, use_session
from hunkwise.store.tables import GitHubInstallation, GitHubRepository, utcnow

SELECTIONS = ("all", "selected")


@dataclass(frozen=True, slots=True)
class RepositoryView:
    """A repository of an installation, and whether its pull requests are reviewed."""

    full_name: str
    enabled: bool


@dataclass(frozen=True, slots=True)
class InstallationView:
    """An installation as the API and the console show it."""

    id: int
    org: str
    account_login: str
    account_type: str
    repository_selection: str
    suspended: bool
    repositories: list[RepositoryView] = field(default_factory=list)


def _view(row: GitHubInstallation, repos: Iterable[GitHubRepository] = ()) -> InstallationView:
    return InstallationView(
        id=row.id,
        org=row.org,
        account_login=row.account_login,
        account_type=row.account_type,
        repository_selection=row.repository_selection,
        suspended=row.suspended,
        repositories=[
            RepositoryView(r.full_name, r.enabled) for r in sorted(repos, key=lambda r: r.full_name)
        ],
    )


def save_installation(
    db: Db,
    installation_id: int,
    *,
    org: str,
    account_login: str,
    account_type: str,
    repository_selection: str,
    suspended: bool | None = None,
    repositories: Iterable[str] = (),
) -> InstallationView:
    """Create or update an installation (``created``, ``new_permissions_accepted``, and any
    delivery about an installation we have not seen), adding ``repositories`` that are new
    (enabled). ``suspended`` None keeps what is stored (False for a new row)."""
    selection = repository_selection if repository_selection in SELECTIONS else "selected"
    with use_session(db, write=True) as session:
        row = session.get(GitHubInstallation, installation_id)
        if row is None:
            row = GitHubInstallation(id=installation_id, suspended=bool(suspended))
            session.add(row)
        elif suspended is not None:
            row.suspended = suspended
        row.org, row.account_login, row.account_type = org, account_login, account_type
        row.repository_selection = selection
        row.updated_at = utcnow()
        session.flush()
        _add(session, installation_id, repositories)
        return _view(row, _repos(session, installation_id))


def set_suspended(db: Db, installation_id: int, suspended: bool) -> bool:
    """Suspend or unsuspend; False when the installation is unknown."""
    with use_session(db, write=True) as session:
        row = session.get(GitHubInstallation, installation_id)
        if row is None:
            return False
        row.suspended = suspended
        row.updated_at = utcnow()
        return True


def delete_installation(db: Db, installation_id: int) -> bool:
    """The App was uninstalled: the installation and its repositories go."""
    with use_session(db, write=True) as session:
        session.execute(delete(GitHubRepository).where(GitHubRepository.installation_id == installation_id))
        gone = session.execute(delete(GitHubInstallation).where(GitHubInstallation.id == installation_id))
        return bool(gone.rowcount)  # type: ignore[attr-defined]


def change_repositories(
    db: Db, installation_id: int, *, added: Iterable[str] = (), removed: Iterable[str] = ()
) -> bool:
    """``installation_repositories``: repositories added (enabled, or as they were) and removed.
    False when the installation is unknown (nothing is changed)."""
    with use_session(db, write=True) as session:
        if session.get(GitHubInstallation, installation_id) is None:
            return False
        gone = {name.lower() for name in removed}
        if gone:
            session.execute(
                delete(GitHubRepository).where(
                    GitHubRepository.installation_id == installation_id, GitHubRepository.full_name.in_(gone)
                )
            )
        _add(session, installation_id, added)
        return True


def get_installation(db: Db, installation_id: int) -> InstallationView | None:
    """One installation with its repositories (None: no installation event seen for it)."""
    with use_session(db) as session:
        row = session.get(GitHubInstallation, installation_id)
        return _view(row, _repos(session, installation_id)) if row is not None else None


def installations_of(db: Db, org: str) -> list[InstallationView]:
    """The organization's installations with their repositories (usually one)."""
    with use_session(db) as session:
        rows = session.scalars(
            select(GitHubInstallation).where(GitHubInstallation.org == org).order_by(GitHubInstallation.id)
        ).all()
        return [_view(row, _repos(session, row.id)) for row in rows]


def installation_for_org(db: Db, org: str) -> int | None:
    """The id of the organization's active installation (for a job that names no installation:
    a command, a re-run); the newest when there are several."""
    with use_session(db) as session:
        return session.scalar(
            select(GitHubInstallation.id)
            .where(GitHubInstallation.org == org, GitHubInstallation.suspended.is_(False))
            .order_by(GitHubInstallation.updated_at.desc(), GitHubInstallation.id.desc())
            .limit(1)
        )


def set_repository_enabled(db: Db, org: str, full_name: str, enabled: bool) -> RepositoryView | None:
    """Turn reviews of one repository of ``org``'s installations on or off; None when no
    installation of the organization has that repository."""
    name = full_name.lower()
    with use_session(db, write=True) as session:
        row = session.scalar(
            select(GitHubRepository)
            .join(GitHubInstallation, GitHubInstallation.id == GitHubRepository.installation_id)
            .where(GitHubInstallation.org == org, GitHubRepository.full_name == name)
            .limit(1)
        )
        if row is None:
            return None
        row.enabled = enabled
        row.updated_at = utcnow()
        return RepositoryView(row.full_name, row.enabled)


def review_gate(db: Db, installation_id: int, owner: str, full_name: str) -> str | None:
    """Why a pull request delivered for ``installation_id`` on ``full_name`` is not reviewed,
    or None when it is: the installation is unknown or suspended, the repository's owner is not
    the installation's account, or the repository is disabled. A repository the installation
    has not listed yet (a new one on an ``all`` installation) is added, enabled."""
    with use_session(db, write=True) as session:
        refused = _refusal(session, installation_id, owner)
        if refused is not None:
            return refused
        repo = _repo(session, installation_id, full_name)
        if repo is None:
            _add(session, installation_id, [full_name])
            return None
        return None if repo.enabled else f"reviews of {full_name} are turned off for this installation"


def use_refusal(db: Db, installation_id: int, owner: str, full_name: str | None = None) -> str | None:
    """Why a job may not use ``installation_id``'s token for a repository of ``owner`` now, or
    None: :func:`review_gate`'s rules, read again when the job runs (the worker side), because
    a job can wait in the queue while its installation is suspended, deleted or its repository
    turned off, and its stored installation id must belong to the repository's owner. Reads
    only: a repository the installation has not listed is not refused (GitHub decides)."""
    with use_session(db) as session:
        refused = _refusal(session, installation_id, owner)
        if refused is not None or full_name is None:
            return refused
        repo = _repo(session, installation_id, full_name)
        if repo is not None and not repo.enabled:
            return f"reviews of {full_name} are turned off for this installation"
        return None


def _refusal(session: Session, installation_id: int, owner: str) -> str | None:
    row = session.get(GitHubInstallation, installation_id)
    if row is None:
        return f"installation {installation_id} is not known here (no installation event was received)"
    if row.suspended:
        return f"installation {installation_id} is suspended"
    if owner.lower() != row.account_login.lower():
        return f"repository owner {owner!r} is not the installation's account {row.account_login!r}"
    return None


def _repo(session: Session, installation_id: int, full_name: str) -> GitHubRepository | None:
    return session.scalar(
        select(GitHubRepository).where(
            GitHubRepository.installation_id == installation_id,
            GitHubRepository.full_name == full_name.lower(),
        )
    )


def _repos(session: Session, installation_id: int) -> list[GitHubRepository]:
    return list(
        session.scalars(
            select(GitHubRepository).where(GitHubRepository.installation_id == installation_id)
        ).all()
    )


def _add(session: Session, installation_id: int, names: Iterable[str]) -> None:
    have = {r.full_name for r in _repos(session, installation_id)}
    for name in {n.lower() for n in names} - have:
        session.add(GitHubRepository(installation_id=installation_id, full_name=name, enabled=True))
    session.flush()


__all__ = [
    "InstallationView",
    "RepositoryView",
    "change_repositories",
    "delete_installation",
    "get_installation",
    "installation_for_org",
    "installations_of",
    "review_gate",
    "save_installation",
    "set_repository_enabled",
    "set_suspended",
    "use_refusal",
]
