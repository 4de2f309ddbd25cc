"""GitHub App installations: what their webhooks change, what decides whether a pull request of
an installation is reviewed, and the organization's API over them (docs/github.md).

- :func:`installation_delivery`: an ``installation`` (created, deleted, suspend, unsuspend,
  new_permissions_accepted) or ``installation_repositories`` (added, removed) delivery, already
  verified and parsed, creates, suspends or updates the installation in the store. The account is
  the organization (its login, normalized like every slug).
- :func:`app_gate`: in App mode, why a delivery for an installation is not reviewed (unknown or
  suspended installation, a repository of another account, a disabled repository), or None.
- ``GET /api/orgs/{org}/github/installations`` and
  ``PUT /api/orgs/{org}/github/repositories/{owner}/{repo}`` (``{"enabled": bool}``), with the
  same authorization as the other organization routes (the admin, or the organization's token).
"""

from __future__ import annotations

import logging

from fastapi import APIRouter, HTTPException, status
from starlette.concurrency import run_in_threadpool

from hunkwise.errors import ConfigurationError
from hunkwise.jobs.runtime import Runtime
from hunkwise.platforms import github_webhooks as gh
from hunkwise.platforms import identity
from hunkwise.platforms.identity import IdentityError
from hunkwise.server.deps import CallerDep, OrgAccess, RuntimeDep
from hunkwise.server.schemas import GitHubInstallationPublic, GitHubRepositoryIn, GitHubRepositoryPublic
from hunkwise.store import github_installations as store
from hunkwise.store.orgs import normalize_slug

log = logging.getLogger("hunkwise.webhooks")
router = APIRouter(prefix="/api/orgs", tags=["github"])


async def installation_delivery(runtime: Runtime, event: gh.InstallationEvent, delivery: str) -> str:
    """Apply one installation delivery to the store; returns what was done (for the 202 body
    and the log). Raises :class:`IdentityError` when the account is no organization slug."""
    try:
        org = normalize_slug(event.account_login)
    except ConfigurationError as exc:
        raise IdentityError("installation.account.login", event.account_login, str(exc)) from None
    engine, iid = runtime.engine, event.installation_id
    known = await run_in_threadpool(store.get_installation, engine, iid)
    if known is not None and known.account_login.lower() != event.account_login.lower():
        # GitHub binds an installation to one account for its life: a delivery that moves it is
        # forged (the webhook secret is known to someone else) or the account was renamed; either
        # way its repositories and state stay with the account the store has.
        raise IdentityError(
            "installation.account.login",
            event.account_login,
            f"is not the account installation {iid} is on ({known.account_login!r}); an account "
            "renamed on GitHub is a new organization here: uninstall and reinstall the App",
        )
    if event.event == "installation" and event.action == "deleted":
        gone = await run_in_threadpool(store.delete_installation, engine, iid)
        said = (
            f"installation {iid} on {event.account_login} deleted"
            if gone
            else f"installation {iid} was not known"
        )
    elif event.event == "installation" and event.action in ("suspend", "unsuspend"):
        suspended = event.action == "suspend"
        known = await run_in_threadpool(store.set_suspended, engine, iid, suspended)
        if not known:  # suspended before we saw it created: remember it, in that state
            await _save(runtime, event, org, suspended=suspended)
        said = f"installation {iid} on {event.account_login} {'suspended' if suspended else 'unsuspended'}"
    elif event.event == "installation":  # created, new_permissions_accepted
        suspended = False if event.action == "created" else None
        await _save(runtime, event, org, suspended=suspended)
        count = len(event.added)
        said = f"installation {iid} on {event.account_login} saved ({event.action}, {count} repositories)"
    else:
        known = await run_in_threadpool(
            lambda: store.change_repositories(engine, iid, added=event.added, removed=event.removed)
        )
        if not known:
            await _save(runtime, event, org, suspended=None)
            await run_in_threadpool(lambda: store.change_repositories(engine, iid, removed=event.removed))
        said = f"installation {iid}: {len(event.added)} repositories added, {len(event.removed)} removed"
    log.info("GitHub delivery %s: %s (organization %s)", delivery or "-", said, org)
    return said


async def _save(runtime: Runtime, event: gh.InstallationEvent, org: str, *, suspended: bool | None) -> None:
    await run_in_threadpool(
        lambda: store.save_installation(
            runtime.engine,
            event.installation_id,
            org=org,
            account_login=event.account_login,
            account_type=event.account_type,
            repository_selection=event.repository_selection,
            suspended=suspended,
            repositories=event.added,
        )
    )


async def app_gate(runtime: Runtime, installation_id: int | None, owner: str, repository: str) -> str | None:
    """In GitHub App mode: why this installation's delivery on ``repository`` is not acted on
    (None: it is). Outside App mode nothing is gated here (the personal token decides what it
    can see)."""
    if runtime.github_clients().app is None:
        return None
    if installation_id is None:
        return (
            "the delivery names no installation (GitHub App mode: install the App, not a repository webhook)"
        )
    return await run_in_threadpool(store.review_gate, runtime.engine, installation_id, owner, repository)


def _public(view: store.InstallationView) -> GitHubInstallationPublic:
    return GitHubInstallationPublic(
        id=view.id,
        account_login=view.account_login,
        account_type=view.account_type,
        repository_selection=view.repository_selection,
        suspended=view.suspended,
        repositories=[
            GitHubRepositoryPublic(full_name=r.full_name, enabled=r.enabled) for r in view.repositories
        ],
    )


@router.get(
    "/{org}/github/installations",
    response_model=list[GitHubInstallationPublic],
    summary="The organization's GitHub App installations and their repositories",
)
async def list_installations(org: OrgAccess, runtime: RuntimeDep) -> list[GitHubInstallationPublic]:
    """The installations of the GitHub App on the organization's account (from GitHub's
    ``installation`` webhooks), each with its repositories and whether hunkwise reviews them."""
    views = await run_in_threadpool(store.installations_of, runtime.engine, org)
    return [_public(v) for v in views]


@router.put(
    "/{org}/github/repositories/{owner}/{repo}",
    response_model=GitHubRepositoryPublic,
    summary="Turn reviews of one repository on or off",
)
async def set_repository(
    org: OrgAccess, owner: str, repo: str, body: GitHubRepositoryIn, runtime: RuntimeDep, caller: CallerDep
) -> GitHubRepositoryPublic:
    """``{"enabled": false}``: pull requests of this repository are acknowledged and not
    reviewed; ``true``: reviewed again. 404 when no installation of the organization has it."""
    try:
        owner, repo = identity.github_repository(f"{owner}/{repo}", "repository")
    except IdentityError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None
    full_name = f"{owner}/{repo}"
    found = await run_in_threadpool(
        store.set_repository_enabled, runtime.engine, org, full_name, body.enabled
    )
    if found is None:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND,
            f"no GitHub App installation of organization {org!r} has repository {full_name!r}",
        )
    log.info(
        "organization %s: reviews of %s turned %s by %s",
        org,
        full_name,
        "on" if body.enabled else "off",
        caller.describe(),
    )
    return GitHubRepositoryPublic(full_name=found.full_name, enabled=found.enabled)
