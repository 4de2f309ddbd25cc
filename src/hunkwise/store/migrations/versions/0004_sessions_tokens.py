"""Console sessions kept server-side, sign-in failure counters, organization token metadata.

Revision ID: 0004_sessions_tokens
Revises: 0003_jobs
Create Date: 2026-12-05

``console_sessions`` holds one row per signed-in browser. The cookie carries a random id; the row
stores only its SHA-256 (``id_hash``), so a database dump holds no usable cookie. A session opened
with an organization token points at that token and ends with it (revocation or deletion).

``signin_failures`` counts wrong tokens per client address and for the whole installation in
fixed windows; every server process reads and writes the same rows, so the limit holds across
processes.

``org_tokens`` gains a display prefix (the first characters of the token, never enough to use
it), the last time it was presented, and a revocation time (revoked rows stay for the record).
Tokens created before this migration have no prefix.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_sessions_tokens"
down_revision: str | None = "0003_jobs"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ALTER TABLE, not a batch: a batch rebuilds the table on SQLite, and dropping a table
    # with foreign keys on cascades to the rows that point at it.
    op.add_column("org_tokens", sa.Column("prefix", sa.String(16), nullable=True))
    op.add_column("org_tokens", sa.Column("last_used_at", sa.DateTime(timezone=False), nullable=True))
    op.add_column("org_tokens", sa.Column("revoked_at", sa.DateTime(timezone=False), nullable=True))

    op.create_table(
        "console_sessions",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("id_hash", sa.String(64), nullable=False),
        sa.Column("admin", sa.Boolean(), nullable=False),
        sa.Column("admin_token_fp", sa.String(64), nullable=True),
        sa.Column("org_token_id", sa.Integer(), nullable=True),
        sa.Column("org_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=False), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=False), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=False), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=False), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_console_sessions")),
        sa.UniqueConstraint("id_hash", name=op.f("uq_console_sessions_id_hash")),
        sa.ForeignKeyConstraint(
            ["org_token_id"],
            ["org_tokens.id"],
            name=op.f("fk_console_sessions_org_token_id_org_tokens"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organizations.id"],
            name=op.f("fk_console_sessions_org_id_organizations"),
            ondelete="SET NULL",
        ),
    )
    op.create_index(op.f("ix_console_sessions_org_token_id"), "console_sessions", ["org_token_id"])
    op.create_index(op.f("ix_console_sessions_expires_at"), "console_sessions", ["expires_at"])

    op.create_table(
        "signin_failures",
        sa.Column("scope", sa.String(100), nullable=False),
        sa.Column("window_start", sa.DateTime(timezone=False), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False, server_default="0"),
        sa.PrimaryKeyConstraint("scope", "window_start", name=op.f("pk_signin_failures")),
    )


def downgrade() -> None:
    op.drop_table("signin_failures")
    op.drop_index(op.f("ix_console_sessions_expires_at"), table_name="console_sessions")
    op.drop_index(op.f("ix_console_sessions_org_token_id"), table_name="console_sessions")
    op.drop_table("console_sessions")
    for column in ("revoked_at", "last_used_at", "prefix"):
        op.drop_column("org_tokens", column)  # SQLite >= 3.35
