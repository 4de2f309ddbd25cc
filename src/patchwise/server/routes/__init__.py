"""The routers, one module per resource, mounted in this order by :func:`include_routers`.

To add a resource, write ``patchwise/server/routes/<name>.py`` exposing ``router`` and add its
name here (the webhooks and reviews routers of the jobs work are mounted the same way).
"""

from __future__ import annotations

from importlib import import_module

from fastapi import FastAPI

ROUTE_MODULES: tuple[str, ...] = ("health", "orgs", "byok", "webhooks", "reviews", "jobs", "metrics")


def include_routers(app: FastAPI) -> None:
    for name in ROUTE_MODULES:
        app.include_router(import_module(f"patchwise.server.routes.{name}").router)
