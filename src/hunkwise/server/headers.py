"""Security headers on every response the server sends, whoever produced it.

An ASGI middleware rather than per-route code, so 404s, 405s, 413s from the body limit, error
handlers' answers, static files and webhooks get the headers too. It is installed outermost, and
an exception that escapes the app is answered here (a JSON 500 with the headers) before it goes on
to the server's error log, because Starlette's own last-resort 500 is sent outside every
middleware.

``X-Content-Type-Options: nosniff`` is forced everywhere. The framing, referrer and
content-security defaults apply only where a route did not set its own: the console pages set
a stricter script policy, the API docs pages the one Swagger UI and ReDoc need.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

DEFAULTS: tuple[tuple[str, str], ...] = (
    # Nothing served here is meant to be framed, to leak its URL elsewhere, or (by default) to run
    # anything: JSON, CSS and JS files need no policy of their own to work.
    ("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'; base-uri 'none'"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "same-origin"),
)


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def with_headers(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = MutableHeaders(scope=message)
                headers["X-Content-Type-Options"] = "nosniff"
                for name, value in DEFAULTS:
                    if name not in headers:
                        headers[name] = value
            await send(message)

        try:
            await self.app(scope, receive, with_headers)
        except Exception:
            if not started:
                answer = JSONResponse({"detail": "internal server error (see the server log)"}, 500)
                await answer(scope, receive, with_headers)
            raise


__all__ = ["SecurityHeadersMiddleware"]
