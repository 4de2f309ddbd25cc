"""``POST /webhooks/github`` and ``POST /webhooks/gitlab``: verify, classify, enqueue one job.

Order matters: the signature (or token) is checked on the raw bytes before anything is parsed or
stored, so an unsigned request costs one HMAC and leaves no trace. The secret is shared by every
tenant, so a signed delivery's identities are still untrusted: an owner, repository, project path,
number or commit that is not one is refused with 422 naming the field (nothing stored), and a GitLab
project id must be the project its path names, which GitLab is asked; in GitHub App mode an
``installation`` delivery is stored only as GitHub's ``GET /app/installations/{id}`` confirms it
(503 when GitHub cannot be asked: GitHub does not redeliver by itself). A delivery we do not act on
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

from hunkwise.config.outbound import platform_transport
from hunkwise.config.scheduling import MANUAL_PRIORITY, priority_for
from hunkwise.config.settings import Settings
from hunkwise.errors import ConfigurationError
from hunkwise.jobs import conversation_events as conversation
from hunkwise.jobs.command_job import GITHUB_COMMAND_KIND, GITLAB_COMMAND_KIND
from hunkwise.jobs.queue import DatabaseQueue, JobQueue
from hunkwise.jobs.review_job import GITHUB_KIND, GITLAB_KIND
from hunkwise.jobs.runtime import Runtime
from hunkwise.platforms import commands, identity
from hunkwise.platforms import github_webhooks as gh
from hunkwise.platforms import gitlab as gl
from hunkwise.platforms.github import GitHubClient
from hunkwise.platforms.identity import IdentityError, shown
from hunkwise.platforms.review_post import PlatformError, PlatformNotFound
from hunkwise.platforms.status import STATUS_NAME
from hunkwise.server.deps import RuntimeDep
from hunkwise.server.routes import installations
from hunkwise.store.byok_slots import load_byok
from hunkwise.store.command_counts import take_command
from hunkwise.store.orgs import normalize_slug

log = logging.getLogger("hunkwise.webhooks")
router = APIRouter(prefix="/webhooks", tags=["webhooks"])


def _accepted(reason: str, **extra: Any) -> JSONResponse:
    return JSONResponse(
        {"status": "ignored", "reason": reason, **extra}, status_code=status.HTTP_202_ACCEPTED
    )


def refuse_identity(platform: str, delivery: str, exc: IdentityError) -> JSONResponse:
    """422 naming the field, in the API's validation shape (``loc`` is the payload field); logged
    once (the message shows a cut-down value, never a whole payload string)."""
    log.warning("%s delivery %s refused: %s", platform, shown(delivery), exc)
    detail = [{"loc": ["body", *exc.field.split(".")], "msg": str(exc), "type": "value_error"}]
    return JSONResponse({"detail": detail}, status_code=status.HTTP_422_UNPROCESSABLE_CONTENT)


def parse_body(body: bytes) -> dict[str, Any]:
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
    secret = secret_value(settings.github_webhook_secret)
    authenticate(
        "GitHub",
        gh.verify_signature(secret, body, request.headers.get(gh.SIGNATURE_HEADER)),
        secret_set=bool(secret),
        credential=f"{gh.SIGNATURE_HEADER} signature",
        setting=gh.SECRET_ENV,
    )
    payload = parse_body(body)
    delivery = request.headers.get(gh.DELIVERY_HEADER, "")
    if (event_name := request.headers.get(gh.EVENT_HEADER)) in gh.INSTALLATION_EVENTS:
        return await _github_installation(runtime, event_name, payload, delivery)
    try:
        decision = gh.classify(
            request.headers.get(gh.EVENT_HEADER),
            payload,
            api_url=gh.configured_api_url(settings.github_api_url),
        )
    except IdentityError as exc:
        return refuse_identity("GitHub", delivery, exc)
    except gh.WebhookPayloadError as exc:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, str(exc)) from None
    if decision.kind == "ping":
        return JSONResponse({"status": "pong", "zen": payload.get("zen")}, status_code=status.HTTP_200_OK)
    if event_name in commands.GITHUB_COMMENT_EVENTS:
        return await _github_command(request, runtime, event_name, payload, delivery)
    if event_name == "check_run":
        return await _github_rerun(request, runtime, payload, delivery)
    if event_name == "pull_request_review_thread":
        said, changed = await conversation.github_thread_event(runtime, payload, delivery)
        return _accepted(said, recorded=changed)
    if decision.event is not None and decision.kind == "review":
        pr = decision.event
        if (
            why := await installations.app_gate(runtime, pr.installation_id, pr.owner, pr.repository)
        ) is not None:
            log.info("GitHub delivery %s ignored: %s", delivery or "-", why)
            return _accepted(why)
    return await accept_review(request, runtime, "GitHub", GITHUB_KIND, decision, delivery)


async def _github_installation(
    runtime: Runtime, event_name: str, payload: dict[str, Any], delivery: str
) -> JSONResponse:
    """``installation`` / ``installation_repositories``: the App's installations in the store
    (server/routes/installations.py), as GitHub confirms them; nothing is queued. Only in App
    mode: without the App's credentials no App delivers here, and the secret is the one given to
    every repository webhook, so such a delivery is not GitHub's word and is not recorded.

    When GitHub cannot confirm the delivery (unreachable, 5xx, rate limited, the App's JWT
    refused) nothing is stored and the answer is 503 with the reason. GitHub does not redeliver a
    failed delivery by itself (docs.github.com "Handling failed webhook deliveries"), so there is
    no Retry-After: the 503 marks the delivery failed in the App's "Recent Deliveries", where the
    operator (or a redelivery script, which looks for failed deliveries) redelivers it."""
    app = runtime.github_clients().app
    if app is None:
        return _accepted(
            f"{event_name} deliveries are recorded only when the server runs as a GitHub App "
            "(set HUNKWISE_GITHUB_APP_ID and HUNKWISE_GITHUB_APP_PRIVATE_KEY, then redeliver it from "
            "the App's advanced settings)"
        )
    try:
        event = gh.parse_installation(event_name, payload)
        if event is None:
            return _accepted(f"{event_name} {shown(payload.get('action'))} changes nothing here")
        outcome = await installations.installation_delivery(runtime, app, event, delivery)
    except IdentityError as exc:
        return refuse_identity("GitHub", delivery, exc)
    except gh.WebhookPayloadError as exc:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, str(exc)) from None
    except PlatformError as exc:
        detail = (
            f"could not confirm the {event_name} delivery with GitHub (GET /app/installations/{{id}}): "
            f"{exc}. Nothing was stored; GitHub does not retry a failed delivery: once GitHub answers "
            "again, open the App's settings > Advanced > Recent Deliveries and click Redeliver on it"
        )
        log.warning("GitHub delivery %s not confirmed: %s", shown(delivery), exc)
        return JSONResponse({"detail": detail}, status_code=status.HTTP_503_SERVICE_UNAVAILABLE)
    if not outcome.recorded:
        return _accepted(outcome.said)
    return JSONResponse({"status": "recorded", "reason": outcome.said}, status_code=status.HTTP_202_ACCEPTED)


def _installation_id(payload: dict[str, Any]) -> int | None:
    """The delivery's installation (validated: :class:`IdentityError` when not an id)."""
    return gh.installation_id_of(payload)


