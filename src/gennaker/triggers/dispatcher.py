"""The outbox dispatcher: reads the ``events`` log in id order and acts on each event (starts
pipeline-triggered pipelines, queues notifications), then moves its cursor.

At-least-once and crash-safe: the cursor (``event_cursors``) moves only after the events before it
were acted on, and every action is idempotent (correlationIds for starts, unique keys for
notification deliveries), so a crash before the cursor moved repeats work without doubling it.

Ids are handed out before transactions commit, so on PostgreSQL a reader may see id 11 committed
while id 10 is still in flight (or was rolled back and never will be). The dispatcher never steps
over such a gap until it is sure no transaction can still fill it: every transaction that was
running when the gap was first seen has ended (``pg_snapshot_xmin`` has passed the ``xmax`` noted
then), or ``GAP_TIMEOUT_S`` passed. On SQLite writers are serialised, so ids commit in order.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gennaker import events
from gennaker.db import is_outage
from gennaker.events import EventRecord
from gennaker.model.execution import Execution
from gennaker.store.schema import event_cursors as cursor_t

if TYPE_CHECKING:
    from gennaker.services import Services

log = logging.getLogger(__name__)
CURSOR = "dispatcher"
GAP_TIMEOUT_S = 30.0

#: An action on one event: (event, execution loader) -> None. It must be idempotent.
Action = Callable[[EventRecord, Callable[[str], Execution | None]], None]


@dataclass
class _Gap:
    expected: int
    xmax: int | None
    seen_at: float


class Dispatcher:
    """Walks the event log for a list of actions."""

    def __init__(self, services: Services, actions: list[Action], *, batch: int = 200) -> None:
        self.services = services
        self.actions = actions
        self.batch = batch
        self._gap: _Gap | None = None

    def position(self) -> int:
        """The id of the last event acted on (created at the newest event id when absent)."""
        with self.services.db.read() as conn:
            found = conn.execute(sa.select(cursor_t.c.position).where(cursor_t.c.name == CURSOR)).scalar()
        if found is not None:
            return int(found)
        with self.services.db.transaction() as conn:
            found = conn.execute(sa.select(cursor_t.c.position).where(cursor_t.c.name == CURSOR)).scalar()
            if found is not None:
                return int(found)
            start = events.last_id(conn)
            conn.execute(
                cursor_t.insert().values(name=CURSOR, position=start, updated_at=self.services.clock.now_ms())
            )
            return start

    def run_once(self) -> int:
        """Act on the events available now; returns how many were handled."""
        handled = 0
        while True:
            done = self._batch()
            handled += done
            if done < self.batch:
                return handled

    def _batch(self) -> int:
        position = self.position()
        with self.services.db.read() as conn:
            horizon = self._xmin(conn)
            found = events.read_after(conn, position, self.batch)
        cache: dict[str, Execution | None] = {}

        def load(execution_id: str) -> Execution | None:
            if execution_id not in cache:
                with self.services.db.read() as conn:
                    cache[execution_id] = self.services.executions.find(conn, execution_id)
            return cache[execution_id]

        handled = 0
        new_position = position
        for record in found:
            if record.id != new_position + 1 and not self._gap_closed(new_position + 1, horizon):
                break
            self._gap = None
            for action in self.actions:
                try:
                    action(record, load)
                except Exception as exc:
                    if is_outage(exc):
                        raise  # not this event's fault: stop before the cursor passes it
                    # One broken action must not stall the log for the others: log it and go on
                    # (the action records its own failure events where it can).
                    log.exception("event %s (%s): dispatch action failed", record.id, record.type)
            new_position = record.id
            handled += 1
        if new_position != position:
            with self.services.db.transaction() as conn:
                conn.execute(
                    cursor_t.update()
                    .where(cursor_t.c.name == CURSOR, cursor_t.c.position == position)
                    .values(position=new_position, updated_at=self.services.clock.now_ms())
                )
        return handled

    def _xmin(self, conn: Connection) -> int | None:
        if conn.dialect.name != "postgresql":
            return None
        return int(
            conn.execute(sa.text("SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint")).scalar_one()
        )

    def _gap_closed(self, expected: int, horizon: int | None) -> bool:
        """Whether the missing id ``expected`` can no longer appear."""
        if horizon is None:
            return True  # SQLite: ids are assigned and committed in order
        gap = self._gap
        if gap is None or gap.expected != expected:
            with self.services.db.read() as conn:
                xmax = int(
                    conn.execute(
                        sa.text("SELECT pg_snapshot_xmax(pg_current_snapshot())::text::bigint")
                    ).scalar_one()
                )
            self._gap = _Gap(expected, xmax, time.monotonic())
            return False
        if gap.xmax is not None and horizon >= gap.xmax:
            return True
        return time.monotonic() - gap.seen_at > GAP_TIMEOUT_S
