"""The embedded job service: a worker pool living as long as the server app.

Listed in ``hunkwise.server.app.LIFESPAN_SERVICES``; it reads what it needs from
``app.state`` (engine, settings, secret box, SSRF policy) and publishes ``app.state.job_queue``
and ``app.state.worker_pool`` for the webhook routes. ``HUNKWISE_JOB_WORKERS`` (default 2) sets
how many jobs run at once on this server; 0 disables the pool (a separate worker runs jobs).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from hunkwise.gateway.errors import ConfigurationError
from hunkwise.jobs.queue import DatabaseQueue
from hunkwise.jobs.review_job import ReviewDeps, make_handlers
from hunkwise.jobs.worker import WorkerPool

WORKERS_ENV = "HUNKWISE_JOB_WORKERS"
DEFAULT_WORKERS = 2


def worker_count(env: dict[str, str]) -> int:
    raw = env.get(WORKERS_ENV, "").strip()
    if not raw:
        return DEFAULT_WORKERS
    if not raw.isdigit() or int(raw) > 64:
        raise ConfigurationError(
            f"{WORKERS_ENV} = {raw!r} must be a whole number from 0 to 64", setting=WORKERS_ENV
        )
    return int(raw)


def review_deps(state: Any) -> ReviewDeps:
    """The review job's dependencies from a server's ``app.state``."""
    from hunkwise.gateway.limits.local import LocalBackend
    from hunkwise.jobs.mode import mode_record
    from hunkwise.platforms.github import GitHubClient
    from hunkwise.platforms.github_webhooks import configured_api_url as github_api_url
    from hunkwise.platforms.gitlab import GitLabClient
    from hunkwise.platforms.gitlab import configured_api_url as gitlab_api_url
    from hunkwise.store.orgs import cost_ceiling_for_org

    env: dict[str, str] = state.settings.env
    engine = state.engine
    resolver = state.slot_resolver

    return ReviewDeps(
        engine=engine,
        slots_for_org=resolver.slots_for,
        backend=LocalBackend(),  # one limiter/circuit state for every job of this process
        # BYOK: every connection re-checks the SSRF policy on the address it dials (not in fixed
        # mode: the admin's own configuration is trusted, like the CLI's).
        clients=resolver.clients,
        # Always the configured API root, never a job's payload: the server's token goes only there
        # (jobs stored before the webhook route refused foreign hosts included).
        github=lambda ev: GitHubClient.from_env(github_api_url(env), env=env),
        gitlab=lambda ev: GitLabClient.from_env(gitlab_api_url(env), env=env),
        mode=mode_record(state.settings.fixed(), env),
        max_cost_for_org=lambda org: cost_ceiling_for_org(engine, org, state.settings.max_cost),
    )


@asynccontextmanager
async def embedded_workers(app: Any) -> AsyncIterator[None]:
    state = app.state
    queue = DatabaseQueue(state.engine)
    state.job_queue = queue
    count = worker_count(state.settings.env)
    deps = review_deps(state)
    pool = WorkerPool(queue, make_handlers(deps), concurrency=count)
    state.worker_pool = pool
    if count:
        pool.start()
    try:
        yield
    finally:
        await pool.stop()
        if deps.backend is not None:
            await deps.backend.aclose()
