"""The routers, one module per resource, mounted in this order by :func:`include_routers`.

To add a resource, write ``hunkwise/server/routes/<name>.py`` exposing ``router`` and add its
name here (the webhooks and reviews routers of the jobs work are mounted the same way).
"""

from __future__ import annotations

from importlib import import_module

from fastapi import FastAPI

ROUTE_MODULES: tuple[str, ...] = (
    "health",
    "orgs",
    "byok",
    "webhooks",
    "reviews",
    "jobs",
    "metrics",
    "docs",
    "hunkwise.server.web",
)
"""A bare name is ``hunkwise.server.routes.<name>``; a dotted name is a full module path (the web
console lives in its own package). A module with ``install(app)`` mounts itself (it may need
exception handlers too); otherwise its ``router`` is included."""


def include_routers(app: FastAPI) -> None:
    for name in ROUTE_MODULES:
        module = import_module(name if "." in name else f"hunkwise.server.routes.{name}")
        install = getattr(module, "install", None)
        if install is not None:
            install(app)
        else:
            app.include_router(module.router)