@router.post("/gitlab", status_code=202, summary="GitLab webhook (merge request events)")
async def gitlab_webhook(request: Request, runtime: RuntimeDep) -> JSONResponse:
    body = await request.body()
    settings = runtime.settings
    secret = secret_value(settings.gitlab_webhook_secret)
    authenticate(
        "GitLab",
        gl.verify_token(secret, request.headers.get(gl.TOKEN_HEADER)),
        secret_set=bool(secret),
        credential=gl.TOKEN_HEADER,
        setting=gl.SECRET_ENV,
    )
    payload = parse_body(body)
    delivery = request.headers.get(gl.DELIVERY_HEADER, "")
    if payload.get("object_kind") == "note":
        return await _gitlab_command(request, runtime, payload, delivery)
    try:
        decision = gl.classify(
            request.headers.get(gl.EVENT_HEADER),
            payload,
            api_url=gl.configured_api_url(settings.gitlab_api_url),
        )
    except IdentityError as exc:
        return refuse_identity("GitLab", delivery, exc)
    except gl.GitLabPayloadError as exc:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, str(exc)) from None
    return await accept_review(request, runtime, "GitLab", GITLAB_KIND, decision, delivery)


# -- @hunkwise commands (docs/conversation.md) -------------------------------------------------------
async def _github_command(
    request: Request, runtime: Runtime, event_name: str, payload: dict[str, Any], delivery: str
) -> JSONResponse:
    settings = runtime.settings
    api_url = gh.configured_api_url(settings.github_api_url)
    try:
        decision = commands.classify_github(
            event_name,
            payload,
            handle=settings.bot_handle,
            api_url=api_url,
            bot_login=settings.github_bot_login,
        )
        installation = _installation_id(payload)
    except IdentityError as exc:
        return refuse_identity("GitHub", delivery, exc)
    except gh.WebhookPayloadError as exc:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, str(exc)) from None
    if decision.event is None or decision.command is None:
        log.info("GitHub delivery %s ignored: %s", delivery or "-", decision.reason)
        return _accepted(decision.reason)
    event, command = decision.event, decision.command
    org = await _organization(runtime, event.owner)
    if org is None:
        return _ignored_command(
            "GitHub", delivery, f"organization {event.owner!r} has no model configuration"
        )
    if (
        why := await installations.app_gate(runtime, installation, event.owner, event.repository)
    ) is not None:
        return _ignored_command("GitHub", delivery, why)
    async with runtime.github_clients().client(event.owner, installation) as client:
        try:
            if event.author_id == await client.own_user_id():
                return _ignored_command("GitHub", delivery, "the comment is the bot's own: never answered")
            allowed, level = await client.can_write(event.repository, event.author)
        except (PlatformError, IdentityError) as exc:
            return _ignored_command(
                "GitHub", delivery, f"the permission of {event.author!r} could not be checked ({exc})"
            )
        if not allowed:
            why = f"{event.author!r} may not command hunkwise on {event.repository}"
            return _ignored_command("GitHub", delivery, f"{why} (permission {level}; write needed)")
        if (limited := await _rate_limited(runtime, event.pull_key)) is not None:
            return _ignored_command("GitHub", delivery, limited)
        if command.verb == "review":
            try:
                review = await _read_pull_request(
                    client, event.repository, event.number, "requested", installation, api_url
                )
            except (PlatformError, IdentityError, gh.WebhookPayloadError) as exc:
                return _ignored_command("GitHub", delivery, f"the pull request could not be read ({exc})")
            if review.repository.lower() != event.repository.lower():
                return _ignored_command("GitHub", delivery, "the pull request is in another repository")
            payload_out = review.as_payload() | {"delivery": delivery or None, "asked_by": event.author}
            return await _enqueue(
                request,
                org,
                GITHUB_KIND,
                payload_out,
                f"{review.dedupe_key}#asked-{event.comment_id}",
                MANUAL_PRIORITY,
            )
    payload_out = event.as_payload() | {"delivery": delivery or None}
    return await _enqueue(request, org, GITHUB_COMMAND_KIND, payload_out, event.dedupe_key, MANUAL_PRIORITY)


