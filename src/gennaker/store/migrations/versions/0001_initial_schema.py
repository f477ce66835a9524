"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-22 04:02:10.301852
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "applications",
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    op.create_table(
        "events",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("ts", sa.BigInteger(), nullable=False),
        sa.Column("type", sa.String(length=64), nullable=False),
        sa.Column("application", sa.String(length=255), nullable=True),
        sa.Column("execution_id", sa.String(length=64), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.create_index("ix_events_app_ts", ["application", "ts"], unique=False)
        batch_op.create_index("ix_events_execution", ["execution_id"], unique=False)
        batch_op.create_index("ix_events_type_ts", ["type", "ts"], unique=False)

    op.create_table(
        "execution_locks",
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("execution_id", sa.String(length=64), nullable=False),
        sa.Column("acquired_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    with op.batch_alter_table("execution_locks", schema=None) as batch_op:
        batch_op.create_index("ix_execution_locks_execution", ["execution_id"], unique=False)

    op.create_table(
        "executions",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("type", sa.String(length=16), nullable=False),
        sa.Column("application", sa.String(length=255), nullable=False),
        sa.Column("pipeline_config_id", sa.String(length=255), nullable=True),
        sa.Column("name", sa.String(length=255), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("build_time", sa.BigInteger(), nullable=False),
        sa.Column("start_time", sa.BigInteger(), nullable=True),
        sa.Column("end_time", sa.BigInteger(), nullable=True),
        sa.Column("canceled", sa.Boolean(), nullable=False),
        sa.Column("correlation_id", sa.String(length=255), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("correlation_id"),
    )
    with op.batch_alter_table("executions", schema=None) as batch_op:
        batch_op.create_index("ix_executions_app_time", ["application", "type", "build_time"], unique=False)
        batch_op.create_index(
            "ix_executions_config_status", ["pipeline_config_id", "status", "build_time"], unique=False
        )
        batch_op.create_index("ix_executions_config_time", ["pipeline_config_id", "build_time"], unique=False)
        batch_op.create_index("ix_executions_status_time", ["status", "build_time"], unique=False)
        batch_op.create_index("ix_executions_time", ["build_time"], unique=False)

    op.create_table(
        "pipeline_config_revisions",
        sa.Column("config_id", sa.String(length=255), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("saved_at", sa.BigInteger(), nullable=False),
        sa.Column("saved_by", sa.String(length=255), nullable=True),
        sa.PrimaryKeyConstraint("config_id", "revision"),
    )
    op.create_table(
        "pipeline_configs",
        sa.Column("id", sa.String(length=255), nullable=False),
        sa.Column("application", sa.String(length=255), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("name_key", sa.String(length=255), nullable=False),
        sa.Column("kind", sa.String(length=16), server_default="pipeline", nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_by", sa.String(length=255), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("application", "kind", "name_key", name="uq_pipeline_configs_app_name"),
    )
    op.create_table(
        "pipeline_templates",
        sa.Column("id", sa.String(length=255), nullable=False),
        sa.Column("tag", sa.String(length=64), nullable=False),
        sa.Column("digest", sa.String(length=80), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_by", sa.String(length=255), nullable=True),
        sa.PrimaryKeyConstraint("id", "tag"),
    )
    op.create_table(
        "queue_dead_letters",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("execution_id", sa.String(length=64), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("died_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "queue_messages",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("execution_id", sa.String(length=64), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("visible_at", sa.BigInteger(), nullable=False),
        sa.Column("lease_token", sa.String(length=64), nullable=True),
        sa.Column("pending_at", sa.BigInteger(), nullable=True),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("fingerprint"),
    )
    with op.batch_alter_table("queue_messages", schema=None) as batch_op:
        batch_op.create_index("ix_queue_messages_execution", ["execution_id"], unique=False)
        batch_op.create_index("ix_queue_messages_visible", ["visible_at"], unique=False)

    op.create_table(
        "role_leases",
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("holder", sa.String(length=255), nullable=False),
        sa.Column("expires_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    op.create_table(
        "stages",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("execution_id", sa.String(length=64), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("ref_id", sa.String(length=255), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["execution_id"], ["executions.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("stages", schema=None) as batch_op:
        batch_op.create_index("ix_stages_execution", ["execution_id", "position"], unique=False)

    op.create_table(
        "waiting_executions",
        sa.Column("execution_id", sa.String(length=64), nullable=False),
        sa.Column("key", sa.String(length=300), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("queued_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["execution_id"], ["executions.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("execution_id"),
    )
    with op.batch_alter_table("waiting_executions", schema=None) as batch_op:
        batch_op.create_index("ix_waiting_executions_key", ["key", "queued_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("waiting_executions", schema=None) as batch_op:
        batch_op.drop_index("ix_waiting_executions_key")

    op.drop_table("waiting_executions")
    with op.batch_alter_table("stages", schema=None) as batch_op:
        batch_op.drop_index("ix_stages_execution")

    op.drop_table("stages")
    op.drop_table("role_leases")
    with op.batch_alter_table("queue_messages", schema=None) as batch_op:
        batch_op.drop_index("ix_queue_messages_visible")
        batch_op.drop_index("ix_queue_messages_execution")

    op.drop_table("queue_messages")
    op.drop_table("queue_dead_letters")
    op.drop_table("pipeline_templates")
    op.drop_table("pipeline_configs")
    op.drop_table("pipeline_config_revisions")
    with op.batch_alter_table("executions", schema=None) as batch_op:
        batch_op.drop_index("ix_executions_time")
        batch_op.drop_index("ix_executions_status_time")
        batch_op.drop_index("ix_executions_config_time")
        batch_op.drop_index("ix_executions_config_status")
        batch_op.drop_index("ix_executions_app_time")

    op.drop_table("executions")
    with op.batch_alter_table("execution_locks", schema=None) as batch_op:
        batch_op.drop_index("ix_execution_locks_execution")

    op.drop_table("execution_locks")
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_index("ix_events_type_ts")
        batch_op.drop_index("ix_events_execution")
        batch_op.drop_index("ix_events_app_ts")

    op.drop_table("events")
    op.drop_table("applications")
