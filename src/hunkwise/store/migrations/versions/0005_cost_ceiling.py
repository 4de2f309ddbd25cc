"""Per-organization review cost ceiling (``organizations.max_cost``).

NULL: the server's default (``HUNKWISE_MAX_COST``, else $2.00); ``"off"``: no ceiling; otherwise
an amount in USD written as a decimal string, the same spelling the API and config files accept.

Revision ID: 0005_cost_ceiling
Revises: 0004_sessions_tokens
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_cost_ceiling"
down_revision: str | None = "0004_sessions_tokens"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ALTER TABLE, not a batch: a batch rebuilds the table on SQLite, and dropping
    # ``organizations`` with foreign keys on would cascade to its tokens, keys and jobs.
    op.add_column("organizations", sa.Column("max_cost", sa.String(16), nullable=True))


def downgrade() -> None:
    op.drop_column("organizations", "max_cost")  # SQLite >= 3.35
