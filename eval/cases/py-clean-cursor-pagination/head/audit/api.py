"""Audit log endpoint."""

from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime

from fastapi import APIRouter, Depends, HTTPException, Query
from sqlalchemy import select, tuple_
from sqlalchemy.orm import Session

from audit.models import AuditEvent
from audit.schemas import AuditPage
from core.db import get_session
from core.auth import require_admin

router = APIRouter(prefix="/audit", dependencies=[Depends(require_admin)])


def encode_cursor(event: AuditEvent) -> str:
    raw = json.dumps([event.created_at.isoformat(), event.id]).encode()
    return base64.urlsafe_b64encode(raw).decode()


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    try:
        created_at, event_id = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        return datetime.fromisoformat(created_at), int(event_id)
    except (binascii.Error, ValueError, TypeError) as exc:
        raise HTTPException(status_code=400, detail="invalid cursor; pass the next_cursor of a previous page") from exc


@router.get("/events", response_model=AuditPage)
def list_events(
    cursor: str | None = None,
    limit: int = Query(100, ge=1, le=500),
    session: Session = Depends(get_session),
) -> AuditPage:
    stmt = select(AuditEvent).order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc())
    if cursor is not None:
        created_at, event_id = decode_cursor(cursor)
        stmt = stmt.where(tuple_(AuditEvent.created_at, AuditEvent.id) < (created_at, event_id))
    events = session.scalars(stmt.limit(limit + 1)).all()
    has_more = len(events) > limit
    events = events[:limit]
    next_cursor = encode_cursor(events[-1]) if has_more else None
    return AuditPage(events=events, next_cursor=next_cursor)
