"""Console sessions, kept server-side so that signing out (or revoking a token) ends them.

The browser holds a random session id (32 bytes from :mod:`secrets`) and nothing else; the row
holds its SHA-256, so the database never contains a cookie anyone could replay. A session lasts
:data:`MAX_AGE` from sign-in at most, and ends after :data:`IDLE` without a request. Every server
process reads the same rows, so a session revoked through one process is refused by all of them
on their next request.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from hunkwise.store.db import Db, use_session
from hunkwise.store.tables import ConsoleSession, Organization, OrgToken, utcnow

MAX_AGE = timedelta(hours=12)
IDLE = timedelta(hours=2)
TOUCH_EVERY = timedelta(minutes=1)
"""``last_seen_at`` is written at most this often per session (idle expiry is this coarse)."""
KEEP_ENDED = timedelta(days=7)
"""Ended sessions stay this long after their expiry (who signed in when), then are deleted."""


@dataclass(frozen=True)
class SessionInfo:
    """A live session: the admin (``org``: the organization being managed, maybe None) or the
    organization whose token ``org_token_id`` opened it."""

    id: int
    admin: bool
    org: str | None
    org_token_id: int | None
    expires_at: datetime


def session_hash(session_id: str) -> str:
    """Console session ids are stored only hashed, so a database dump cannot be replayed as a signed-in
    browser.
    """
    return hashlib.sha256(session_id.encode()).hexdigest()


def admin_fingerprint(admin_token: str) -> str:
    """What an admin session remembers of the admin token: enough to notice it changed."""
    return hashlib.sha256(b"hunkwise admin token v1\0" + admin_token.encode()).hexdigest()


def open_session(
    db: Db,
    *,
    admin_fp: str | None = None,
    org_token_id: int | None = None,
    org_id: int | None = None,
    now: datetime | None = None,
) -> str:
    """Start a session (the admin's with ``admin_fp``, or an organization's with its token id and
    org id) and return the id for the cookie: the only time it exists outside the browser."""
    if (admin_fp is None) == (org_token_id is None):
        raise ValueError("a session belongs to the admin or to an organization token, exactly one")
    now = now or utcnow()
    session_id = secrets.token_urlsafe(32)
    with use_session(db, write=True) as session:
        session.execute(delete(ConsoleSession).where(ConsoleSession.expires_at < now - KEEP_ENDED))
        session.add(
            ConsoleSession(
                id_hash=session_hash(session_id),
                admin=admin_fp is not None,
                admin_token_fp=admin_fp,
                org_token_id=org_token_id,
                org_id=org_id,
                created_at=now,
                last_seen_at=now,
                expires_at=now + MAX_AGE,
            )
        )
    return session_id


def load_session(
    db: Db, session_id: str, *, admin_fp: str | None, now: datetime | None = None
) -> SessionInfo | None:
    """The live session with this id, or None (unknown, signed out, expired, idle too long, its
    organization token revoked, or opened with an admin token that is no longer ``admin_fp``)."""
    now = now or utcnow()
    with use_session(db) as session:
        found = session.execute(
            select(ConsoleSession, Organization.slug, OrgToken.revoked_at)
            .outerjoin(Organization, ConsoleSession.org_id == Organization.id)
            .outerjoin(OrgToken, ConsoleSession.org_token_id == OrgToken.id)
            .where(
                (ConsoleSession.id_hash == session_hash(session_id))
                & ConsoleSession.revoked_at.is_(None)
                & (ConsoleSession.expires_at > now)
                & (ConsoleSession.last_seen_at > now - IDLE)
            )
        ).first()
    if found is None:
        return None
    row, slug, token_revoked = found
    if row.admin:
        if not admin_fp or not hmac.compare_digest(row.admin_token_fp or "", admin_fp):
            return None
    elif row.org_token_id is None or token_revoked is not None or slug is None:
        return None
    if now - row.last_seen_at >= TOUCH_EVERY:
        with use_session(db, write=True) as session:
            touch = update(ConsoleSession).where(ConsoleSession.id == row.id).values(last_seen_at=now)
            session.execute(touch)
    return SessionInfo(
        id=row.id, admin=row.admin, org=slug, org_token_id=row.org_token_id, expires_at=row.expires_at
    )


def select_org(db: Db, session_row_id: int, org_id: int) -> None:
    """The organization an admin session manages from now on."""
    with use_session(db, write=True) as session:
        session.execute(
            update(ConsoleSession)
            .where((ConsoleSession.id == session_row_id) & ConsoleSession.admin.is_(True))
            .values(org_id=org_id)
        )


def end_session(db: Db, session_id: str, *, now: datetime | None = None) -> bool:
    """Sign a session out (by its cookie id). False when it was unknown or already ended."""
    with use_session(db, write=True) as session:
        result = session.execute(
            update(ConsoleSession)
            .where((ConsoleSession.id_hash == session_hash(session_id)) & ConsoleSession.revoked_at.is_(None))
            .values(revoked_at=now or utcnow())
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]


def end_token_sessions(session: Session, org_token_id: int, *, now: datetime) -> None:
    """End every session opened with an organization token (it is being revoked)."""
    session.execute(
        update(ConsoleSession)
        .where((ConsoleSession.org_token_id == org_token_id) & ConsoleSession.revoked_at.is_(None))
        .values(revoked_at=now)
    )


__all__ = [
    "IDLE",
    "MAX_AGE",
    "SessionInfo",
    "admin_fingerprint",
    "end_session",
    "end_token_sessions",
    "load_session",
    "open_session",
    "select_org",
    "session_hash",
]
