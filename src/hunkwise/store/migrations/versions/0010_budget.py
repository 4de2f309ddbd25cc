"""Monthly budgets: ``organizations.monthly_budget``, ``budget_reservations``, ``review_jobs.reason``.

``monthly_budget``: NULL = the server's default (``HUNKWISE_MONTHLY_BUDGET``, else none), ``"off"``,
or USD per calendar month (UTC) as a decimal string, spelled like ``max_cost``.
``budget_reservations``: one review job's estimate held against its organization's month
(hunkwise.store.budget). ``review_jobs.reason``: why a job ended without a review, for machines.

Revision ID: 0010_budget
Revises: 0009_convevents_feedback
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010_budget"
down_revision: str | None = "0009_convevents_feedback"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ALTER TABLE, never batch mode (see 0005): a batch rebuild of ``organizations`` on
    # SQLite with foreign keys on would cascade to its tokens, keys and jobs.
    op.add_column("organizations", sa.Column("monthly_budget", sa.String(16), nullable=True))
    op.add_column("review_jobs", sa.Column("reason", sa.String(32), nullable=True))
    op.create_table(
        "budget_reservations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org", sa.String(100), nullable=False),
        sa.Column("job_key", sa.String(300), nullable=False),
        sa.Column("token", sa.String(32), nullable=False),
        sa.Column("month", sa.String(7), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("estimate_usd", sa.Float(), nullable=False),
        sa.Column("actual_usd", sa.Float(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=False), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=False), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=False), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_budget_reservations"),
        sa.UniqueConstraint("job_key", name="uq_budget_reservations_job_key"),
    )
    op.create_index(
        "ix_budget_reservations_org_month", "budget_reservations", ["org", "month", "status"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_budget_reservations_org_month", table_name="budget_reservations")
    op.drop_table("budget_reservations")
    op.drop_column("review_jobs", "reason")
    op.drop_column("organizations", "monthly_budget")
