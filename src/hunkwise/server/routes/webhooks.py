"""``POST /webhooks/github`` and ``POST /webhooks/gitlab``: verify, classify, enqueue one job.

Order matters: the signature (or token) is checked on the raw bytes before anything is parsed or
stored, so an unsigned request costs one HMAC and leaves no trace. The secret is shared by every
tenant, so a signed delivery's identities are still untrusted: an owner, repository, project path,
number or commit that is not one is refused with 422 naming the field (nothing stored), and a GitLab
project id must be the project its path names, which GitLab is asked. A delivery we do not act on
(another event, a draft, an organization without a model configuration) is acknowledged with 202
so the platform does not retry it, and logged with the reason. An acted-on delivery becomes at
most one job per pull request head (the job's dedupe key), in one transaction.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, HTTPException, Request, status
from fastapi.responses import JSONResponse
from pydantic import SecretStr
from starlette.concurrency import run_in_threadpool

from hunkwise.config.scheduling import priority_for
from hunkwise.config.settings import Settings
from hunkwise.errors import ConfigurationError
from hunkwise.jobs.queue import DatabaseQueue, JobQueue
from hunkwise.jobs.review_job import GITHUB_KIND, GITLAB_KIND
from hunkwise.jobs.runtime import Runtime
from hunkwise.platforms import github_webhooks as gh
from hunkwise.platforms import gitlab as gl
from hunkwise.platforms.identity import IdentityError, shown
from hunkwise.platforms.review_post import PlatformError, PlatformNotFound
from hunkwise.server.deps import RuntimeDep
from hunkwise.store.byok_slots import load_byok
from hunkwise.store.orgs import normalize_slug

log = logging.getLogger("hunkwise.webhooks")
router = APIRouter(prefix="/webhooks", tags=["webhooks"])


def _accepted(reason: str, **extra: Any) -> JSONResponse:
    return JSONResponse(
        {"status": "ignored", "reason": reason, **extra}, status_code=status.HTTP_202_ACCEPTED
    )


def _refused(platform: str, delivery: str, exc: IdentityError) -> JSONResponse:
    """422 naming the field, in the API's validation shape (``loc`` is the payload field); logged
    once (the message shows a cut-down value, never a whole payload string)."""
    log.warning("%s delivery %s refused: %s", platform, shown(delivery), exc)
    detail = [{"loc": ["body", *exc.field.split(".")], "msg": str(exc), "type": "value_error"}]
    return JSONResponse({"detail": detail}, status_code=status.HTTP_422_UNPROCESSABLE_CONTENT)


def _parse(body: bytes) -> dict[str, Any]:
    try:
        return gh.parse_json(body)
    except gh.WebhookPayloadError as exc:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, str(exc)) from None


def _queue(request: Request) -> JobQueue:
    queue = getattr(request.app.state, "job_queue", None)
    return queue if queue is not None else DatabaseQueue(request.app.state.runtime.engine)


async def _organization(runtime: Runtime, owner: str) -> str | None:
    """The organization slug for a repository owner, if it has a model configuration (its BYOK,
    or the server's fixed mode); None otherwise."""
    try:
        slug = normalize_slug(owner)
    except ConfigurationError:
        return None
    if runtime.fixed is not None:
        return slug
    views = await run_in_threadpool(load_byok, runtime.engine, slug)
    return slug if views else None


async def _enqueue(
    request: Request, org: str, kind: str, payload: dict[str, Any], key: str, priority: int
) -> JSONResponse:
    queue = _queue(request)
    job, created = await queue.enqueue(org=org, kind=kind, payload=payload, dedupe_key=key, priority=priority)
    requeued = False
    if not created and job.status == "failed":
        requeued = await queue.requeue(job.id)
    pool = getattr(request.app.state, "worker_pool", None)
    if pool is not None and (created or requeued):
        pool.notify()
    log.info(
        "webhook: job %s for %s (%s)",
        job.id,
        key,
        "new" if created else "requeued" if requeued else "duplicate",
    )
    return JSONResponse(
        {"status": "queued", "job_id": job.id, "duplicate": not created, "requeued": requeued},
        status_code=status.HTTP_202_ACCEPTED,
    )


@router.post("/github", status_code=202, summary="GitHub webhook (pull_request, ping)")
async def github_webhook(request: Request, runtime: RuntimeDep) -> JSONResponse:
    body = await request.body()
    settings = runtime.settings
    secret = _secret(settings.github_webhook_secret)
    if not secret:
        log.warning("GitHub webhook refused: %s is not set on the server", gh.SECRET_ENV)
    if not gh.verify_signature(secret, body, request.headers.get(gh.SIGNATURE_HEADER)):
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED, f"missing or invalid {gh.SIGNATURE_HEADER} signature"
        )
    payload = _parse(body)
    delivery = request.headers.get(gh.DELIVERY_HEADER, "")
    try:
        decision = gh.classify(
            request.headers.get(gh.EVENT_HEADER),
            payload,
            api_url=gh.configured_api_url(settings.github_api_url),
        )
    except IdentityError as exc:
        return _refused("GitHub", delivery, exc)
    except gh.WebhookPayloadError as exc:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, str(exc)) from None
    if decision.kind == "ping":
        return JSONResponse({"status": "pong", "zen": payload.get("zen")}, status_code=status.HTTP_200_OK)
    return await _accept(request, runtime, "GitHub", GITHUB_KIND, decision, delivery)


