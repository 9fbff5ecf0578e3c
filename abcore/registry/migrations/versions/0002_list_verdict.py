"""The list's verdict and filter: ``experiments.verdict`` and an index on (workspace, status).

The Experiments page lists every experiment of a workspace with its status and its verdict,
filtered by status. Reading the verdict through the decisions table costs a join and a
"latest per experiment" subquery per row; the column holds the latest decision's verdict
(filled here from the decisions already recorded) and the index serves the filter.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("experiments") as batch:
        batch.add_column(sa.Column("verdict", sa.String(40), nullable=True))
    op.create_index("ix_experiments_workspace_status", "experiments", ["workspace", "status"])
    decisions = sa.table(
        "decisions",
        sa.column("id", sa.Integer()),
        sa.column("experiment_id", sa.String()),
        sa.column("decided_at", sa.DateTime(timezone=True)),
        sa.column("verdict", sa.String()),
    )
    experiments = sa.table("experiments", sa.column("id", sa.String()), sa.column("verdict"))
    latest = (
        sa.select(decisions.c.verdict)
        .where(decisions.c.experiment_id == experiments.c.id)
        .order_by(decisions.c.decided_at.desc(), decisions.c.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    op.execute(experiments.update().values(verdict=latest))


def downgrade() -> None:
    op.drop_index("ix_experiments_workspace_status", table_name="experiments")
    with op.batch_alter_table("experiments") as batch:
        batch.drop_column("verdict")
