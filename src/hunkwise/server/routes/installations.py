"""GitHub App installations: what their webhooks change, what decides whether a pull request of
an installation is reviewed, and the organization's API over them (docs/github.md).

- :func:`installation_delivery`: an ``installation`` (created, deleted, suspend, unsuspend,
  new_permissions_accepted) or ``installation_repositories`` (added, removed) delivery, already
  verified and parsed, is confirmed with GitHub (``GET /app/installations/{id}``) and then
  creates, suspends or updates the installation in the store as GitHub reports it. The account
  is the organization (its login, normalized like every slug).
- :func:`app_gate`: in App mode, why a delivery for an installation is not reviewed (unknown or
  suspended installation, a repository of another account, a disabled repository), or None.
- ``GET /api/orgs/{org}/github/installations`` and
  ``PUT /api/orgs/{org}/github/repositories/{owner}/{repo}`` (``{"enabled": bool}``), with the
  same authorization as the other organization routes (the admin, or the organization's token).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from fastapi import APIRouter, HTTPException, status
from starlette.concurrency import run_in_threadpool

from hunkwise.errors import ConfigurationError
from hunkwise.jobs.runtime import Runtime
from hunkwise.platforms import github_webhooks as gh
from hunkwise.platforms import identity
from hunkwise.platforms.github_app import GitHubApp
from hunkwise.platforms.identity import IdentityError
from hunkwise.server.deps import CallerDep, OrgAccess, RuntimeDep
from hunkwise.server.schemas import GitHubInstallationPublic, GitHubRepositoryIn, GitHubRepositoryPublic
from hunkwise.store import github_installations as store
from hunkwise.store.orgs import normalize_slug

log = logging.getLogger("hunkwise.webhooks")
router = APIRouter(prefix="/api/orgs", tags=["github"])


@dataclass(frozen=True, slots=True)
class DeliveryOutcome:
    """What an installation delivery did: ``recorded`` False when GitHub's answer did not
    confirm it and nothing was changed; ``said`` the reason (the 202 body and the log)."""

    recorded: bool
    said: str


async def installation_delivery(
    runtime: Runtime, app: GitHubApp, event: gh.InstallationEvent, delivery: str
) -> DeliveryOutcome:
    """Apply one installation delivery to the store, as far as GitHub confirms it.

    The webhook secret is shared with every repository webhook, so a signed delivery is not yet
    GitHub's word: GitHub is asked (``GET /app/installations/{id}`` with the App's JWT) and what
    is stored is its answer (account, type, selection, suspended), never the delivery's. A
    delivery whose account is not GitHub's is refused (:class:`IdentityError` on
    ``installation.account.login``); an installation GitHub answers 404 for is deleted when the
    delivery says ``deleted`` and otherwise not stored; a ``deleted`` delivery for one GitHub
    still has changes nothing. Only the repositories added and removed come from the delivery
    (GitHub's answer does not list them), and they are on the account GitHub confirmed.
    GitHub's other failures (:class:`PlatformError`) propagate: the caller fails the delivery."""
    try:
        normalize_slug(event.account_login)
    except ConfigurationError as exc:
        raise IdentityError("installation.account.login", event.account_login, str(exc)) from None
    engine, iid = runtime.engine, event.installation_id
    facts = await app.installation(iid)
    deleting = event.event == "installation" and event.action == "deleted"
    if facts is None:
        if not deleting:
            said = (
                f"GitHub has no installation {iid} of this App (GET /app/installations/{iid} answered "
                f"404): the {event.event} {event.action} delivery is not recorded"
            )
            log.warning("GitHub delivery %s: %s", delivery or "-", said)
            return DeliveryOutcome(False, said)
        gone = await run_in_threadpool(store.delete_installation, engine, iid)
        said = (
            f"installation {iid} deleted (GitHub confirms it is gone)"
            if gone
            else f"installation {iid} was not known (GitHub confirms it is gone)"
        )
        log.info("GitHub delivery %s: %s", delivery or "-", said)
        return DeliveryOutcome(True, said)
    if facts.account_login.lower() != event.account_login.lower():
        raise IdentityError(
            "installation.account.login",
            event.account_login,
            f"is not the account GitHub says installation {iid} is on ({facts.account_login!r}, "
            "GET /app/installations/{id}); the delivery is not GitHub's (check who knows the "
            "webhook secret) and nothing was stored",
        )
    org = normalize_slug(facts.account_login)
    known = await run_in_threadpool(store.get_installation, engine, iid)
    if known is not None and known.account_login.lower() != facts.account_login.lower():
        # GitHub binds an installation to one account for its life, so this is an account renamed
        # on GitHub: its repositories and state stay with the organization the store has.
        raise IdentityError(
            "installation.account.login",
            event.account_login,
            f"is not the account installation {iid} is on here ({known.account_login!r}); an account "
            "renamed on GitHub is a new organization here: uninstall and reinstall the App",
        )
    if deleting:
        said = (
            f"GitHub still has installation {iid} on {facts.account_login} (GET /app/installations/{iid} "
            "answered it): the deleted delivery changes nothing; if it was uninstalled since, redeliver it"
        )
        log.warning("GitHub delivery %s: %s", delivery or "-", said)
        return DeliveryOutcome(False, said)
    await run_in_threadpool(
        lambda: store.save_installation(
            engine,
            iid,
            org=org,
            account_login=facts.account_login,
            account_type=facts.account_type,
            repository_selection=facts.repository_selection,
            suspended=facts.suspended,
            repositories=event.added,
        )
    )
    if event.removed:
        await run_in_threadpool(lambda: store.change_repositories(engine, iid, removed=event.removed))
    state = "suspended" if facts.suspended else "not suspended"
    said = (
        f"installation {iid} on {facts.account_login} saved as GitHub reports it ({event.event} "
        f"{event.action}: {state}, {len(event.added)} repositories added, {len(event.removed)} removed)"
    )
    log.info("GitHub delivery %s: %s (organization %s)", delivery or "-", said, org)
    return DeliveryOutcome(True, said)


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
