"""The queue on the shared database (SQLite or PostgreSQL): one row per distinct message.

A row is *queued* while ``lease_token`` is NULL and *in flight* while it is set; ``visible_at`` is
the delivery time in the first case and the lease deadline in the second, so a lease that runs out
(a crashed worker) makes its message deliverable again with no sweeper. A push of an identical
message while one is in flight is remembered in ``pending_at`` and turned into a new delivery by
the ack. Every delivery counts in ``attempts``; the ack of a pending redelivery resets it.

Semantics shared with MemoryQueue (checked by tests/contract/test_queue_contract.py), following
keiko's QueueTest:

- push of a message identical to a queued one moves it to the new time (the latest push wins).
- push while in flight: delivered again at the new time once the current delivery is acked. A
  delivery that starts later (the lease expired, or the worker released it) covers such a pending
  push, so it is folded in rather than delivered twice.
- release(lease, delay) gives the message back with its attempts kept, so a message that always
  fails is dead-lettered after ``max_attempts`` deliveries. A lease that is already lost is ignored.

Errors: ``lease``, ``release``, ``extend`` and the read-only queries run their own transactions and
raise ``gennaker.db.DatabaseUnavailable`` when the database cannot be reached or drops the
connection, so a worker can back off and retry. ``push``/``ensure``/``reschedule``/``ack``/
``purge_execution`` run in the caller's transaction and leave its errors to the caller.
"""

from __future__ import annotations

import re
import secrets
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TypeAlias

import sqlalchemy as sa
from sqlalchemy import bindparam, case, func
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Row

from gennaker.clock import Clock
from gennaker.db import Database, DatabaseUnavailable
from gennaker.queue.base import DeadLetter, Lease, LeaseLost, QueuedMessage
from gennaker.queue.wakeup import ListenerThread, PgListener, Wakeups
from gennaker.store.schema import queue_dead_letters as dlq
from gennaker.store.schema import queue_messages as qm

if TYPE_CHECKING:
    import psycopg

_CHANNEL = re.compile(r"[a-z_][a-z0-9_]{0,62}")
_AnyRow: TypeAlias = Row[*tuple[Any, ...]]


