"""cloud providers: operations, the infrastructure cache, the local provider's images, server
groups, instances and load balancers

Revision ID: 0004
Revises: 0008
Create Date: 2026-12-03 12:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "provider_operations",
        sa.Column("id", sa.String(length=80), nullable=False),
        sa.Column("cloud_provider", sa.String(length=64), nullable=False),
        sa.Column("account", sa.String(length=255), nullable=False),
        sa.Column("operation", sa.String(length=64), nullable=False),
        sa.Column("application", sa.String(length=255), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("result", sa.Text(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "infrastructure_cache",
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("cloud_provider", sa.String(length=64), nullable=False),
        sa.Column("account", sa.String(length=255), nullable=False),
        sa.Column("region", sa.String(length=255), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("application", sa.String(length=255), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("kind", "cloud_provider", "account", "region", "name"),
    )
    op.create_index("ix_infrastructure_cache_app", "infrastructure_cache", ["application", "kind"])
    op.create_table(
        "local_images",
        sa.Column("id", sa.String(length=80), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("package", sa.Text(), nullable=False),
        sa.Column("version", sa.String(length=255), nullable=False),
        sa.Column("tags", sa.Text(), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "local_server_groups",
        sa.Column("account", sa.String(length=255), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("region", sa.String(length=255), nullable=False),
        sa.Column("application", sa.String(length=255), nullable=False),
        sa.Column("cluster", sa.String(length=255), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("image_id", sa.String(length=80), nullable=False),
        sa.Column("spec", sa.Text(), nullable=False),
        sa.Column("capacity", sa.Text(), nullable=False),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("operation_id", sa.String(length=80), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("account", "name"),
        sa.UniqueConstraint("operation_id"),
    )
    op.create_table(
        "local_instances",
        sa.Column("id", sa.String(length=255), nullable=False),
        sa.Column("account", sa.String(length=255), nullable=False),
        sa.Column("server_group", sa.String(length=255), nullable=False),
        sa.Column("slot", sa.Integer(), nullable=False),
        sa.Column("port", sa.Integer(), nullable=False),
        sa.Column("directory", sa.Text(), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=True),
        sa.Column("pid_start", sa.BigInteger(), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("traffic", sa.String(length=16), nullable=False),
        sa.Column("health", sa.Text(), nullable=False),
        sa.Column("restarts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("next_start_at", sa.BigInteger(), nullable=True),
        sa.Column("last_exit", sa.Text(), nullable=True),
        sa.Column("launched_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("account", "port", name="uq_local_instances_port"),
    )
    op.create_index("ix_local_instances_group", "local_instances", ["account", "server_group"])
    op.create_table(
        "local_load_balancers",
        sa.Column("account", sa.String(length=255), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("region", sa.String(length=255), nullable=False),
        sa.Column("application", sa.String(length=255), nullable=False),
        sa.Column("spec", sa.Text(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("account", "name"),
    )


def downgrade() -> None:
    op.drop_table("local_load_balancers")
    op.drop_index("ix_local_instances_group", table_name="local_instances")
    op.drop_table("local_instances")
    op.drop_table("local_server_groups")
    op.drop_table("local_images")
    op.drop_index("ix_infrastructure_cache_app", table_name="infrastructure_cache")
    op.drop_table("infrastructure_cache")
    op.drop_table("provider_operations")
