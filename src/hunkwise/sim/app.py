"""The simulator's ASGI app: provider endpoints plus ``/_sim/*`` introspection.

``create_app`` returns a plain FastAPI app, usable in-process (httpx ASGITransport) or served by
uvicorn (:class:`hunkwise.sim.server.SimulatorServer`). The app never lets an exception escape a
request: anything unexpected becomes a provider-shaped 500 and is counted, because a simulator
that crashes under garbage input would hide the client bugs it exists to find.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send

from hunkwise.sim import error_responses
from hunkwise.sim.config import SimConfig
from hunkwise.sim.faults import RAW_SEND
from hunkwise.sim.pipeline import Route, handle_chat
from hunkwise.sim.state import SimState

log = logging.getLogger("hunkwise.sim")

ROUTES: dict[str, Route] = {
    "/api/paas/v4/chat/completions": Route("zai", "developer", "zai", plan="developer"),
    "/api/coding/paas/v4/chat/completions": Route("zai", "coding", "zai", plan="coding"),
    "/v1/chat/completions": Route("openai", "openai", "openai"),
    "/v1/messages": Route("anthropic", "anthropic", "anthropic"),
}


class SimulatorApp(FastAPI):
    """FastAPI that remembers the server's own ``send`` before any middleware wraps it, so a
    simulated connection reset can reach the socket."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            scope[RAW_SEND] = send
        await super().__call__(scope, receive, send)


def _sim_error(message: str, status: int = 400) -> JSONResponse:
    return JSONResponse({"error": {"message": message}}, status_code=status)


def create_app(config: SimConfig, *, state: SimState | None = None) -> SimulatorApp:
    """A simulator app for ``config``; its state is reachable as ``app.state.sim``."""
    sim = state or SimState(config)
    shutdown = asyncio.Event()
    app = SimulatorApp(title="hunkwise simulator", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.sim = sim
    app.state.shutdown = shutdown

    def make_chat_handler(route: Route) -> Any:
        async def chat(request: Request) -> Response:
            try:
                return await handle_chat(request, sim, route, shutdown)
            except ConnectionResetError:
                raise
            except Exception:  # the simulator must never crash on a request
                log.exception("simulator bug while serving %s", request.url.path)
                return error_responses.http_fault(route.dialect, "500")

        return chat

    for path, route in ROUTES.items():
        app.add_api_route(path, make_chat_handler(route), methods=["POST"], include_in_schema=False)

    @app.get("/_sim/stats")
    async def stats() -> dict[str, Any]:
        return sim.snapshot()

    @app.get("/_sim/requests")
    async def requests(limit: str = "50") -> Response:
        try:
            n = int(limit)
            if n < 0:
                raise ValueError
        except ValueError:
            return _sim_error(f"limit: expected a non-negative integer, got {limit!r}")
        entries = list(sim.log)[-n:] if n else []
        return JSONResponse([{"key": e["key"], "path": e["path"], "body": e["body"]} for e in entries])

    @app.post("/_sim/reset")
    async def reset() -> dict[str, bool]:
        sim.reset()
        return {"ok": True}

    @app.post("/_sim/advance")
    async def advance(request: Request) -> Response:
        try:
            body = json.loads(await request.body() or b"null")
        except (json.JSONDecodeError, UnicodeDecodeError):
            return _sim_error('body must be JSON like {"seconds": 3600}')
        seconds = body.get("seconds") if isinstance(body, dict) else None
        if isinstance(seconds, bool) or not isinstance(seconds, int | float) or seconds < 0:
            return _sim_error(
                f'seconds: expected a non-negative number, e.g. {{"seconds": 3600}}, got {seconds!r}'
            )
        sim.advance(float(seconds))
        return JSONResponse({"ok": True, "offset_seconds": sim.offset, "clock": sim.now()})

    @app.get("/api/monitor/usage/quota/limit")
    async def quota_limit(request: Request) -> Response:
        token = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
        key = sim.keys.get(token)
        if key is None or key.kind != "coding":
            return error_responses.auth("zai", "unknown" if key is None else "wrong_plan")[0]
        windows = sim.usage_windows(token)
        limits = [
            {"type": "PROMPTS_5H", "unit": 3, "number": 5, **_window(windows["5h"])},
            {"type": "PROMPTS_WEEK", "unit": 6, "number": 1, **_window(windows["week"])},
        ]
        return JSONResponse(
            {
                "code": 200,
                "msg": "[simulator] quota snapshot",
                "success": True,
                "data": {"level": key.effective_tier, "limits": limits},
            }
        )

    @app.api_route("/{path:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"], include_in_schema=False)
    async def unknown(path: str) -> Response:
        return error_responses.not_found("/" + path)

    return app


def _window(w: dict[str, Any]) -> dict[str, Any]:
    return {
        "usage": w["used"],
        "limit": w["limit"],
        "percentage": w["percentage"],
        "nextResetTime": w["next_reset_time"],
    }
