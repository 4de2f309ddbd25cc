"""The FastAPI application factory.

``create_app(settings)`` wires settings, the store (migrated at start-up), the secret box and
the SSRF policy into ``app.state``, installs the error handlers, the body-size limit, the security
headers and (only when ``HUNKWISE_TRUSTED_PROXIES`` lists them) belief in reverse proxies'
``X-Forwarded-*`` headers, and mounts the routers listed in :mod:`hunkwise.server.routes`.
Long-running services that live as long as the app (the embedded job workers) are async context
managers listed in ``LIFESPAN_SERVICES`` as ``"module:function"``; each receives the app.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from importlib import import_module

from fastapi import FastAPI
from sqlalchemy import Engine
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from hunkwise import __version__
from hunkwise.config.ssrf import SsrfPolicy
from hunkwise.jobs.resolver import SlotResolver
from hunkwise.server.errors import BodyLimitMiddleware, install_error_handlers
from hunkwise.server.headers import SecurityHeadersMiddleware
from hunkwise.server.routes import include_routers
from hunkwise.server.settings import Settings
from hunkwise.store.db import open_store
from hunkwise.store.secrets import SecretBox, load_secret_box

log = logging.getLogger("hunkwise.server")

LIFESPAN_SERVICES: tuple[str, ...] = ("hunkwise.jobs.distributed.service:job_service",)
"""``"package.module:function"`` names of ``(app) -> async context manager`` services started
with the app and stopped with it, in order (stopped in reverse). The job service runs the embedded
worker pool, or publishes to the broker for ``hunkwise worker`` when ``HUNKWISE_QUEUE_URL`` is set."""

Service = Callable[[FastAPI], AbstractAsyncContextManager[None]]


def _load_service(name: str) -> Service:
    module, _, attr = name.partition(":")
    return getattr(import_module(module), attr)  # type: ignore[no-any-return]


def create_app(
    settings: Settings | None = None,
    *,
    engine: Engine | None = None,
    secret_box: SecretBox | None = None,
    ssrf_policy: SsrfPolicy | None = None,
    services: tuple[Service, ...] | None = None,
) -> FastAPI:
    """Build the app. Everything not given is derived from ``settings`` (default: the environment).

    The store is opened and migrated, and the master key loaded (or generated), right here, so a
    bad database URL or secret key fails before the server accepts a connection.
    """
    settings = settings or Settings.from_env()
    fixed = settings.fixed()
    engine = engine or open_store(settings.database_url)
    box = secret_box or load_secret_box(settings.env, create=True)  # set-up: the one place that creates it
    policy = ssrf_policy or settings.ssrf_policy
    extra = services if services is not None else tuple(_load_service(n) for n in LIFESPAN_SERVICES)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        mode = f"fixed mode ({fixed.main.label})" if fixed else "per-organization BYOK"
        log.info("hunkwise server %s on %s, %s", __version__, engine.dialect.name, mode)
        if settings.admin_token is None:
            log.warning("HUNKWISE_ADMIN_TOKEN is not set: admin API calls are refused")
        async with AsyncExitStack() as stack:
            for service in extra:
                await stack.enter_async_context(service(app))
            yield

    app = FastAPI(
        title="hunkwise",
        version=__version__,
        description="Self-hosted AI code review server: organizations, BYOK model slots, reviews.",
        lifespan=lifespan,
        docs_url=None,  # served by hunkwise.server.routes.docs, without a CDN
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.secret_box = box
    app.state.ssrf_policy = policy
    app.state.slot_resolver = SlotResolver(engine, box=box, policy=policy, fixed=fixed)
    install_error_handlers(app)
    include_routers(app)
    # The last added runs first: headers outermost, then the client address, then the body limit.
    app.add_middleware(BodyLimitMiddleware, limit=settings.max_body_bytes)
    if settings.trusted_proxies:
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=list(settings.trusted_proxies))
    app.add_middleware(SecurityHeadersMiddleware)
    return app


__all__ = ["LIFESPAN_SERVICES", "create_app"]
