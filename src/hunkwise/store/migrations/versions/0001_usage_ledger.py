"""Usage ledger: review runs, model calls, token calibration.

Revision ID: 0001_usage_ledger
Revises:
Create Date: 2026-11-27

Later features (organizations, BYOK, jobs) add their tables in their own numbered migrations on
top of this one; this file never changes once released.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001_usage_ledger"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Times are naive UTC on disk (hunkwise.store.tables.UTCDateTime converts at the boundary).


def _count(name: str) -> sa.Column:
    return sa.Column(name, sa.Integer(), nullable=False, server_default="0")


def _tokens(name: str) -> sa.Column:
    return sa.Column(name, sa.BigInteger(), nullable=False, server_default="0")


def upgrade() -> None:
    op.create_table(
        "review_runs",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("created_at", sa.DateTime(timezone=False), nullable=False),
        sa.Column("idempotency_key", sa.String(200), nullable=False),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("repository", sa.String(500), nullable=True),
        sa.Column("ref", sa.String(500), nullable=True),
        sa.Column("status", sa.String(32), nullable=False),
        _count("files_reviewed"),
        _count("lines_reviewed"),
        _count("findings_critical"),
        _count("findings_high"),
        _count("findings_medium"),
        _count("findings_low"),
        _count("failed_chunks"),
        _count("skipped_lines"),
        _count("calls"),
        _tokens("input_tokens"),
        _tokens("output_tokens"),
        _tokens("reasoning_tokens"),
        sa.Column("cost_usd", sa.Float(), nullable=False, server_default="0"),
        _count("failovers"),
        _count("duration_ms"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_runs")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_review_runs_idempotency_key")),
    )
    op.create_index(op.f("ix_review_runs_created_at"), "review_runs", ["created_at"])

    op.create_table(
        "model_calls",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=False), nullable=False),
        sa.Column("slot", sa.String(64), nullable=False),
        sa.Column("provider", sa.String(64), nullable=False),
        sa.Column("model", sa.String(200), nullable=False),
        sa.Column("credential_id", sa.String(600), nullable=True),
        sa.Column("plan", sa.String(32), nullable=True),
        sa.Column("tier", sa.String(32), nullable=True),
        sa.Column("purpose", sa.String(32), nullable=False, server_default="review"),
        sa.Column("outcome", sa.String(64), nullable=False),
        sa.Column("status", sa.Integer(), nullable=True),
        sa.Column("code", sa.String(32), nullable=True),
        _tokens("input_tokens"),
        _tokens("output_tokens"),
        _tokens("reasoning_tokens"),
        _tokens("cached_tokens"),
        sa.Column("cost_usd", sa.Float(), nullable=False, server_default="0"),
        sa.Column("latency_ms", sa.Float(), nullable=False, server_default="0"),
        sa.Column("waited_ms", sa.Float(), nullable=False, server_default="0"),
        sa.Column("failover", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_model_calls")),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["review_runs.id"],
            name=op.f("fk_model_calls_run_id_review_runs"),
            ondelete="CASCADE",
        ),
    )
    op.create_index(op.f("ix_model_calls_run_id"), "model_calls", ["run_id"])
    op.create_index(op.f("ix_model_calls_created_at"), "model_calls", ["created_at"])
    op.create_index("ix_model_calls_credential_created", "model_calls", ["credential_id", "created_at"])

    op.create_table(
        "token_calibration",
        sa.Column("model", sa.String(200), nullable=False),
        sa.Column("chars_per_token", sa.Float(), nullable=False),
        _count("samples"),
        sa.Column("updated_at", sa.DateTime(timezone=False), nullable=False),
        sa.PrimaryKeyConstraint("model", name=op.f("pk_token_calibration")),
    )


def downgrade() -> None:
    op.drop_table("token_calibration")
    op.drop_index("ix_model_calls_credential_created", table_name="model_calls")
    op.drop_index(op.f("ix_model_calls_created_at"), table_name="model_calls")
    op.drop_index(op.f("ix_model_calls_run_id"), table_name="model_calls")
    op.drop_table("model_calls")
    op.drop_index(op.f("ix_review_runs_created_at"), table_name="review_runs")
    op.drop_table("review_runs")
