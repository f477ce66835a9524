"""The event log: every execution and stage transition (written by the engine), every trigger
firing or rejection and every notification delivery, one ``events`` row each.

The engine writes its rows inside the handler's transaction; triggers and notifiers write theirs
with ``record``. ``list_events`` answers ``GET /events``; ``read_after`` is what the outbox
dispatcher uses to walk the log in id order.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gennaker.store import json as jsonlib
from gennaker.store.schema import events as events_t

# Event types written outside the engine (the engine's are pipeline.* and stage.*).
TRIGGER_FIRED = "trigger.fired"
TRIGGER_REJECTED = "trigger.rejected"
TRIGGER_ERROR = "trigger.error"
TRIGGER_SKIPPED = "trigger.skipped"
NOTIFICATION_SENT = "notification.sent"
NOTIFICATION_FAILED = "notification.failed"

MAX_LIMIT = 1000


@dataclass(frozen=True)
class EventRecord:
    """One row of the event log."""

    id: int
    ts: int
    type: str
    application: str | None
    execution_id: str | None
    body: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        """The document ``GET /events`` returns: the body plus id, ts, type (and where it belongs)."""
        out: dict[str, Any] = {**self.body, "id": self.id, "ts": self.ts, "type": self.type}
        if self.application is not None:
            out.setdefault("application", self.application)
        if self.execution_id is not None:
            out.setdefault("executionId", self.execution_id)
        return out


@dataclass(frozen=True)
class EventQuery:
    """Filters of ``GET /events``; all optional.

    ``types`` entries match exactly, or as a prefix when they end with ``*`` (``trigger.*``).
    ``since`` keeps events with ``ts >= since``. With ``after_id`` the result is oldest first
    (tailing the log); otherwise newest first, and ``before_id`` pages backwards.
    """

    application: str | None = None
    types: tuple[str, ...] = ()
    since: int | None = None
    execution_id: str | None = None
    after_id: int | None = None
    before_id: int | None = None
    limit: int = 100


def record(
    conn: Connection,
    *,
    ts: int,
    type_: str,
    body: dict[str, Any],
    application: str | None = None,
    execution_id: str | None = None,
) -> int:
    """Append one event in the caller's transaction; returns its id."""
    result = conn.execute(
        events_t.insert().values(
            ts=ts,
            type=type_,
            application=application,
            execution_id=execution_id,
            body=jsonlib.dumps(body),
        )
    )
    key = result.inserted_primary_key
    return int(key[0]) if key is not None and key[0] is not None else 0


def list_events(conn: Connection, query: EventQuery) -> list[EventRecord]:
    """The events matching ``query`` (see EventQuery for the order)."""
    stmt = sa.select(events_t)
    if query.application:
        stmt = stmt.where(sa.func.lower(events_t.c.application) == query.application.strip().lower())
    if query.types:
        clauses = []
        for wanted in query.types:
            if wanted.endswith("*"):
                clauses.append(events_t.c.type.startswith(wanted[:-1], autoescape=True))
            else:
                clauses.append(events_t.c.type == wanted)
        stmt = stmt.where(sa.or_(*clauses))
    if query.since is not None:
        stmt = stmt.where(events_t.c.ts >= query.since)
    if query.execution_id:
        stmt = stmt.where(events_t.c.execution_id == query.execution_id)
    if query.before_id is not None:
        stmt = stmt.where(events_t.c.id < query.before_id)
    if query.after_id is not None:
        stmt = stmt.where(events_t.c.id > query.after_id).order_by(events_t.c.id.asc())
    else:
        stmt = stmt.order_by(events_t.c.id.desc())
    stmt = stmt.limit(max(1, min(query.limit, MAX_LIMIT)))
    return [_record(row) for row in conn.execute(stmt)]


def read_after(conn: Connection, after_id: int, limit: int) -> list[EventRecord]:
    """Events with an id above ``after_id``, oldest first (the outbox walk)."""
    stmt = sa.select(events_t).where(events_t.c.id > after_id).order_by(events_t.c.id.asc()).limit(limit)
    return [_record(row) for row in conn.execute(stmt)]


def last_id(conn: Connection) -> int:
    """The id of the newest event (0 when the log is empty)."""
    return int(conn.execute(sa.select(sa.func.max(events_t.c.id))).scalar() or 0)


def _record(row: Any) -> EventRecord:
    body = jsonlib.loads(row.body)
    return EventRecord(
        id=int(row.id),
        ts=int(row.ts),
        type=str(row.type),
        application=row.application,
        execution_id=row.execution_id,
        body=body if isinstance(body, dict) else {"value": body},
    )


def count_since(conn: Connection, type_: str, since: int, application: str | None) -> int:
    """How many events of ``type_`` (of ``application``) were recorded at or after ``since``."""
    query = (
        sa.select(sa.func.count())
        .select_from(events_t)
        .where(events_t.c.type == type_, events_t.c.ts >= since)
    )
    if application is not None:
        query = query.where(events_t.c.application == application)
    return int(conn.execute(query).scalar_one())


def prune(conn: Connection, *, before_ts: int, up_to_id: int, limit: int = 5_000) -> int:
    """Delete up to ``limit`` events older than ``before_ts`` with ids up to ``up_to_id`` (those the
    outbox has acted on); returns how many."""
    doomed = (
        sa.select(events_t.c.id)
        .where(events_t.c.ts < before_ts, events_t.c.id <= up_to_id)
        .order_by(events_t.c.id)
        .limit(limit)
    )
    ids = [row.id for row in conn.execute(doomed).all()]
    if not ids:
        return 0
    conn.execute(events_t.delete().where(events_t.c.id.in_(ids)))
    return len(ids)
