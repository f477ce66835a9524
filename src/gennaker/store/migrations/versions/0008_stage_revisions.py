"""stage revisions: which save last wrote each stage row, so cached executions can be checked

Revision ID: 0008
Revises: 0005
Create Date: 2026-12-03 12:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("stages") as batch:
        batch.add_column(
            sa.Column(
                "revision",
                sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
                nullable=False,
                server_default="0",
            )
        )
    op.create_index("ix_stages_revision", "stages", ["execution_id", "revision"])


def downgrade() -> None:
    op.drop_index("ix_stages_revision", table_name="stages")
    with op.batch_alter_table("stages") as batch:
        batch.drop_column("revision")
