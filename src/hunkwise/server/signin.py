"""Sign-in throttling at the HTTP edge: who the client is, 429 with Retry-After, one log line per burst.

Both ways in that take a token are guarded: the console's sign-in form and the API's Bearer
check. A client (or the whole installation) that sent too many wrong tokens in the current window
is refused before its token is even looked at, so the right token sent during a lockout still
gets 429 until the window ends. The counters are in the store (:mod:`hunkwise.store.signin`).

The client is the TCP peer. Behind a reverse proxy that is the proxy, unless the proxy is listed
in ``HUNKWISE_TRUSTED_PROXIES``: then the app believes its ``X-Forwarded-For`` (uvicorn's proxy
middleware, installed by :func:`hunkwise.server.app.create_app`). IPv6 clients are counted per /64,
the block one subscriber usually holds, so rotating addresses inside it does not reset the count.

Named like :mod:`hunkwise.store.signin` on purpose: the HTTP side of sign-in throttling here, its
counters' rows there.
"""

from __future__ import annotations

import ipaddress
import logging
from datetime import timedelta

from fastapi import HTTPException, Request, status
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool

from hunkwise.config.settings import Settings
from hunkwise.store.signin import Lockout, SigninLimits, lockout, record_failure

log = logging.getLogger("hunkwise.server")


def client_address(request: Request) -> str:
    host = request.client.host if request.client else "unknown"
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return host
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


def signin_limits(settings: Settings) -> SigninLimits:
    """``HUNKWISE_SIGNIN_MAX_FAILURES`` per client address and ``..._GLOBAL`` overall, per window."""
    return SigninLimits(
        per_client=settings.signin_max_failures,
        overall=settings.signin_max_failures_global,
        window=timedelta(seconds=settings.signin_window_s),
    )


async def current_lockout(request: Request, settings: Settings, engine: Engine) -> Lockout | None:
    return await run_in_threadpool(lockout, engine, client_address(request), signin_limits(settings))


async def count_failure(request: Request, settings: Settings, engine: Engine) -> None:
    """Count a wrong token; log the lockouts it starts (once per scope and window)."""
    client = client_address(request)
    limits = signin_limits(settings)
    for started in await run_in_threadpool(record_failure, engine, client, limits):
        if started.scope == "client":
            log.warning(
                "sign-in throttled: %d wrong tokens from %s within %d s; its sign-ins and API calls "
                "get 429 until %s",
                limits.per_client,
                client,
                settings.signin_window_s,
                started.until.strftime("%H:%M:%S UTC"),
            )
        else:
            log.warning(
                "sign-in throttled for every client: %d wrong tokens within %d s; all sign-ins and "
                "API calls get 429 until %s (HUNKWISE_SIGNIN_MAX_FAILURES_GLOBAL)",
                limits.overall,
                settings.signin_window_s,
                started.until.strftime("%H:%M:%S UTC"),
            )


def lockout_message(found: Lockout, wait: int) -> str:
    if found.scope == "client":
        return f"too many wrong tokens from your address: try again in {wait} s"
    return f"too many wrong tokens sent to this server: sign-ins are paused for {wait} s"


def too_many(found: Lockout) -> HTTPException:
    wait = found.retry_after()
    return HTTPException(
        status.HTTP_429_TOO_MANY_REQUESTS, lockout_message(found, wait), headers={"Retry-After": str(wait)}
    )


__all__ = ["client_address", "count_failure", "current_lockout", "lockout_message", "too_many"]
