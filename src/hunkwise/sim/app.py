"""The simulator's ASGI app: provider endpoints plus ``/_sim/*`` introspection.

``create_app`` returns a plain Starlette app, usable in-process (an ASGI transport, which is how
``review --offline`` talks to it) or served by uvicorn (:class:`hunkwise.sim.server.SimulatorServer`).
Starlette, not FastAPI: the simulator publishes no schema and validates its bodies itself, and
FastAPI's import alone was about a fifth of an offline review's start-up (BENCHMARKS.md).

The app never lets an exception escape a request: anything unexpected becomes a provider-shaped
500 and is counted, because a simulator that crashes under garbage input would hide the client
bugs it exists to find.

Named like :mod:`hunkwise.server.app` and :mod:`hunkwise.cli.app` on purpose: in each runnable
package, ``app`` is the application object that package runs (here the simulator's ASGI app).
"""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import datetime, timedelta
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route as HttpRoute
from starlette.types import Receive, Scope, Send

from hunkwise.sim import error_responses
from hunkwise.sim.config import SimConfig
from hunkwise.sim.error_responses import ZAI_TZ
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


class SimulatorApp(Starlette):
    """Starlette that remembers the server's own ``send`` before any middleware wraps it, so a
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

    async def stats(request: Request) -> Response:
        return JSONResponse(sim.snapshot())

    async def requests(request: Request) -> Response:
        limit = request.query_params.get("limit", "50")
        try:
            n = int(limit)
            if n < 0:
                raise ValueError
        except ValueError:
            return _sim_error(f"limit: expected a non-negative integer, got {limit!r}")
        entries = list(sim.log)[-n:] if n else []
        return JSONResponse([{"key": e["key"], "path": e["path"], "body": e["body"]} for e in entries])

    async def reset(request: Request) -> Response:
        sim.reset()
        return JSONResponse({"ok": True})

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

    async def quota_limit(request: Request) -> Response:
        # The real monitor takes the bare key in Authorization; a "Bearer " prefix works too.
        header = request.headers.get("authorization", "").strip()
        scheme, _, rest = header.partition(" ")
        token = rest.strip() if scheme.lower() == "bearer" else header
        key = sim.keys.get(token)
        if key is None or key.kind != "coding":
            # Like the real service: HTTP 200, the failure in the body. A Developer (or any
            # pay-per-token) key has no Coding Plan, hence no windows to report: same answer.
            return JSONResponse(
                {"code": 401, "msg": "token expired or incorrect", "success": False}, status_code=200
            )
        return JSONResponse(
            {
                "code": 200,
                "msg": "Operation successful",
                "success": True,
                "data": {"limits": quota_limits(sim, token), "level": key.effective_tier},
            }
        )

    async def unknown(request: Request) -> Response:
        return error_responses.not_found("/" + request.path_params["path"])

    routes = [HttpRoute(path, make_chat_handler(r), methods=["POST"]) for path, r in ROUTES.items()]
    routes += [
        HttpRoute("/_sim/stats", stats, methods=["GET"]),
        HttpRoute("/_sim/requests", requests, methods=["GET"]),
        HttpRoute("/_sim/reset", reset, methods=["POST"]),
        HttpRoute("/_sim/advance", advance, methods=["POST"]),
        HttpRoute("/api/monitor/usage/quota/limit", quota_limit, methods=["GET"]),
        HttpRoute("/{path:path}", unknown, methods=["GET", "POST", "PUT", "PATCH", "DELETE"]),
    ]
    app = SimulatorApp(routes=routes)
    app.state.sim = sim
    app.state.shutdown = shutdown
    return app


def quota_limits(sim: SimState, key: str) -> list[dict[str, Any]]:
    """The monitor's ``data.limits`` for a coding key, from the simulator's own counters: the
    5-hour window (unit 3, number 5), the weekly one (unit 6, number 1), both ``TOKENS_LIMIT``
    like the real service, and the monthly tool-time entry (unit 5), always at 0 % because the
    simulator runs no tools. ``usage``/``currentValue``/``remaining`` only with
    ``monitor_usage_fields``."""
    windows = sim.usage_windows(key)
    limits = []
    for name, unit, number in (("5h", 3, 5), ("week", 6, 1)):
        w = windows[name]
        entry: dict[str, Any] = {
            "type": "TOKENS_LIMIT",
            "unit": unit,
            "number": number,
            "percentage": round(w["percentage"]),
            "nextResetTime": w["next_reset_time"],
        }
        if sim.config.monitor_usage_fields and w["limit"] is not None:
            entry |= {
                "usage": w["limit"],
                "currentValue": w["used"],
                "remaining": max(0, w["limit"] - w["used"]),
            }
        limits.append(entry)
    limits.append(
        {
            "type": "TIME_LIMIT",
            "unit": 5,
            "number": 1,
            "percentage": 0,
            "nextResetTime": _next_month_ms(sim.now()),
        }
    )
    return limits


def _next_month_ms(now: float) -> int:
    """Midnight Beijing time on the first of next month, in epoch milliseconds."""
    t = datetime.fromtimestamp(now, ZAI_TZ)
    first = (t.replace(day=1, hour=0, minute=0, second=0, microsecond=0) + timedelta(days=32)).replace(day=1)
    return int(first.timestamp() * 1000)