@router.post("/gitlab", status_code=202, summary="GitLab webhook (merge request events)")
async def gitlab_webhook(request: Request, runtime: RuntimeDep) -> JSONResponse:
    body = await request.body()
    settings = runtime.settings
    secret = _secret(settings.gitlab_webhook_secret)
    if not secret:
        log.warning("GitLab webhook refused: %s is not set on the server", gl.SECRET_ENV)
    if not gl.verify_token(secret, request.headers.get(gl.TOKEN_HEADER)):
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, f"missing or invalid {gl.TOKEN_HEADER}")
    payload = _parse(body)
    delivery = request.headers.get(gl.DELIVERY_HEADER, "")
    try:
        decision = gl.classify(
            request.headers.get(gl.EVENT_HEADER),
            payload,
            api_url=gl.configured_api_url(settings.gitlab_api_url),
        )
    except IdentityError as exc:
        return _refused("GitLab", delivery, exc)
    except gl.GitLabPayloadError as exc:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, str(exc)) from None
    return await _accept(request, runtime, "GitLab", GITLAB_KIND, decision, delivery)


def _secret(value: SecretStr | None) -> str:
    return value.get_secret_value() if value is not None else ""


async def _accept(
    request: Request,
    runtime: Runtime,
    platform: str,
    kind: str,
    decision: Any,
    delivery: str,
) -> JSONResponse:
    """The platform-neutral end of both webhooks: ignore, or find the organization and enqueue."""
    if decision.kind == "ignore" or decision.event is None:
        log.info("%s delivery %s ignored: %s", platform, delivery or "-", decision.reason)
        return _accepted(decision.reason)
    event = decision.event
    org = await _organization(runtime, event.owner)
    if org is None:
        log.info(
            "%s delivery %s ignored: organization %r has no model configuration",
            platform,
            delivery,
            event.owner,
        )
        return _accepted(f"organization {event.owner!r} has no model configuration")
    if isinstance(event, gl.MergeRequestEvent):
        try:
            await _verify_gitlab_project(runtime.settings, event)
        except IdentityError as exc:
            return _refused(platform, delivery, exc)
    payload_out = event.as_payload() | {"delivery": delivery or None}
    # A new pull request before new commits on an open one (hunkwise.config.scheduling).
    return await _enqueue(request, org, kind, payload_out, event.dedupe_key, priority_for(event.action))


async def _verify_gitlab_project(settings: Settings, event: gl.MergeRequestEvent) -> None:
    """Ask GitLab, with the server's token, whether ``project.id`` is ``path_with_namespace``
    (the path chose the organization). A mismatch or an id the token cannot see is refused
    (:class:`IdentityError`). When GitLab cannot answer now (down, rate limited, a token problem)
    the delivery is still queued: the job asks again before it reads anything, and keeps the
    error the operator has to see."""
    client = gl.GitLabClient(settings.gitlab_token, gl.configured_api_url(settings.gitlab_api_url))
    async with client:
        try:
            await client.verify_project(event.project_id, event.project_path)
        except PlatformNotFound:
            raise IdentityError(
                "project.id", event.project_id, "is not a project the server's GitLab token can see"
            ) from None
        except PlatformError as exc:
            log.warning(
                "GitLab project %s not verified at delivery (the job will): %s", event.project_id, exc
            )
