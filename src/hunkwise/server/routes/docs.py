"""The API docs pages (/docs: Swagger UI, /redoc: ReDoc) with their scripts served from here.

FastAPI's defaults load Swagger UI and ReDoc from a CDN, which fails on an offline installation
and would put a third-party origin in the pages' script policy. The assets come from the
``fastapi-offline`` package instead (a dependency, updated on PyPI with upstream's releases) and
are served under ``/static/docs/``; the pages are FastAPI's own ``get_swagger_ui_html`` and
``get_redoc_html`` pointed at them.

Each page has its own Content-Security-Policy: scripts from this origin only, plus, for Swagger
UI, the one inline bootstrap script FastAPI writes, allowed by its SHA-256 (not by
``'unsafe-inline'``). Both libraries style elements at run time, so ``style-src`` allows inline
styles; ReDoc runs its search index in a ``blob:`` worker.
"""

from __future__ import annotations

import base64
import hashlib
import re
from functools import cache
from importlib import resources

from fastapi import APIRouter, HTTPException, Request, status
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse, Response

router = APIRouter(include_in_schema=False)

ASSETS_URL = "/static/docs"
ASSETS: dict[str, str] = {
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "swagger-ui.css": "text/css; charset=utf-8",
    "redoc.standalone.js": "text/javascript; charset=utf-8",
    "favicon.png": "image/png",
}
_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.DOTALL)
_COMMON = (
    "default-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'"
)


def _csp(html: str, extra: str = "") -> str:
    hashes = " ".join(
        "'sha256-" + base64.b64encode(hashlib.sha256(s.encode()).digest()).decode() + "'"
        for s in _INLINE_SCRIPT.findall(html)
    )
    script = f"script-src 'self' {hashes}".rstrip()
    return f"{_COMMON}; {script}; style-src 'self' 'unsafe-inline'{extra}"


def _page(response: HTMLResponse, extra: str = "") -> HTMLResponse:
    html = bytes(response.body).decode()
    headers = {"Content-Security-Policy": _csp(html, extra), "Cache-Control": "no-store"}
    return HTMLResponse(html, headers=headers)


def _root(request: Request) -> str:
    return str(request.scope.get("root_path", "")).rstrip("/")


@router.get("/docs", response_class=HTMLResponse)
async def swagger_ui(request: Request) -> HTMLResponse:
    root = _root(request)
    return _page(
        get_swagger_ui_html(
            openapi_url=f"{root}{request.app.openapi_url}",
            title=f"{request.app.title} API",
            swagger_js_url=f"{root}{ASSETS_URL}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{ASSETS_URL}/swagger-ui.css",
            swagger_favicon_url=f"{root}{ASSETS_URL}/favicon.png",
            # Swagger UI would otherwise send the schema to validator.swagger.io for a badge.
            swagger_ui_parameters={"validatorUrl": None},
        )
    )


@router.get("/redoc", response_class=HTMLResponse)
async def redoc(request: Request) -> HTMLResponse:
    root = _root(request)
    return _page(
        get_redoc_html(
            openapi_url=f"{root}{request.app.openapi_url}",
            title=f"{request.app.title} API",
            redoc_js_url=f"{root}{ASSETS_URL}/redoc.standalone.js",
            redoc_favicon_url=f"{root}{ASSETS_URL}/favicon.png",
            with_google_fonts=False,
        ),
        extra="; worker-src 'self' blob:",
    )


@cache
def _asset(name: str) -> bytes:
    return (resources.files("fastapi_offline") / "static" / name).read_bytes()


@router.get(ASSETS_URL + "/{name}")
async def asset(name: str) -> Response:
    if name not in ASSETS:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such file")
    return Response(_asset(name), media_type=ASSETS[name], headers={"Cache-Control": "public, max-age=86400"})
