"""Templates and small display helpers shared by the console pages.

Jinja2 autoescapes every ``.html`` template, so anything from the database or a provider is
escaped; the only values marked safe are the SVG charts, which :mod:`charts` builds from
numbers and escaped labels.
"""

from __future__ import annotations

from datetime import datetime
from importlib import resources
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from hunkwise import __version__
from hunkwise.server.web.auth import ConsoleUser

_TEMPLATES = Jinja2Templates(directory=str(resources.files("hunkwise.server") / "templates"))


def tokens(n: int | float | None) -> str:
    """12345 -> '12.3k': token counts read at a glance."""
    if n is None:
        return "–"
    n = float(n)
    for unit, size in (("M", 1e6), ("k", 1e3)):
        if abs(n) >= size:
            return f"{n / size:.1f}".removesuffix(".0") + unit
    return f"{n:.0f}"


def usd(value: float | None) -> str:
    if value is None:
        return "–"
    if value == 0:
        return "$0"
    return f"${value:.4f}".rstrip("0").rstrip(".") if value < 1 else f"${value:,.2f}"


def when(value: str | datetime | None) -> str:
    if value is None:
        return "–"
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return value
    return value.strftime("%Y-%m-%d %H:%M UTC")


def seconds(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value:.1f} s" if value < 120 else f"{value / 60:.1f} min"


_TEMPLATES.env.filters.update(tokens=tokens, usd=usd, when=when, seconds=seconds)


def page(
    request: Request, name: str, user: ConsoleUser | None, status_code: int = 200, **context: Any
) -> HTMLResponse:
    context.update(user=user, version=__version__, path=request.url.path)
    response = _TEMPLATES.TemplateResponse(request, name, context, status_code=status_code)
    # Pages hold a CSRF token and an organization's settings: never cached, never framed, no
    # script but our own files. (nosniff, X-Frame-Options, Referrer-Policy: server/headers.py.)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Content-Security-Policy"] = (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    )
    return response
