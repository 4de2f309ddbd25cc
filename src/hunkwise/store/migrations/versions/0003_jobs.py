"""Review jobs: the embedded durable queue (``hunkwise.jobs``).

Revision ID: 0003_jobs
Revises: 0002_orgs_byok
Create Date: 2026-11-28
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_jobs"
down_revision: str | None = "0002_orgs_byok"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "review_jobs",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("org", sa.String(100), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("dedupe_key", sa.String(300), nullable=False),
        sa.Column("status", sa.String(16), nullable=False, server_default="queued"),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("max_attempts", sa.Integer(), nullable=False, server_default="5"),
        sa.Column("next_run_at", sa.DateTime(timezone=False), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.Column("checkpoint", sa.JSON(), nullable=True),
        sa.Column("lease_owner", sa.String(100), nullable=True),
        sa.Column("lease_expires_at", sa.DateTime(timezone=False), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=False), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=False), nullable=False),
        sa.CheckConstraint("status IN ('queued', 'running', 'done', 'failed')", name="ck_review_jobs_status"),
        sa.PrimaryKeyConstraint("id", name="pk_review_jobs"),
        sa.UniqueConstraint("dedupe_key", name="uq_review_jobs_dedupe_key"),
    )
    op.create_index("ix_review_jobs_claim", "review_jobs", ["status", "next_run_at"])
    op.create_index("ix_review_jobs_org_created", "review_jobs", ["org", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_review_jobs_org_created", table_name="review_jobs")
    op.drop_index("ix_review_jobs_claim", table_name="review_jobs")
    op.drop_table("review_jobs")
