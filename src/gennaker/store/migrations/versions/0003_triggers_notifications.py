"""triggers and notifications: event cursors, cron state, docker tags, notification deliveries

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 06:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def _id() -> sa.types.TypeEngine[int]:
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "event_cursors",
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    # The outbox dispatcher starts after the events that exist now: an upgraded installation must
    # not send notifications (or start pipeline-triggered pipelines) for executions long finished.
    op.execute(
        "INSERT INTO event_cursors (name, position, updated_at) "
        "SELECT 'dispatcher', COALESCE(MAX(id), 0), 0 FROM events"
    )
    op.create_table(
        "cron_trigger_state",
        sa.Column("config_id", sa.String(length=255), nullable=False),
        sa.Column("trigger_id", sa.String(length=255), nullable=False),
        sa.Column("last_tick", sa.BigInteger(), nullable=False),
        sa.Column("expression", sa.String(length=255), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("config_id", "trigger_id"),
    )
    op.create_table(
        "docker_repositories",
        sa.Column("account", sa.String(length=255), nullable=False),
        sa.Column("repository", sa.String(length=255), nullable=False),
        sa.Column("next_poll_at", sa.BigInteger(), nullable=False),
        sa.Column("primed_at", sa.BigInteger(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("account", "repository"),
    )
    op.create_table(
        "docker_tags",
        sa.Column("account", sa.String(length=255), nullable=False),
        sa.Column("repository", sa.String(length=255), nullable=False),
        sa.Column("tag", sa.String(length=255), nullable=False),
        sa.Column("digest", sa.String(length=100), nullable=True),
        sa.Column("seen_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("account", "repository", "tag"),
    )
    op.create_table(
        "notification_deliveries",
        sa.Column("id", _id(), autoincrement=True, nullable=False),
        sa.Column("dedup_key", sa.String(length=255), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("address", sa.Text(), nullable=True),
        sa.Column("application", sa.String(length=255), nullable=True),
        sa.Column("execution_id", sa.String(length=64), nullable=True),
        sa.Column("event_type", sa.String(length=64), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("next_attempt_at", sa.BigInteger(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("dedup_key"),
    )
    with op.batch_alter_table("notification_deliveries", schema=None) as batch_op:
        batch_op.create_index("ix_notification_deliveries_due", ["status", "next_attempt_at"], unique=False)


def downgrade() -> None:
    op.drop_table("notification_deliveries")
    op.drop_table("docker_tags")
    op.drop_table("docker_repositories")
    op.drop_table("cron_trigger_state")
    op.drop_table("event_cursors")
