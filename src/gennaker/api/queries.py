"""Read queries the API needs beyond the execution repository's: Gate's per-config limits."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gennaker.model.execution import PIPELINE
from gennaker.store.schema import executions as ex_t


def newest_per_config(
    conn: Connection,
    *,
    application: str | None = None,
    config_ids: Sequence[str] | None = None,
    statuses: Sequence[str] | None = None,
    limit: int,
) -> list[str]:
    """Ids of the ``limit`` newest PIPELINE executions of each config (Gate's ``limit``), newest first."""
    rank = (
        sa.func.row_number()
        .over(
            partition_by=ex_t.c.pipeline_config_id,
            order_by=(ex_t.c.build_time.desc(), ex_t.c.id.desc()),
        )
        .label("rank")
    )
    inner = sa.select(ex_t.c.id, ex_t.c.build_time, rank).where(ex_t.c.type == PIPELINE)
    if application is not None:
        inner = inner.where(ex_t.c.application == application)
    if config_ids is not None:
        inner = inner.where(ex_t.c.pipeline_config_id.in_(list(config_ids)))
    if statuses:
        inner = inner.where(ex_t.c.status.in_([s.upper() for s in statuses]))
    ranked = inner.subquery()
    stmt = (
        sa.select(ranked.c.id)
        .where(ranked.c.rank <= limit)
        .order_by(ranked.c.build_time.desc(), ranked.c.id.desc())
    )
    return [row[0] for row in conn.execute(stmt)]
