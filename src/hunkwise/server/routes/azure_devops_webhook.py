"""``POST /webhooks/azure-devops``: an Azure DevOps Services "Web Hooks" service hook
(docs/azure-devops.md).

Order as for every platform (:mod:`hunkwise.server.routes.webhooks`): the basic-auth password
(``HUNKWISE_AZURE_DEVOPS_WEBHOOK_PASSWORD``, and the user name when
``HUNKWISE_AZURE_DEVOPS_WEBHOOK_USERNAME`` is set) is checked before the body is parsed: 401
and nothing stored when it is missing or wrong or the server has no password. An authenticated
delivery to a server without an organization root (``HUNKWISE_AZURE_DEVOPS_URL``) is 400
naming it, as Gitea's route does for its instance. Then the delivery is classified (another
event, a draft, a closed pull request: 202 with the reason), identities are validated (422
naming the field), and one review job per pull request head is queued. Azure sends
``git.pullrequest.updated`` for votes, reviewers and titles too, with an unchanged head: an
update whose head already has a job is ignored (202).
"""

from __future__ import annotations

import logging

from fastapi import APIRouter, HTTPException, Request, status
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from hunkwise.errors import ConfigurationError
from hunkwise.jobs.review_job import AZURE_DEVOPS_KIND
from hunkwise.platforms import azure_devops_events as az
from hunkwise.platforms.identity import IdentityError, shown
from hunkwise.server.deps import RuntimeDep
from hunkwise.server.routes.webhooks import (
    accept_review,
    authenticate,
    parse_body,
    refuse_identity,
    secret_value,
)
from hunkwise.store.jobs import job_by_dedupe_key
from hunkwise.store.orgs import normalize_slug

log = logging.getLogger("hunkwise.webhooks")
router = APIRouter(prefix="/webhooks", tags=["webhooks"])


def _names_organization(api_url: str) -> bool:
    """Whether the configured root names an organization; logged when not (every delivery is
    then refused: the server cannot tell whose they are)."""
    try:
        az.organization_of(api_url)
    except IdentityError as exc:
        log.warning("Azure DevOps webhook refused: %s", exc)
        return False
    return True


@router.post("/azure-devops", status_code=202, summary="Azure DevOps service hook (pull requests)")
async def azure_devops_webhook(request: Request, runtime: RuntimeDep) -> JSONResponse:
    body = await request.body()
    settings = runtime.settings
    password = secret_value(settings.azure_devops_webhook_password)
    authenticate(
        "Azure DevOps",
        az.verify_basic_auth(
            settings.azure_devops_webhook_username, password, request.headers.get("authorization")
        ),
        secret_set=bool(password),
        credential="basic authentication (the service hook's user name and password)",
        setting=az.PASSWORD_ENV,
        headers={"WWW-Authenticate": 'Basic realm="hunkwise"'},
    )
    # Authenticated: the caller may learn what the server lacks (Gitea's route does the same).
    api_url = az.configured_api_url(settings.azure_devops_url)
    if not api_url or not _names_organization(api_url):
        if not api_url:
            log.warning("Azure DevOps delivery refused: %s is not set on the server", az.URL_ENV)
        raise HTTPException(
            status.HTTP_400_BAD_REQUEST,
            f"this server has no Azure DevOps organization configured: set {az.URL_ENV} to "
            "https://dev.azure.com/ORGANIZATION",
        )
    payload = parse_body(body)
    delivery = str(payload.get("id") or "")[:64]
    try:
        decision = az.classify(payload, api_url=api_url)
    except IdentityError as exc:
        return refuse_identity("Azure DevOps", delivery, exc)
    except az.AzurePayloadError as exc:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, str(exc)) from None
    event = decision.event
    if decision.kind == "review" and event is not None:
        try:
            normalize_slug(event.owner)
        except ConfigurationError:
            reason = (
                f"project {event.owner!r} cannot name a hunkwise organization (letters, digits, '-', "
                "'_' or '.', no spaces): docs/azure-devops.md"
            )
            log.info("Azure DevOps delivery %s ignored: %s", shown(delivery or "-"), reason)
            return JSONResponse({"status": "ignored", "reason": reason}, status_code=status.HTTP_202_ACCEPTED)
    if decision.kind == "review" and event is not None and payload.get("eventType") == az.UPDATED:
        known = await run_in_threadpool(job_by_dedupe_key, runtime.engine, event.dedupe_key)
        if known is not None:
            reason = (
                f"source commit {event.head_sha[:12]} already has review job {known.id}: "
                "an update without new commits (a vote, reviewers, title) is not reviewed"
            )
            log.info("Azure DevOps delivery %s ignored: %s", shown(delivery or "-"), reason)
            return JSONResponse(
                {"status": "ignored", "reason": reason, "job_id": known.id},
                status_code=status.HTTP_202_ACCEPTED,
            )
    return await accept_review(request, runtime, "Azure DevOps", AZURE_DEVOPS_KIND, decision, delivery)
