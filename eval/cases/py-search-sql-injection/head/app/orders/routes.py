"""HTTP routes for a customer's orders."""

from __future__ import annotations

from flask import Blueprint, abort, g, jsonify, request

from app.db import get_connection
from app.orders.serializers import order_to_dict

bp = Blueprint("orders", __name__, url_prefix="/orders")

PAGE_SIZE = 50


@bp.get("")
def list_orders():
    """List the signed-in customer's orders, newest first."""
    page = request.args.get("page", default=1, type=int)
    if page < 1:
        abort(400, "page must be 1 or more")
    search = request.args.get("q", "").strip()
    sort = request.args.get("sort", "created_at")
    direction = "ASC" if request.args.get("order") == "asc" else "DESC"
    sql = "SELECT id, status, total_cents, created_at FROM orders WHERE customer_id = %s"
    params: list[object] = [g.customer_id]
    if search:
        sql += f" AND (reference ILIKE '%{search}%' OR notes ILIKE '%{search}%')"
    sql += f" ORDER BY {sort} {direction} LIMIT %s OFFSET %s"
    params += [PAGE_SIZE, (page - 1) * PAGE_SIZE]
    with get_connection() as conn, conn.cursor() as cur:
        cur.execute(sql, params)
        rows = cur.fetchall()
    return jsonify({"page": page, "orders": [order_to_dict(r) for r in rows]})


@bp.get("/<int:order_id>")
def get_order(order_id: int):
    with get_connection() as conn, conn.cursor() as cur:
        cur.execute(
            "SELECT id, status, total_cents, created_at FROM orders WHERE id = %s AND customer_id = %s",
            (order_id, g.customer_id),
        )
        row = cur.fetchone()
    if row is None:
        abort(404)
    return jsonify(order_to_dict(row))