async def _read_pull_request(
    client: GitHubClient, repository: str, number: int, action: str, installation: int | None, api_url: str
) -> gh.PullRequestEvent:
    """A pull request read from the API (never taken from a comment's or a check run's payload),
    as the event a review job stores, its identities validated like a delivery's. Raises
    :class:`PlatformError`, :class:`IdentityError` or :class:`gh.WebhookPayloadError`."""
    pr = await client.pull_request(repository, number)
    base = pr.get("base") if isinstance(pr.get("base"), dict) else {}
    shaped = {
        "action": action,
        "number": number,
        "pull_request": pr,
        "repository": base.get("repo"),
        "installation": {"id": installation} if installation else None,
    }
    return gh.parse_pull_request(shaped, api_url=api_url)


async def _github_rerun(
    request: Request, runtime: Runtime, payload: dict[str, Any], delivery: str
) -> JSONResponse:
    """``check_run`` ``rerequested`` on the ``hunkwise`` check run (GitHub's *Re-run* button,
    which only people with write access see): a new review of that head, e.g. after a failure
    for a spent quota. The pull request is read from the API, never taken from the payload."""
    settings = runtime.settings
    run = payload.get("check_run") if isinstance(payload.get("check_run"), dict) else {}
    if payload.get("action") != "rerequested" or run.get("name") != STATUS_NAME:
        action = payload.get("action") or "(none)"
        return _accepted(f"check_run {action} of {shown(run.get('name'))} is not ours to re-run")
    api_url = gh.configured_api_url(settings.github_api_url)
    repo = payload.get("repository") if isinstance(payload.get("repository"), dict) else {}
    pulls = [p for p in run.get("pull_requests") or [] if isinstance(p, dict)]
    try:
        repository = "/".join(identity.github_repository(repo.get("full_name"), "repository.full_name"))
        head = identity.commit_sha(run.get("head_sha"), "check_run.head_sha")
        numbers = [identity.positive_int(p.get("number"), "check_run.pull_requests.number") for p in pulls]
        installation = _installation_id(payload)
    except IdentityError as exc:
        return refuse_identity("GitHub", delivery, exc)
    if not numbers:
        return _ignored_command("GitHub", delivery, "the re-run check run names no pull request")
    org = await _organization(runtime, identity.owner_of(repository))
    if org is None:
        return _ignored_command(
            "GitHub", delivery, "the repository's organization has no model configuration"
        )
    gate = await installations.app_gate(runtime, installation, identity.owner_of(repository), repository)
    if gate is not None:
        return _ignored_command("GitHub", delivery, gate)
    async with runtime.github_clients().client(identity.owner_of(repository), installation) as client:
        try:
            review = await _read_pull_request(
                client, repository, numbers[0], "rerequested", installation, api_url
            )
        except (PlatformError, IdentityError, gh.WebhookPayloadError) as exc:
            return _ignored_command("GitHub", delivery, f"the pull request could not be read ({exc})")
    if review.head_sha != head or review.repository.lower() != repository.lower():
        return _ignored_command("GitHub", delivery, "the re-run check run is not on the pull request's head")
    payload_out = review.as_payload() | {"delivery": delivery or None}
    return await _enqueue(
        request,
        org,
        GITHUB_KIND,
        payload_out,
        f"{review.dedupe_key}#rerun-{delivery or head}",
        MANUAL_PRIORITY,
    )


