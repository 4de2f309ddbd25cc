"""Feedback on posted findings (reactions, resolutions) and demotion overrides.

Revision ID: 0009_convevents_feedback
Revises: 0008_convpost_posted_findings
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_convevents_feedback"
down_revision: str | None = "0008_convpost_posted_findings"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "finding_feedback",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org", sa.String(100), nullable=False),
        sa.Column("platform", sa.String(16), nullable=False),
        sa.Column("repository", sa.String(300), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("comment_id", sa.String(64), nullable=False),
        sa.Column("category", sa.String(64), nullable=False, server_default=""),
        sa.Column("path", sa.String(1000), nullable=False, server_default=""),
        sa.Column("path_pattern", sa.String(1000), nullable=False, server_default=""),
        sa.Column("up", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("down", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("resolved", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("updated_at", sa.DateTime(timezone=False), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_finding_feedback"),
        sa.UniqueConstraint("platform", "repository", "comment_id", name="uq_finding_feedback_comment"),
    )
    op.create_index("ix_finding_feedback_org_repository", "finding_feedback", ["org", "repository"])
    op.create_table(
        "feedback_overrides",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org", sa.String(100), nullable=False),
        sa.Column("repository", sa.String(300), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("value", sa.String(1000), nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False, server_default=""),
        sa.Column("created_at", sa.DateTime(timezone=False), nullable=False),
        sa.CheckConstraint("kind IN ('category', 'path')", name="ck_feedback_overrides_kind"),
        sa.PrimaryKeyConstraint("id", name="pk_feedback_overrides"),
        sa.UniqueConstraint("org", "repository", "kind", "value", name="uq_feedback_overrides_key"),
    )


def downgrade() -> None:
    op.drop_table("feedback_overrides")
    op.drop_index("ix_finding_feedback_org_repository", table_name="finding_feedback")
    op.drop_table("finding_feedback")
