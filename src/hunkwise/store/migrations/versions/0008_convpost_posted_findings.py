"""Posted findings and suppressions: the pull-request conversation (no repeats, ``ignore``).

Revision ID: 0008_convpost_posted_findings
Revises: 0007_simulated_calls
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_convpost_posted_findings"
down_revision: str | None = "0007_simulated_calls"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "posted_findings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("platform", sa.String(16), nullable=False),
        sa.Column("repository", sa.String(300), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("fingerprint", sa.String(240), nullable=False),
        sa.Column("state", sa.String(16), nullable=False, server_default="open"),
        sa.Column("path", sa.String(1000), nullable=False, server_default=""),
        sa.Column("title", sa.String(300), nullable=False, server_default=""),
        sa.Column("head_sha", sa.String(64), nullable=False, server_default=""),
        sa.Column("created_at", sa.DateTime(timezone=False), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=False), nullable=False),
        sa.CheckConstraint("state IN ('open', 'resolved', 'wont_fix')", name="ck_posted_findings_state"),
        sa.PrimaryKeyConstraint("id", name="pk_posted_findings"),
        sa.UniqueConstraint("platform", "repository", "number", "fingerprint", name="uq_posted_findings_key"),
    )
    op.create_table(
        "finding_suppressions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org", sa.String(100), nullable=False),
        sa.Column("platform", sa.String(16), nullable=False),
        sa.Column("repository", sa.String(300), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("fingerprint", sa.String(240), nullable=False),
        sa.Column("reason", sa.String(500), nullable=False, server_default=""),
        sa.Column("created_by", sa.String(200), nullable=False, server_default=""),
        sa.Column("created_at", sa.DateTime(timezone=False), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_finding_suppressions"),
        sa.UniqueConstraint(
            "platform", "repository", "number", "fingerprint", name="uq_finding_suppressions_key"
        ),
    )


def downgrade() -> None:
    op.drop_table("finding_suppressions")
    op.drop_table("posted_findings")
