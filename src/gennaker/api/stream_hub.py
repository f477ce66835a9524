"""Where live updates come from: the ``events`` table, read by id, with wake-ups instead of tight polls.

The engine writes every transition as an ``events`` row inside the handler's transaction. A stream
reads the rows after the last id it sent. It wakes up early when
- a transaction in this process made a queue message deliverable (the queue's wake-up callback:
  nearly every transition pushes a message), or
- PostgreSQL delivers a NOTIFY on ``gennaker_events`` (the processor sends one with every batch of
  events, from any process),
and otherwise polls: every second on PostgreSQL, every 250 ms on SQLite.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from gennaker.queue.wakeup import ListenerThread, PgListener
from gennaker.store import json as jsonlib
from gennaker.store.schema import events as events_t

if TYPE_CHECKING:
    import psycopg

    from gennaker.services import Services

CHANNEL = "gennaker_events"


@dataclass(frozen=True)
class StoredEvent:
    """One row of the events table, as streamed."""

    id: int
    ts: int
    type: str
    application: str | None
    execution_id: str | None
    body: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        """The event document sent to clients: the body plus id, ts and type."""
        return {
            **self.body,
            "id": self.id,
            "ts": self.ts,
            "type": self.type,
            "application": self.application,
            "executionId": self.execution_id,
        }


class EventHub:
    """Reads events and tells waiting streams that new ones may have arrived."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self.poll_seconds = 1.0 if services.db.dialect == "postgresql" else 0.25
        self._waiters: set[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = set()
        self._lock = threading.Lock()
        self._started = False
        self._listener: ListenerThread | None = None
        #: Set when the server shuts down: open streams end so the shutdown does not wait for them.
        self.closing = threading.Event()

    # -- reading ---------------------------------------------------------------------------------

    def latest_id(self) -> int:
        """The id of the newest event (0 when there is none)."""
        with self.services.db.read() as conn:
            return int(conn.execute(sa.select(sa.func.max(events_t.c.id))).scalar() or 0)

    def read_since(
        self,
        after_id: int,
        *,
        application: str | None = None,
        execution_id: str | None = None,
        limit: int = 500,
    ) -> tuple[list[StoredEvent], int]:
        """Events after ``after_id`` matching the filters, oldest first, and the id to continue from."""
        stmt = sa.select(events_t).where(events_t.c.id > after_id).order_by(events_t.c.id).limit(limit)
        with self.services.db.read() as conn:
            rows = conn.execute(stmt).all()
        found = []
        for row in rows:
            if application is not None and (row.application or "").lower() != application.lower():
                continue
            if execution_id is not None and row.execution_id != execution_id:
                continue
            found.append(
                StoredEvent(
                    int(row.id),
                    int(row.ts),
                    row.type,
                    row.application,
                    row.execution_id,
                    jsonlib.loads(row.body),
                )
            )
        last = int(rows[-1].id) if rows else after_id
        return found, last

    # -- waking ----------------------------------------------------------------------------------

    def _start(self) -> None:
        with self._lock:
            if self._started:
                return
            self._started = True
        self.services.queue.add_wakeup(self.notify)
        if self.services.db.dialect == "postgresql":
            self._listener = ListenerThread(self._pg_listener(), name="gennaker-events-listener")
            self._listener.start()

    def _pg_listener(self) -> PgListener:
        engine = self.services.db.engine
        cargs, cparams = engine.dialect.create_connect_args(engine.url)

        import psycopg  # PostgreSQL only: an SQLite server never loads the driver

        def connect() -> psycopg.Connection[tuple[object, ...]]:
            return psycopg.connect(*cargs, autocommit=True, **{"connect_timeout": 10, **cparams})

        return PgListener(connect, CHANNEL, self.notify)

    def notify(self) -> None:
        """Wake every waiting stream (callable from any thread)."""
        with self._lock:
            waiters = list(self._waiters)
        for loop, event in waiters:
            with contextlib.suppress(RuntimeError):  # the loop has closed
                loop.call_soon_threadsafe(event.set)

    async def wait(self, timeout: float) -> None:
        """Return after a wake-up, ``timeout`` seconds, or the start of the shutdown."""
        self._start()
        event = asyncio.Event()
        waiter = (asyncio.get_running_loop(), event)
        with self._lock:
            self._waiters.add(waiter)
        try:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), timeout)
        finally:
            with self._lock:
                self._waiters.discard(waiter)

    def begin_shutdown(self) -> None:
        """End open streams (the server is stopping)."""
        self.closing.set()
        self.notify()

    def close(self) -> None:
        """Stop the PostgreSQL listener."""
        self.begin_shutdown()
        listener, self._listener = self._listener, None
        if listener is not None:
            listener.stop()
