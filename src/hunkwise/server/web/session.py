"""The console's cookie and CSRF protection.

The session cookie is an opaque random id (:func:`hunkwise.store.sessions.open_session`): it
says nothing about who is signed in, and the server looks it up on every request, so signing
out, revoking the token it was opened with, or changing the admin token ends it at once, in
every server process. It lasts 12 hours from sign-in at most and ends after 2 idle hours.

CSRF: every session has a token derived from its id (HMAC, so the page can show it without
showing the id); state-changing forms post it as ``csrf`` and scripts send it as
``X-CSRF-Token``. The sign-in form, which has no session yet, uses a double-submit cookie. The
cookies are ``HttpOnly`` and ``SameSite=Lax`` (``Secure`` over https), so scripts cannot read
them and other sites cannot post with them.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from fastapi import Request, Response

from hunkwise.store.sessions import MAX_AGE

COOKIE = "hunkwise_session"
LOGIN_COOKIE = "hunkwise_login"  # double-submit CSRF token for the sign-in form (no session yet)
CSRF_HEADER = "X-CSRF-Token"
MAX_AGE_S = int(MAX_AGE.total_seconds())


def csrf_for(session_id: str) -> str:
    mac = hmac.new(session_id.encode(), b"hunkwise console csrf v1", hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).decode().rstrip("=")


def is_https(request: Request) -> bool:
    return request.url.scheme == "https" or request.headers.get("x-forwarded-proto", "") == "https"


def set_cookie(response: Response, request: Request, name: str, value: str, max_age: int) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        httponly=True,
        samesite="lax",
        secure=is_https(request),
        path="/",
    )


def csrf_ok(expected: str, given: str | None) -> bool:
    return bool(given) and hmac.compare_digest(expected.encode(), (given or "").encode())


__all__ = ["COOKIE", "CSRF_HEADER", "LOGIN_COOKIE", "MAX_AGE_S", "csrf_for", "csrf_ok", "set_cookie"]
