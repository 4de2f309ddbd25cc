"""The FastAPI application factory.

``create_app(settings)`` builds the server's :class:`~hunkwise.jobs.runtime.Runtime` (the store
opened and migrated, the master key loaded or generated, the fixed configuration resolved) unless
it is given one, keeps it in ``app.state.runtime`` for the routes' typed dependencies, installs
the error handlers, the body-size limit, the security headers and (only when
``HUNKWISE_TRUSTED_PROXIES`` lists them) belief in reverse proxies' ``X-Forwarded-*`` headers,
and mounts the routers of :mod:`hunkwise.server.routes`. The job service
(:func:`hunkwise.jobs.distributed.service.job_service`) lives as long as the app: the embedded
worker pool, or the publisher for ``hunkwise worker`` processes when ``HUNKWISE_QUEUE_URL`` is set.

Named like :mod:`hunkwise.cli.app` and :mod:`hunkwise.sim.app` on purpose: in each runnable package,
``app`` is the application object that package runs (here the server's FastAPI app).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from hunkwise import __version__
from hunkwise.config.settings import Settings
from hunkwise.config.ssrf import SsrfPolicy
from hunkwise.errors import ConfigurationError
from hunkwise.jobs.distributed.service import job_service
from hunkwise.jobs.runtime import Runtime
from hunkwise.server import web
from hunkwise.server.error_handlers import BodyLimitMiddleware, install_error_handlers
from hunkwise.server.headers import SecurityHeadersMiddleware
from hunkwise.server.routes import include_routers

log = logging.getLogger("hunkwise.server")

ADMIN_TOKEN_ENV = "HUNKWISE_ADMIN_TOKEN"
MIN_ADMIN_TOKEN = 24


def check_admin_token(settings: Settings) -> None:
    """A server holds other people's API keys: refuse a guessable admin token outside development
    (``HUNKWISE_DEV=1``), naming the variable to fix."""
    if settings.admin_token is None or settings.dev:
        return
    token = settings.admin_token.get_secret_value()
    if len(token) < MIN_ADMIN_TOKEN or len(set(token)) < 8:
        raise ConfigurationError(
            f"{ADMIN_TOKEN_ENV} is too weak: use at least {MIN_ADMIN_TOKEN} random characters "
            '(python -c "import secrets; print(secrets.token_urlsafe(32))"), or set HUNKWISE_DEV=1 '
            "on a development machine",
            setting=ADMIN_TOKEN_ENV,
        )


def create_app(
    settings: Settings | None = None,
    *,
    ssrf_policy: SsrfPolicy | None = None,
    runtime: Runtime | None = None,
) -> FastAPI:
    """Build the app over ``runtime``, or over a server runtime built here from ``settings``
    (default: read from the environment) and ``ssrf_policy`` (default: the settings' allow-list).

    Everything is checked right here, so a weak admin token, a bad database URL or secret key, or
    a typo in the fixed-mode settings fails before the server accepts a connection.
    """
    if runtime is None:
        settings = settings if settings is not None else Settings.from_env()
        check_admin_token(settings)
        runtime = Runtime.for_server(settings, policy=ssrf_policy)
    else:
        check_admin_token(runtime.settings)
    settings = runtime.settings

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        fixed = runtime.fixed
        mode = f"fixed mode ({fixed.main.label})" if fixed else "per-organization BYOK"
        log.info("hunkwise server %s on %s, %s", __version__, runtime.engine.dialect.name, mode)
        if settings.admin_token is None:
            log.warning("HUNKWISE_ADMIN_TOKEN is not set: admin API calls are refused")
        try:
            async with job_service(runtime) as jobs:
                state = app.state
                state.job_queue, state.worker_pool, state.job_metrics = jobs.queue, jobs.pool, jobs.metrics
                state.job_publisher = jobs.publisher
                yield
        finally:
            await runtime.aclose()

    app = FastAPI(
        title="hunkwise",
        version=__version__,
        description="Self-hosted AI code review server: organizations, BYOK model slots, reviews.",
        lifespan=lifespan,
        docs_url=None,  # served by hunkwise.server.routes.docs, without a CDN
        redoc_url=None,
    )
    app.state.runtime = runtime
    install_error_handlers(app)
    include_routers(app)
    web.install(app)
    # The last added runs first: headers outermost, then the client address, then the body limit.
    app.add_middleware(BodyLimitMiddleware, limit=settings.max_body_bytes)
    if settings.trusted_proxies:
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=list(settings.trusted_proxies))
    app.add_middleware(SecurityHeadersMiddleware)
    return app


__all__ = ["check_admin_token", "create_app"]
