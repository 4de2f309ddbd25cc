"""Review job priorities and deferrals; the per-organization spill policy.

- ``review_jobs.priority``: who asked (a person 30 > a new pull request 20 > new commits 10 >
  backfill 0); workers claim the highest first. Existing rows are webhook jobs of unknown
  action: they get 10, the "new commits" priority, so nothing old jumps a new pull request.
- ``review_jobs.deferred_until`` / ``defer_reason``: set while a job waits for a Coding Plan
  window's reset (the job's ``next_run_at`` is the same time); cleared when it runs.
- ``organizations.spill``: ``never`` | ``when-exhausted`` | ``to-finish-faster``; NULL: the
  server's default (``HUNKWISE_SPILL``, else ``when-exhausted``, today's behaviour).

Revision ID: 0011_schedule_priority_spill
Revises: 0010_budget
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011_schedule_priority_spill"
down_revision: str | None = "0010_budget"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ALTER TABLE (see 0005): a batch would rebuild the tables on SQLite.
    op.add_column("review_jobs", sa.Column("priority", sa.Integer(), nullable=False, server_default="10"))
    op.add_column("review_jobs", sa.Column("deferred_until", sa.DateTime(timezone=False), nullable=True))
    op.add_column("review_jobs", sa.Column("defer_reason", sa.Text(), nullable=True))
    op.create_index("ix_review_jobs_claim_order", "review_jobs", ["status", "priority", "next_run_at"])
    op.add_column("organizations", sa.Column("spill", sa.String(20), nullable=True))


def downgrade() -> None:
    op.drop_column("organizations", "spill")
    op.drop_index("ix_review_jobs_claim_order", table_name="review_jobs")
    op.drop_column("review_jobs", "defer_reason")
    op.drop_column("review_jobs", "deferred_until")
    op.drop_column("review_jobs", "priority")
