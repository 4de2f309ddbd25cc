"""GitHub App installations and their repositories (docs/github.md).

- ``github_installations``: one row per installation of the App (its id is GitHub's), the
  account it is on (``org``: the hunkwise organization, the normalized login), whether it is
  suspended, and its repository selection.
- ``github_repositories``: the repositories an installation can see, each with ``enabled``
  (default true): whether hunkwise reviews its pull requests.

Revision ID: 0012_github_installations
Revises: 0011_schedule_priority_spill
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012_github_installations"
down_revision: str | None = "0011_schedule_priority_spill"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "github_installations",
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("org", sa.String(100), nullable=False),
        sa.Column("account_login", sa.String(100), nullable=False),
        sa.Column("account_type", sa.String(32), nullable=False),
        sa.Column("repository_selection", sa.String(16), nullable=False, server_default="selected"),
        sa.Column("suspended", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("created_at", sa.DateTime(timezone=False), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=False), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_github_installations"),
    )
    op.create_index("ix_github_installations_org", "github_installations", ["org"], unique=False)
    op.create_table(
        "github_repositories",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("installation_id", sa.BigInteger(), nullable=False),
        sa.Column("full_name", sa.String(300), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False, server_default=sa.true()),
        sa.Column("updated_at", sa.DateTime(timezone=False), nullable=False),
        sa.ForeignKeyConstraint(
            ["installation_id"],
            ["github_installations.id"],
            name="fk_github_repositories_installation_id_github_installations",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_github_repositories"),
        sa.UniqueConstraint("installation_id", "full_name", name="uq_github_repositories_key"),
    )
    op.create_index(
        "ix_github_repositories_installation_id", "github_repositories", ["installation_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_github_repositories_installation_id", table_name="github_repositories")
    op.drop_table("github_repositories")
    op.drop_index("ix_github_installations_org", table_name="github_installations")
    op.drop_table("github_installations")