async def _gitlab_command(
    request: Request, runtime: Runtime, payload: dict[str, Any], delivery: str
) -> JSONResponse:
    settings = runtime.settings
    api_url = gl.configured_api_url(settings.gitlab_api_url)
    try:
        decision = commands.classify_gitlab(payload, handle=settings.bot_handle, api_url=api_url)
    except IdentityError as exc:
        return refuse_identity("GitLab", delivery, exc)
    except gh.WebhookPayloadError as exc:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, str(exc)) from None
    if decision.event is None or decision.command is None:
        log.info("GitLab delivery %s ignored: %s", delivery or "-", decision.reason)
        return _accepted(decision.reason)
    event, command = decision.event, decision.command
    org = await _organization(runtime, event.owner)
    if org is None:
        return _ignored_command(
            "GitLab", delivery, f"organization {event.owner!r} has no model configuration"
        )
    async with gl.GitLabClient(
        settings.gitlab_token, api_url, transport=platform_transport(settings.network, api_url)
    ) as client:
        try:
            await client.verify_project(event.project_id, event.repository)  # type: ignore[arg-type]
            if event.author_id == await client.own_user_id():
                return _ignored_command("GitLab", delivery, "the note is the bot's own: never answered")
            allowed, level = await client.can_write(event.project_id, event.author_id)  # type: ignore[arg-type]
        except IdentityError as exc:
            return refuse_identity("GitLab", delivery, exc)
        except PlatformError as exc:
            return _ignored_command(
                "GitLab", delivery, f"the membership of {event.author!r} could not be checked ({exc})"
            )
        if not allowed:
            why = f"{event.author!r} may not command hunkwise on {event.repository}"
            return _ignored_command("GitLab", delivery, f"{why} ({level}; Developer needed)")
        if (limited := await _rate_limited(runtime, event.pull_key)) is not None:
            return _ignored_command("GitLab", delivery, limited)
        if command.verb == "review":
            try:
                mr = await client.merge_request(event.project_id, event.number)  # type: ignore[arg-type]
                review = gl.MergeRequestEvent(
                    action="update", owner=event.owner, project_id=event.project_id,  # type: ignore[arg-type]
                    project_path=event.repository, iid=event.number, head_sha=mr.get("sha"),  # type: ignore[arg-type]
                    draft=False, api_url=api_url,
                )  # fmt: skip
            except (PlatformError, IdentityError) as exc:
                return _ignored_command("GitLab", delivery, f"the merge request could not be read ({exc})")
            payload_out = review.as_payload() | {"delivery": delivery or None, "asked_by": event.author}
            return await _enqueue(
                request,
                org,
                GITLAB_KIND,
                payload_out,
                f"{review.dedupe_key}#asked-{event.comment_id}",
                MANUAL_PRIORITY,
            )
    payload_out = event.as_payload() | {"delivery": delivery or None}
    return await _enqueue(request, org, GITLAB_COMMAND_KIND, payload_out, event.dedupe_key, MANUAL_PRIORITY)


