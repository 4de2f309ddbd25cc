"""Per-organization review cost ceiling (``organizations.max_cost``).

NULL: the server's default (``HUNKWISE_MAX_COST``, else $2.00); ``"off"``: no ceiling; otherwise
an amount in USD written as a decimal string, the same spelling the API and config files accept.

Revision ID: 0005_cost_ceiling
Revises: 0003_jobs
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_cost_ceiling"
down_revision: str | None = "0003_jobs"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("organizations") as batch:
        batch.add_column(sa.Column("max_cost", sa.String(16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("organizations") as batch:
        batch.drop_column("max_cost")