class SqlQueue:
    """The Queue protocol on a Database (one class for both dialects)."""

    def __init__(
        self, db: Database, clock: Clock, *, max_attempts: int = 10, channel: str = "gennaker_queue"
    ) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if not _CHANNEL.fullmatch(channel):
            raise ValueError(f"channel {channel!r} must be a lower-case SQL identifier")
        self._db = db
        self._clock = clock
        self.max_attempts = max_attempts
        self.channel = channel
        self._pg = db.dialect == "postgresql"
        self._wakeups = Wakeups()
        # Our own NOTIFYs carry this payload; our listener skips them (already announced in-process).
        self._origin = secrets.token_hex(8)
        #: This process's name in ``worker_liveness``; every lease token it draws starts with it.
        self.holder = secrets.token_hex(8)
        self._listener: ListenerThread | None = None
        self._listener_lock = threading.Lock()
        self._build_statements()

    # -- writes in the caller's transaction -----------------------------------------------------

    def push(self, conn: Connection, message: QueuedMessage, delay_ms: int = 0) -> None:
        """Queue for delivery after ``delay_ms``; see the module docstring for duplicates."""
        conn.execute(self._push, self._insert_params(message, delay_ms))
        self._announce(conn)

    def ensure(self, conn: Connection, message: QueuedMessage, delay_ms: int = 0) -> None:
        """Push only if no identical message is queued or in flight."""
        # RETURNING rather than rowcount: psycopg reports -1 for an INSERT that returns rows.
        if conn.execute(self._ensure, self._insert_params(message, delay_ms)).first() is not None:
            self._announce(conn)

    def reschedule(self, conn: Connection, message: QueuedMessage, delay_ms: int = 0) -> None:
        """Move an identical queued (not in-flight) message to now + delay; no-op if none."""
        params = {"b_fp": message.fingerprint, "b_at": self._clock.now_ms() + max(0, delay_ms)}
        if conn.execute(self._reschedule, params).rowcount:
            self._announce(conn)

    def ack(self, conn: Connection, lease: Lease) -> None:
        """Finish a delivery in the caller's transaction; raise LeaseLost if it is no longer ours."""
        params = {"b_id": lease.id, "b_token": lease.token}
        if conn.execute(self._ack_delete, params).rowcount:
            return
        # Not deleted: either a push arrived during the delivery (deliver again) or the lease is lost.
        if not conn.execute(self._ack_requeue, params).rowcount:
            raise LeaseLost(f"lease on message {lease.id} ({lease.message.kind}) is no longer held")
        self._announce(conn)

    def purge_execution(self, conn: Connection, execution_id: str) -> int:
        """Drop every message of one execution, in flight or not (their acks then raise LeaseLost)."""
        return int(conn.execute(self._purge, {"b_exec": execution_id}).rowcount)

    # -- deliveries, each in its own transaction ------------------------------------------------

    def lease(self, max_messages: int, lease_ms: int) -> tuple[list[Lease], list[DeadLetter]]:
        """Take up to ``max_messages`` deliverable messages, oldest first; see Queue.lease."""
        if max_messages <= 0:
            return [], []
        if self._db.is_sqlite:
            # Taking SQLite's write lock to find nothing would stall every writer in every
            # process on each idle poll; a read (which never blocks in WAL mode) says whether to.
            next_at = self.next_visible_at()
            if next_at is None or next_at > self._clock.now_ms():
                return [], []
        with self._own_transaction() as conn:
            now = self._clock.now_ms()
            rows = conn.execute(self._lease_select, {"b_now": now, "b_limit": max_messages}).all()
            if not rows:
                return [], []
            live = [r for r in rows if r.attempts < self.max_attempts]
            dead = [r for r in rows if r.attempts >= self.max_attempts]
            leases: list[Lease] = []
            if live:
                # One token per batch is enough: ack matches id *and* token, and every lease of a
                # row draws a new one, so a stale holder can never match.
                token = f"{self.holder}.{secrets.token_hex(16)}"
                expires = now + lease_ms
                ids = [r.id for r in live]
                conn.execute(self._lease_update, {"b_ids": ids, "b_token": token, "b_exp": expires})
                leases = [Lease(r.id, token, _message(r), r.attempts + 1, expires) for r in live]
            dead_letters = self._bury(conn, dead, now) if dead else []
            return leases, dead_letters

    def release(self, lease: Lease, delay_ms: int) -> None:
        """Give a delivery back, deliverable again after ``delay_ms`` (no-op if the lease is lost)."""
        with self._own_transaction() as conn:
            at = self._clock.now_ms() + max(0, delay_ms)
            params = {"b_id": lease.id, "b_token": lease.token, "b_at": at}
            if conn.execute(self._release, params).rowcount:
                self._announce(conn)

    def extend(self, lease: Lease, lease_ms: int) -> Lease:
        """Push the lease deadline out; raise LeaseLost if it is no longer ours."""
        with self._own_transaction() as conn:
            expires = self._clock.now_ms() + lease_ms
            params = {"b_id": lease.id, "b_token": lease.token, "b_exp": expires}
            if not conn.execute(self._extend, params).rowcount:
                raise LeaseLost(f"lease on message {lease.id} ({lease.message.kind}) is no longer held")
        return Lease(lease.id, lease.token, lease.message, lease.attempts, expires)

    # -- queries --------------------------------------------------------------------------------

    def next_visible_at(self) -> int | None:
        """When the earliest message (or expiring lease) becomes deliverable, or None if empty."""
        with self._own_read() as conn:
            value = conn.execute(self._next_visible).scalar()
        return None if value is None else int(value)

    def depth(self) -> tuple[int, int]:
        """(messages ready now, messages in flight under an unexpired lease)."""
        with self._own_read() as conn:
            ready, in_flight = conn.execute(self._depth, {"b_now": self._clock.now_ms()}).one()
        return int(ready or 0), int(in_flight or 0)

    def dead_letters(self, limit: int = 100) -> Sequence[DeadLetter]:
        """The most recent dead letters, newest first."""
        with self._own_read() as conn:
            rows = conn.execute(self._dead_select, {"b_limit": limit}).all()
        return [DeadLetter(_message(r), r.attempts, r.reason or "", r.died_at) for r in rows]

    # -- wake-ups ---------------------------------------------------------------------------------

    def add_wakeup(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` after a transaction that made a message deliverable commits.

        In this process that always works; for pushes from other processes (PostgreSQL only) the
        listener must run: see ``start_listener``."""
        self._wakeups.add(callback)

    def start_listener(self) -> None:
        """PostgreSQL: LISTEN in a background thread so other processes' pushes wake us too.

        Idempotent. A no-op on SQLite, whose writers share one process (another process on the
        same file is only noticed by the worker's timed poll)."""
        if not self._pg:
            return
        with self._listener_lock:
            if self._listener is None:
                self._listener = ListenerThread(self._make_listener())
                self._listener.start()

    def listen(self, stop: threading.Event) -> None:
        """PostgreSQL: run the listener in the calling thread until ``stop`` is set."""
        if self._pg:
            self._make_listener().run(stop)
        else:
            stop.wait()

    def close(self) -> None:
        """Stop the background listener, if any."""
        with self._listener_lock:
            listener, self._listener = self._listener, None
        if listener is not None:
            listener.stop()

    def _make_listener(self) -> PgListener:
        engine = self._db.engine
        cargs, cparams = engine.dialect.create_connect_args(engine.url)

        def connect() -> psycopg.Connection[tuple[object, ...]]:
            import psycopg

            params = {"connect_timeout": 10, **cparams}
            return psycopg.connect(*cargs, autocommit=True, **params)

        return PgListener(connect, self.channel, self._wakeups.fire, ignore_payload=self._origin)

    def _announce(self, conn: Connection) -> None:
        # Once per transaction: the in-process wake-up after commit, plus (PostgreSQL) a NOTIFY that
        # the server delivers to other processes at commit and discards on rollback.
        if self._db.after_commit(conn, self._wakeups.fire) and self._pg:
            conn.execute(self._notify, {"b_channel": self.channel, "b_payload": self._origin})

    # -- helpers ----------------------------------------------------------------------------------

    @contextmanager
    def _own_transaction(self) -> Iterator[Connection]:
        with _unavailable_on_error(), self._db.transaction() as conn:
            yield conn

    @contextmanager
    def _own_read(self) -> Iterator[Connection]:
        with _unavailable_on_error(), self._db.read() as conn:
            yield conn

    def _insert_params(self, message: QueuedMessage, delay_ms: int) -> dict[str, Any]:
        now = self._clock.now_ms()
        return {
            "fingerprint": message.fingerprint,
            "kind": message.kind,
            "execution_id": message.execution_id,
            "body": message.body,
            "visible_at": now + max(0, delay_ms),
            "attempts": 0,
            "created_at": now,
        }

    def _bury(self, conn: Connection, rows: Sequence[_AnyRow], now: int) -> list[DeadLetter]:
        letters = [
            DeadLetter(_message(r), r.attempts, f"delivered {r.attempts} times without acknowledgement", now)
            for r in rows
        ]
        conn.execute(
            dlq.insert(),
            [
                {
                    "fingerprint": d.message.fingerprint,
                    "kind": d.message.kind,
                    "execution_id": d.message.execution_id,
                    "body": d.message.body,
                    "attempts": d.attempts,
                    "reason": d.reason,
                    "died_at": d.died_at,
                }
                for d in letters
            ],
        )
        conn.execute(self._delete_ids, {"b_ids": [r.id for r in rows]})
        return letters

    def _build_statements(self) -> None:
        # Built once: SQLAlchemy caches the compiled SQL per statement object, so the hot path
        # costs one cache lookup per execute instead of a compile.
        c = qm.c
        token: sa.BindParameter[str] = bindparam("b_token")
        row_id: sa.BindParameter[int] = bindparam("b_id")
        ours = sa.and_(c.id == row_id, c.lease_token == token)
        insert = postgresql.insert(qm) if self._pg else sqlite.insert(qm)
        leased = c.lease_token.is_not(None)
        self._push = insert.on_conflict_do_update(
            index_elements=[c.fingerprint],
            set_={
                "kind": insert.excluded.kind,
                "body": insert.excluded.body,
                "execution_id": insert.excluded.execution_id,
                # Queued: the latest push decides when. In flight: remember it for after the ack.
                "visible_at": case((leased, c.visible_at), else_=insert.excluded.visible_at),
                "pending_at": case((leased, insert.excluded.visible_at), else_=None),
            },
        )
        self._ensure = insert.on_conflict_do_nothing(index_elements=[c.fingerprint]).returning(c.id)
        self._reschedule = (
            qm.update()
            .where(c.fingerprint == bindparam("b_fp"), c.lease_token.is_(None))
            .values(visible_at=bindparam("b_at"))
        )
        select = (
            sa.select(c.id, c.fingerprint, c.kind, c.execution_id, c.body, c.attempts)
            .where(c.visible_at <= bindparam("b_now"))
            .order_by(c.visible_at, c.id)
            .limit(bindparam("b_limit"))
        )
        # SKIP LOCKED: concurrent workers each take different rows instead of queueing on the same
        # ones. SQLite needs nothing: transaction() holds its single write lock.
        self._lease_select = select.with_for_update(skip_locked=True) if self._pg else select
        ids = c.id.in_(bindparam("b_ids", expanding=True))
        self._lease_update = (
            qm.update()
            .where(ids)
            .values(
                visible_at=bindparam("b_exp"),
                lease_token=token,
                attempts=c.attempts + 1,
                # A pending push is covered by this delivery, which starts after it (keiko drops it too).
                pending_at=None,
            )
        )
        self._delete_ids = qm.delete().where(ids)
        self._ack_delete = qm.delete().where(ours, c.pending_at.is_(None))
        self._ack_requeue = (
            qm.update()
            .where(ours, c.pending_at.is_not(None))
            .values(visible_at=c.pending_at, pending_at=None, lease_token=None, attempts=0)
        )
        at: sa.BindParameter[int] = bindparam("b_at")
        self._release = (
            qm.update()
            .where(ours)
            .values(
                # A push that came in during the failed delivery keeps its time if that is sooner.
                visible_at=case((c.pending_at < at, c.pending_at), else_=at),
                pending_at=None,
                lease_token=None,
            )
        )
        self._extend = qm.update().where(ours).values(visible_at=bindparam("b_exp"))
        self._purge = qm.delete().where(c.execution_id == bindparam("b_exec"))
        self._next_visible = sa.select(func.min(c.visible_at))
        now: sa.BindParameter[int] = bindparam("b_now")
        self._depth = sa.select(
            func.count().filter(c.visible_at <= now),
            func.count().filter(sa.and_(leased, c.visible_at > now)),
        )
        d = dlq.c
        self._dead_select = (
            sa.select(d.fingerprint, d.kind, d.execution_id, d.body, d.attempts, d.reason, d.died_at)
            .order_by(d.died_at.desc(), d.id.desc())
            .limit(bindparam("b_limit"))
        )
        self._notify = sa.select(func.pg_notify(bindparam("b_channel"), bindparam("b_payload")))


def _message(row: _AnyRow) -> QueuedMessage:
    return QueuedMessage(
        kind=row.kind, body=row.body, fingerprint=row.fingerprint, execution_id=row.execution_id
    )


@contextmanager
def _unavailable_on_error() -> Iterator[None]:
    # OperationalError/InterfaceError are what the drivers raise for a dropped or refused
    # connection (and for SQLite's "database is locked"): all worth a retry after a pause.
    try:
        yield
    except (sa.exc.OperationalError, sa.exc.InterfaceError) as exc:
        raise DatabaseUnavailable(f"queue database unavailable: {exc.orig}") from exc
