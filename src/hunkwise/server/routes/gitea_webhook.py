"""``POST /webhooks/gitea``: Gitea and Forgejo (Codeberg) pull request deliveries.

The order of :mod:`hunkwise.server.routes.webhooks`: the HMAC (``X-Gitea-Signature`` or
``X-Forgejo-Signature``) is checked on the raw bytes first, so a delivery that is not signed with
``HUNKWISE_GITEA_WEBHOOK_SECRET`` (or any delivery while it is unset) is a 401 and leaves no trace;
then the body is parsed, classified (another event, action or a draft: 202 with the reason), its
identities validated (422 naming the field) and its repository's host compared with
``HUNKWISE_GITEA_URL`` (400), and one review job is queued per pull request head.
"""

from __future__ import annotations

import logging

from fastapi import APIRouter, HTTPException, Request, status
from fastapi.responses import JSONResponse

from hunkwise.jobs.review_job import GITEA_KIND
from hunkwise.platforms import gitea_webhooks as gt
from hunkwise.platforms.identity import IdentityError
from hunkwise.server.deps import RuntimeDep
from hunkwise.server.routes.webhooks import (
    accept_review,
    authenticate,
    parse_body,
    refuse_identity,
    secret_value,
)

log = logging.getLogger("hunkwise.webhooks")
router = APIRouter(prefix="/webhooks", tags=["webhooks"])


@router.post("/gitea", status_code=202, summary="Gitea / Forgejo webhook (pull_request events)")
async def gitea_webhook(request: Request, runtime: RuntimeDep) -> JSONResponse:
    body = await request.body()
    settings = runtime.settings
    secret = secret_value(settings.gitea_webhook_secret)
    authenticate(
        "Gitea",
        gt.verify_signature(secret, body, request.headers),
        secret_set=bool(secret),
        credential=" (or ".join(gt.SIGNATURE_HEADERS) + ")",
        setting=gt.SECRET_ENV,
    )
    payload = parse_body(body)
    delivery = gt.header(request.headers, gt.DELIVERY_HEADERS)
    if not settings.gitea_url:
        log.warning("Gitea delivery %s ignored: %s is not set on the server", delivery or "-", gt.URL_ENV)
        raise HTTPException(
            status.HTTP_400_BAD_REQUEST,
            f"this server has no Gitea instance configured: set {gt.URL_ENV} to the instance's web address",
        )
    try:
        decision = gt.classify(
            gt.header(request.headers, gt.EVENT_HEADERS), payload, web_url=settings.gitea_url
        )
    except IdentityError as exc:
        return refuse_identity("Gitea", delivery, exc)
    except gt.GiteaPayloadError as exc:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, str(exc)) from None
    return await accept_review(request, runtime, "Gitea", GITEA_KIND, decision, delivery)
