"""gitops: managed pipelines, templates and policies, sync state and history

Revision ID: 0010
Revises: 0003
Create Date: 2026-12-03 12:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "gitops_managed",
        sa.Column("repository", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("key", sa.String(length=600), nullable=False),
        sa.Column("config_id", sa.String(length=255), nullable=True),
        sa.Column("file", sa.String(length=1000), nullable=False),
        sa.Column("commit_sha", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("repository", "kind", "key"),
    )
    op.create_index("ix_gitops_managed_config_id", "gitops_managed", ["config_id"])
    op.create_table(
        "gitops_state",
        sa.Column("repository", sa.String(length=100), nullable=False),
        sa.Column("requested_at", sa.BigInteger(), nullable=True),
        sa.Column("last_attempt_at", sa.BigInteger(), nullable=True),
        sa.Column("last_commit", sa.String(length=64), nullable=True),
        sa.Column("last_status", sa.String(length=20), nullable=True),
        sa.PrimaryKeyConstraint("repository"),
    )
    op.create_table(
        "gitops_syncs",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("repository", sa.String(length=100), nullable=False),
        sa.Column("commit_sha", sa.String(length=64), nullable=True),
        sa.Column("author", sa.String(length=500), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("at", sa.BigInteger(), nullable=False),
        sa.Column("reason", sa.String(length=100), nullable=False),
        sa.Column("changes", sa.Text(), nullable=False),
        sa.Column("errors", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_gitops_syncs_repository", "gitops_syncs", ["repository"])
    op.create_table(
        "gitops_policies",
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("repository", sa.String(length=100), nullable=False),
        sa.Column("file", sa.String(length=1000), nullable=False),
        sa.Column("commit_sha", sa.String(length=64), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )


def downgrade() -> None:
    op.drop_table("gitops_policies")
    op.drop_index("ix_gitops_syncs_repository", table_name="gitops_syncs")
    op.drop_table("gitops_syncs")
    op.drop_table("gitops_state")
    op.drop_index("ix_gitops_managed_config_id", table_name="gitops_managed")
    op.drop_table("gitops_managed")
