"""Nightly job: one DailySummary row per store for the previous calendar day."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shop.models import DailySummary, Order, OrderStatus


def previous_day_window() -> tuple[date, datetime, datetime]:
    """Midnight-to-midnight bounds of yesterday."""
    today = datetime.now().date()
    day = today - timedelta(days=1)
    start = datetime.combine(day, time.min)
    end = start + timedelta(days=1)
    return day, start, end


def run(session: Session) -> int:
    """Write the summaries; return how many stores had sales."""
    day, start, end = previous_day_window()
    rows = session.execute(
        select(Order.store_id, func.count(Order.id), func.sum(Order.total))
        .where(Order.status == OrderStatus.PAID)
        .where(Order.paid_at >= start, Order.paid_at <= end)
        .group_by(Order.store_id)
    ).all()
    for store_id, count, total in rows:
        session.merge(
            DailySummary(store_id=store_id, day=day, orders=count, revenue=total or Decimal("0"))
        )
    session.commit()
    return len(rows)
