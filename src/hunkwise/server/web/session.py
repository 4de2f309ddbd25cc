"""Console sessions and CSRF protection, with nothing but the standard library.

The session is a signed cookie (``payload.signature``, HMAC-SHA256), so the server keeps no
session table and any process sharing the master key can read it. The signing key is derived
from the secret box's primary master key (``HUNKWISE_SECRET_KEY`` or the key file): it already
is the one secret every server process of an installation shares, it is never shown, and
rotating it (``hunkwise server rotate-key``) signs everybody out, which is what a rotation
after a suspected leak should do. The admin token would be a worse root: it may be unset.

A session records a SHA-256 of the token used to sign in, and every request re-checks it (the
admin token still matches, the organization token still exists), so revoking a token or changing
the admin token ends the sessions opened with it. CSRF: every session carries a random token;
state-changing forms post it as ``csrf`` and scripts send it as ``X-CSRF-Token``. The cookie is
``HttpOnly`` and ``SameSite=Lax`` (``Secure`` over https), so scripts cannot read it and other
sites cannot post with it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass
from typing import Any

from fastapi import Request, Response

from hunkwise.store.secrets import SecretBox

COOKIE = "hunkwise_session"
LOGIN_COOKIE = "hunkwise_login"  # double-submit CSRF token for the sign-in form (no session yet)
CSRF_HEADER = "X-CSRF-Token"
MAX_AGE_S = 12 * 3600


@dataclass(frozen=True)
class Session:
    """Who is signed in to the console: the admin (``org`` = the organization being managed,
    possibly None until one is picked) or one organization."""

    admin: bool
    org: str | None
    token_hash: str
    csrf: str
    issued_at: int

    def payload(self) -> dict[str, Any]:
        return {"a": self.admin, "o": self.org, "t": self.token_hash, "c": self.csrf, "i": self.issued_at}


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def signing_key(box: SecretBox) -> bytes:
    return hashlib.sha256(b"hunkwise console session v1\0" + box.primary.export().encode()).digest()


def sign(session: Session, key: bytes) -> str:
    body = _b64(json.dumps(session.payload(), separators=(",", ":")).encode())
    mac = _b64(hmac.new(key, body.encode(), hashlib.sha256).digest())
    return f"{body}.{mac}"


def unsign(value: str, key: bytes, *, now: float | None = None) -> Session | None:
    """The session in a cookie value, or None when it is forged, malformed or expired."""
    body, _, mac = value.partition(".")
    if not body or not mac:
        return None
    expected = _b64(hmac.new(key, body.encode(), hashlib.sha256).digest())
    if not hmac.compare_digest(mac, expected):
        return None
    try:
        data = json.loads(_unb64(body))
        session = Session(
            admin=bool(data["a"]),
            org=data["o"],
            token_hash=str(data["t"]),
            csrf=str(data["c"]),
            issued_at=int(data["i"]),
        )
    except (ValueError, KeyError, TypeError):
        return None
    if (now or time.time()) - session.issued_at > MAX_AGE_S:
        return None
    return session


def new_session(*, admin: bool, org: str | None, token: str) -> Session:
    return Session(
        admin=admin,
        org=org,
        token_hash=hashlib.sha256(token.encode()).hexdigest(),
        csrf=secrets.token_urlsafe(24),
        issued_at=int(time.time()),
    )


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


__all__ = [
    "COOKIE",
    "CSRF_HEADER",
    "LOGIN_COOKIE",
    "MAX_AGE_S",
    "Session",
    "csrf_ok",
    "new_session",
    "set_cookie",
    "sign",
    "signing_key",
    "unsign",
]
