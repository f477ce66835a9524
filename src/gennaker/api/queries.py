"""Read queries the API needs beyond the execution repository's: Gate's per-config limits, and
execution JSON assembled from the stored rows."""

from __future__ import annotations

from collections.abc import Sequence

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gennaker.model.execution import PIPELINE
from gennaker.store.schema import executions as ex_t
from gennaker.store.schema import stages as st_t


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


# -- execution JSON straight from the stored rows -------------------------------------------------
# The executions table keeps each execution's JSON without its stages (``Execution.header_json()``)
# and the stages table each stage's JSON (``Stage.to_json()``), so Spinnaker's execution JSON is
# the header with ``"stages": [...]`` appended. Splicing the stored text avoids parsing and
# re-serialising documents on the API's hottest reads.


def splice(header: str, stages: Sequence[str]) -> str:
    """``{...header, "stages": [stage, ...]}`` from the stored JSON texts."""
    inner = header.rstrip()[:-1].rstrip()
    separator = "" if inner == "{" else ","
    return f'{inner}{separator}"stages":[{",".join(stages)}]}}'


def execution_text(conn: Connection, execution_id: str) -> str | None:
    """One execution's JSON text, or None."""
    header = conn.execute(sa.select(ex_t.c.body).where(ex_t.c.id == execution_id)).scalar()
    if header is None:
        return None
    stages = conn.execute(
        sa.select(st_t.c.body).where(st_t.c.execution_id == execution_id).order_by(st_t.c.position)
    ).scalars()
    return splice(header, list(stages))


def executions_text(conn: Connection, ids: Sequence[str], *, expand: bool) -> str:
    """A JSON array of these executions in this order; without ``expand`` stage contexts and
    outputs are emptied (Gate's list views)."""
    if not ids:
        return "[]"
    headers = {
        r[0]: r[1] for r in conn.execute(sa.select(ex_t.c.id, ex_t.c.body).where(ex_t.c.id.in_(list(ids))))
    }
    stages: dict[str, list[str]] = {i: [] for i in ids}
    rows = conn.execute(
        sa.select(st_t.c.execution_id, st_t.c.body)
        .where(st_t.c.execution_id.in_(list(ids)))
        .order_by(st_t.c.execution_id, st_t.c.position)
    )
    for execution_id, body in rows:
        stages[execution_id].append(body if expand else _stripped(body))
    return "[" + ",".join(splice(headers[i], stages[i]) for i in ids if i in headers) + "]"


def _stripped(stage_text: str) -> str:
    stage = orjson.loads(stage_text)
    stage["context"] = {}
    stage["outputs"] = {}
    return orjson.dumps(stage, option=orjson.OPT_NON_STR_KEYS).decode()
