"""projects and application notifications; every stored trigger gets the keys Orca always writes

Revision ID: 0006
Revises: 0010
Create Date: 2026-12-03 12:00:00.000000
"""

from __future__ import annotations

import orjson
import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0010"
branch_labels = None
depends_on = None

# The trigger keys Orca's Trigger always serialises, with their empty values (as
# gennaker.model.trigger writes them on new executions; repeated here because a migration must not
# change when that module does).
_TRIGGER_DEFAULTS: tuple[tuple[str, object], ...] = (
    ("parameters", {}),
    ("artifacts", []),
    ("notifications", []),
    ("resolvedExpectedArtifacts", []),
    ("expectedArtifacts", []),
    ("rebake", False),
    ("dryRun", False),
    ("strategy", False),
)
_BATCH = 500


def upgrade() -> None:
    op.create_table(
        "projects",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("name_key", sa.String(length=255), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name_key"),
    )
    op.create_table(
        "application_notifications",
        sa.Column("application", sa.String(length=255), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("application"),
    )
    _backfill_triggers(op.get_bind())


def _backfill_triggers(conn: sa.engine.Connection) -> None:
    """Executions stored before now lack trigger keys Deck reads unguarded; add them in batches."""
    table = sa.table("executions", sa.column("id", sa.String), sa.column("body", sa.Text))
    last = ""
    while True:
        rows = conn.execute(
            sa.select(table.c.id, table.c.body).where(table.c.id > last).order_by(table.c.id).limit(_BATCH)
        ).all()
        if not rows:
            return
        for execution_id, body in rows:
            document = orjson.loads(body)
            trigger = document.get("trigger")
            if not isinstance(trigger, dict):
                trigger = document["trigger"] = {"type": "manual"}
            missing = [(k, v) for k, v in _TRIGGER_DEFAULTS if trigger.get(k) is None]
            if missing:
                for key, empty in missing:
                    trigger[key] = empty
                conn.execute(
                    table.update()
                    .where(table.c.id == execution_id)
                    .values(body=orjson.dumps(document, option=orjson.OPT_NON_STR_KEYS).decode())
                )
        last = rows[-1][0]


def downgrade() -> None:
    op.drop_table("application_notifications")
    op.drop_table("projects")
