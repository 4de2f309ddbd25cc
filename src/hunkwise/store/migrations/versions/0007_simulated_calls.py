"""Mark calls and runs served by hunkwise's own simulator (``review --offline``).

Revision ID: 0007_simulated_calls
Revises: 0005_cost_ceiling
Create Date: 2026-12-14

A simulated call spent no money, so summaries, Coding Plan windows and the console leave it out
unless asked. Existing rows default to ``false``, except the runs that ``review --offline`` already
recorded: it has always written them with ``source = 'offline'``, an explicit mark rather than a
guess, so those runs and their calls become simulated here and stop counting as spend.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_simulated_calls"
down_revision: str | None = "0005_cost_ceiling"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TABLES = ("review_runs", "model_calls")


# Plain ALTER TABLE, never batch mode: on SQLite a batch rebuild drops ``review_runs``, and with
# foreign keys on that drop deletes every call of every run (ON DELETE CASCADE). SQLite adds a
# NOT NULL column with a constant default in place, and drops one in place since 3.35.


def upgrade() -> None:
    for table in _TABLES:
        op.add_column(table, sa.Column("simulated", sa.Boolean(), nullable=False, server_default=sa.false()))
    runs = sa.table(
        "review_runs",
        sa.column("id", sa.Integer),
        sa.column("source", sa.String),
        sa.column("simulated", sa.Boolean),
    )
    calls = sa.table("model_calls", sa.column("run_id", sa.Integer), sa.column("simulated", sa.Boolean))
    offline = sa.select(runs.c.id).where(runs.c.source == "offline")
    op.execute(calls.update().where(calls.c.run_id.in_(offline)).values(simulated=True))
    op.execute(runs.update().where(runs.c.source == "offline").values(simulated=True))


def downgrade() -> None:
    for table in reversed(_TABLES):
        op.drop_column(table, "simulated")
