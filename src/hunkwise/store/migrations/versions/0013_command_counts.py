"""The ``@hunkwise`` command rate limit, shared by every server process (docs/conversation.md).

``command_counts`` counts the commands accepted per pull request per clock hour (UTC). The limit
was a counter in each server process's memory, so N processes behind one address (or N servers
on one database) accepted N times the limit.

Revision ID: 0013_command_counts
Revises: 0012_github_installations
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013_command_counts"
down_revision: str | None = "0012_github_installations"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "command_counts",
        sa.Column("pull_key", sa.String(300), nullable=False),
        sa.Column("window_start", sa.DateTime(timezone=False), nullable=False),
        sa.Column("commands", sa.Integer(), nullable=False, server_default="0"),
        sa.PrimaryKeyConstraint("pull_key", "window_start", name=op.f("pk_command_counts")),
    )


def downgrade() -> None:
    op.drop_table("command_counts")
