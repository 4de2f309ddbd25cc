"""The embedded job service: a worker pool living as long as the server app.

Started by :func:`hunkwise.jobs.distributed.service.job_service` with the server's
:class:`~hunkwise.jobs.runtime.Runtime`; it yields the queue and the pool, which the server
publishes for its webhook routes. ``HUNKWISE_JOB_WORKERS`` (default 2) sets how many jobs run at
once on this server; 0 disables the pool (a separate worker runs jobs).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any

from hunkwise.config.outbound import platform_transport
from hunkwise.jobs.command_job import command_handlers
from hunkwise.jobs.engine import JobHooks
from hunkwise.jobs.pool import WorkerPool
from hunkwise.jobs.queue import DatabaseQueue
from hunkwise.jobs.review_job import ReviewDeps, StatusHooks, make_handlers
from hunkwise.jobs.runtime import Runtime

WORKERS_ENV = "HUNKWISE_JOB_WORKERS"


def review_deps(runtime: Runtime) -> ReviewDeps:
    """The review job's dependencies from the process's runtime."""
    from hunkwise.config.resolve import resolve_catalog
    from hunkwise.jobs.conversation_events import demotion_rule
    from hunkwise.jobs.mode import mode_record
    from hunkwise.jobs.review_status import StatusPolicy
    from hunkwise.jobs.schedule import window_capacity
    from hunkwise.platforms.azure_devops import AzureDevOpsClient
    from hunkwise.platforms.azure_devops_events import configured_api_url as azure_api_url
    from hunkwise.platforms.bitbucket import BitbucketClient
    from hunkwise.platforms.bitbucket_webhooks import configured_api_url as bitbucket_api_url
    from hunkwise.platforms.gitlab import GitLabClient
    from hunkwise.platforms.gitlab import configured_api_url as gitlab_api_url
    from hunkwise.review.engine import ReviewOptions
    from hunkwise.store.orgs import cost_ceiling_for_org, spill_for_org

    settings, engine = runtime.settings, runtime.engine
    # Always the configured API root, never a job's payload: the server's token goes only there
    # (jobs stored before the webhook route refused foreign hosts included). GitHub's clients
    # come from the runtime's one factory (personal token or App installation tokens).
    gitlab_root = gitlab_api_url(settings.gitlab_api_url)
    max_cost = runtime.max_cost
    network = settings.network
    platform_clients: dict[str, Callable[[Any], Any]] = {}
    if settings.bitbucket_token is not None:  # the configured API root only, never a payload's
        bitbucket_root = bitbucket_api_url(settings.bitbucket_api_url)
        platform_clients["bitbucket"] = lambda ev: BitbucketClient(
            settings.bitbucket_token,
            bitbucket_root,
            username=settings.bitbucket_username,
            bot_uuid=settings.bitbucket_bot_uuid,
            transport=platform_transport(network, bitbucket_root),
        )
    if settings.gitea_url:  # the configured instance only: a payload's host is never used
        from hunkwise.platforms.gitea import GiteaClient
        from hunkwise.platforms.gitea_webhooks import api_root

        gitea_root = api_root(settings.gitea_url)
        platform_clients["gitea"] = lambda ev: GiteaClient(
            settings.gitea_token, gitea_root, transport=platform_transport(network, gitea_root)
        )
    azure_root = azure_api_url(settings.azure_devops_url)
    if azure_root and settings.azure_devops_token is not None:
        token = settings.azure_devops_token
        platform_clients["azure_devops"] = lambda ev: AzureDevOpsClient(
            token, azure_root, transport=platform_transport(network, azure_root)
        )
    catalog = resolve_catalog(settings=settings)
    return ReviewDeps(
        engine=engine,
        slots_for_org=runtime.slots.slots_for,
        github=runtime.github_clients().for_event,  # personal token or App installation tokens
        gitlab=lambda ev: GitLabClient(
            settings.gitlab_token, gitlab_root, transport=platform_transport(network, gitlab_root)
        ),
        platform_clients=platform_clients,
        backend=runtime.limits,  # one limiter/circuit state for every job of this process
        # BYOK: every connection re-checks the SSRF policy on the address it dials (not in fixed
        # mode: the admin's own configuration is trusted, like the CLI's).
        clients=runtime.clients,
        mode=mode_record(runtime.fixed, settings),
        max_cost_for_org=lambda org: cost_ceiling_for_org(engine, org, max_cost),
        budget_for_org=runtime.budget_for,
        options=lambda: ReviewOptions(context=settings.review_context),
        status_policy=lambda org: StatusPolicy(
            fail_on=settings.status_fail_on,
            incomplete=settings.status_incomplete,
            max_skipped_files=settings.status_max_skipped_files,
        ),
        demotion=lambda org, repository: demotion_rule(
            engine,
            org,
            repository,
            threshold=settings.feedback_threshold,
            min_samples=settings.feedback_min_samples,
        ),
        spill_for_org=lambda org: spill_for_org(engine, org, runtime.spill),
        # The windows' ceilings and the peak-hour rule with the config files' [tiers.<name>] and
        # [peak_hours] overrides, as the gateway and the usage views read them.
        capacity=window_capacity(engine, monitor=runtime.quota_monitor, catalog=catalog),
        catalog=catalog,
    )


@asynccontextmanager
async def embedded_workers(
    runtime: Runtime, *, hooks: Sequence[JobHooks] = ()
) -> AsyncIterator[tuple[DatabaseQueue, WorkerPool]]:
    """The database queue and ``HUNKWISE_JOB_WORKERS`` workers running its jobs here; ``hooks``
    go to their job engine (the server's metrics)."""
    queue = DatabaseQueue(runtime.engine)
    count = runtime.settings.job_workers
    deps = review_deps(runtime)
    handlers = make_handlers(deps) | command_handlers(deps, runtime.settings.bot_handle)
    pool = WorkerPool(queue, handlers, concurrency=count, hooks=(*hooks, StatusHooks(deps)))
    if count:
        pool.start()
    try:
        yield queue, pool
    finally:
        await pool.stop()
