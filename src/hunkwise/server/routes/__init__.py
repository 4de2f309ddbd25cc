"""The routers, one module per resource, mounted in this order by :func:`include_routers`.

To add a resource, write ``hunkwise/server/routes/<name>.py`` exposing ``router`` and add it to
:data:`ROUTERS` (plain imports, so the layering test sees every route module). The web console
lives in its own package and is mounted by the app beside these (:func:`hunkwise.server.web.install`,
it needs an exception handler too); it is not imported here because its Models page calls the
BYOK route functions, and the two packages importing each other would be an import cycle.
"""

from __future__ import annotations

from fastapi import APIRouter, FastAPI

from hunkwise.server.routes import (
    advice,
    azure_devops_webhook,
    bitbucket_webhook,
    byok,
    docs,
    feedback,
    gitea_webhook,
    health,
    installations,
    jobs,
    metrics,
    orgs,
    reviews,
    usage,
    webhooks,
)

ROUTERS: tuple[APIRouter, ...] = (
    health.router,
    orgs.router,
    feedback.router,
    byok.router,
    installations.router,
    webhooks.router,
    bitbucket_webhook.router,
    gitea_webhook.router,
    azure_devops_webhook.router,
    reviews.router,
    jobs.router,
    usage.router,
    advice.router,
    metrics.router,
    docs.router,
)


def include_routers(app: FastAPI) -> None:
    for router in ROUTERS:
        app.include_router(router)