def _ignored_command(platform: str, delivery: str, reason: str) -> JSONResponse:
    """A command we do not act on: acknowledged (the platform must not retry) and logged."""
    log.info("%s delivery %s: command ignored: %s", platform, delivery or "-", reason)
    return _accepted(reason)


async def _rate_limited(runtime: Runtime, pull_key: str) -> str | None:
    """At most ``HUNKWISE_COMMANDS_PER_HOUR`` commands per pull request in any hour, counted in
    the store so that every server process shares the limit (docs/conversation.md)."""
    per_hour = runtime.settings.commands_per_hour
    if await run_in_threadpool(take_command, runtime.engine, pull_key, per_hour):
        return None
    return f"rate limited: more than {per_hour} command(s) in the last hour on {pull_key}"


def secret_value(value: SecretStr | None) -> str:
    return value.get_secret_value() if value is not None else ""


def authenticate(
    platform: str,
    verified: bool,
    *,
    secret_set: bool,
    credential: str,
    setting: str,
    headers: dict[str, str] | None = None,
) -> None:
    """Every webhook route's refusal, in one wording: when ``verified`` is false (the check ran on
    the raw bytes, in constant time, before anything is parsed), 401 naming the ``credential``
    the platform sends and the server ``setting`` it must equal; an unset setting is logged for
    the operator (every delivery is then refused: an empty secret accepts nothing)."""
    if not secret_set:
        log.warning("%s webhook refused: %s is not set on the server", platform, setting)
    if not verified:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            f"missing or invalid {credential} (it must match the server's {setting})",
            headers=headers,
        )


async def accept_review(
    request: Request,
    runtime: Runtime,
    platform: str,
    kind: str,
    decision: Any,
    delivery: str,
) -> JSONResponse:
    """The platform-neutral end of every pull request webhook: ignore (202 with the reason), or
    find the organization and enqueue one review job of ``kind`` per head."""
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
            return refuse_identity(platform, delivery, exc)
    payload_out = event.as_payload() | {"delivery": delivery or None}
    # A new pull request before new commits on an open one (hunkwise.config.scheduling).
    return await _enqueue(request, org, kind, payload_out, event.dedupe_key, priority_for(event.action))


async def _verify_gitlab_project(settings: Settings, event: gl.MergeRequestEvent) -> None:
    """Ask GitLab, with the server's token, whether ``project.id`` is ``path_with_namespace``
    (the path chose the organization). A mismatch or an id the token cannot see is refused
    (:class:`IdentityError`). When GitLab cannot answer now (down, rate limited, a token problem)
    the delivery is still queued: the job asks again before it reads anything, and keeps the
    error the operator has to see."""
    api_url = gl.configured_api_url(settings.gitlab_api_url)
    client = gl.GitLabClient(
        settings.gitlab_token, api_url, transport=platform_transport(settings.network, api_url)
    )
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
