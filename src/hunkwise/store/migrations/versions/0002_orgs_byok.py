"""Organizations, their API tokens and their BYOK model slots.

Revision ID: 0002_orgs_byok
Revises: 0001_usage_ledger
Create Date: 2026-11-27

Keys are never stored in plaintext: ``byok_slots.key_ciphertext`` holds a versioned envelope
(``hunkwise.store.secrets``) and ``key_last4`` the only part an API response may show. API tokens
are stored as SHA-256 hashes; the token itself is shown once, when it is created.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_orgs_byok"
down_revision: str | None = "0001_usage_ledger"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "organizations",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("slug", sa.String(100), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=False), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_organizations")),
        sa.UniqueConstraint("slug", name=op.f("uq_organizations_slug")),
    )

    op.create_table(
        "org_tokens",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("label", sa.String(200), nullable=False, server_default=""),
        sa.Column("created_at", sa.DateTime(timezone=False), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_org_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_org_tokens_token_hash")),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organizations.id"],
            name=op.f("fk_org_tokens_org_id_organizations"),
            ondelete="CASCADE",
        ),
    )
    op.create_index(op.f("ix_org_tokens_org_id"), "org_tokens", ["org_id"])

    op.create_table(
        "byok_slots",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("spec", sa.JSON(), nullable=False),
        sa.Column("key_ciphertext", sa.Text(), nullable=True),
        sa.Column("key_last4", sa.String(8), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=False), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_byok_slots")),
        sa.UniqueConstraint("org_id", "role", name="uq_byok_slots_org_role"),
        sa.CheckConstraint("role IN ('main', 'fallback')", name=op.f("ck_byok_slots_role")),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organizations.id"],
            name=op.f("fk_byok_slots_org_id_organizations"),
            ondelete="CASCADE",
        ),
    )


def downgrade() -> None:
    op.drop_table("byok_slots")
    op.drop_index(op.f("ix_org_tokens_org_id"), table_name="org_tokens")
    op.drop_table("org_tokens")
    op.drop_table("organizations")
