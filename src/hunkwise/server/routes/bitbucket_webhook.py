"""``POST /webhooks/bitbucket``: Bitbucket Cloud pull request webhooks -> one review job per head.

The same order as the GitHub and GitLab routes (:mod:`hunkwise.server.routes.webhooks`): the
``X-Hub-Signature`` HMAC is checked on the raw bytes first (401, nothing parsed or stored, when it
is missing or wrong or the server has no secret), then the body is parsed and classified
(another event, a closed or draft pull request: 202 with the reason), a workspace, repository
slug, pull request id or commit that is not one is 422 naming the field, and a delivery linking
to another Bitbucket host is 400. What is left is one review job per pull request head.
"""

from __future__ import annotations

import logging

from fastapi import APIRouter, HTTPException, Request, status
from fastapi.responses import JSONResponse

from hunkwise.jobs.review_job import BITBUCKET_KIND
from hunkwise.platforms import bitbucket_webhooks as bb
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


@router.post(
    "/bitbucket",
    status_code=202,
    summary="Bitbucket Cloud webhook (pullrequest:created, pullrequest:updated)",
)
async def bitbucket_webhook(request: Request, runtime: RuntimeDep) -> JSONResponse:
    body = await request.body()
    settings = runtime.settings
    secret = secret_value(settings.bitbucket_webhook_secret)
    authenticate(
        "Bitbucket",
        bb.verify_signature(secret, body, request.headers.get(bb.SIGNATURE_HEADER)),
        secret_set=bool(secret),
        credential=f"{bb.SIGNATURE_HEADER} signature",
        setting=bb.SECRET_ENV,
    )
    payload = parse_body(body)
    delivery = request.headers.get(bb.DELIVERY_HEADER, "")
    try:
        decision = bb.classify(
            request.headers.get(bb.EVENT_HEADER),
            payload,
            api_url=bb.configured_api_url(settings.bitbucket_api_url),
        )
    except IdentityError as exc:
        return refuse_identity("Bitbucket", delivery, exc)
    except bb.BitbucketPayloadError as exc:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, str(exc)) from None
    return await accept_review(request, runtime, "Bitbucket", BITBUCKET_KIND, decision, delivery)
