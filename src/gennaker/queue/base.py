"""The queue contract (keiko's Queue, transactional): every backend implements it and passes
tests/contract/test_queue_contract.py.

Messages are opaque JSON documents here: ``QueuedMessage(kind, body, fingerprint, execution_id)``.
The engine turns them into typed message dataclasses. Writes (push, ensure, reschedule, ack) take
the caller's open transaction (a SQLAlchemy Connection from ``Database.transaction()``) so that a
handler's state change and the messages it sends commit or roll back together. MemoryQueue, the
unit-test twin, ignores ``conn`` and is not transactional.

Methods that run their own transaction (lease, release, extend and the queries) raise
``gennaker.db.DatabaseUnavailable`` when the database is unreachable: back off and retry.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy.engine import Connection


@dataclass(frozen=True)
class QueuedMessage:
    """A message as the queue sees it. Identical fingerprints collapse into one queued message."""

    kind: str
    body: str
    fingerprint: str
    execution_id: str | None = None


@dataclass(frozen=True)
class Lease:
    """One delivery of a message to one worker, valid until ``expires_at`` (epoch ms)."""

    id: int
    token: str
    message: QueuedMessage
    #: Deliveries so far, this one included.
    attempts: int
    expires_at: int


@dataclass(frozen=True)
class DeadLetter:
    """A message that failed too many deliveries and was moved aside."""

    message: QueuedMessage
    attempts: int
    reason: str
    died_at: int


class LeaseLost(RuntimeError):
    """The lease expired and the message went to someone else; the caller must roll back."""


class Queue(Protocol):
    """A durable, delayed, de-duplicating, leasing message queue."""

    def push(self, conn: Connection, message: QueuedMessage, delay_ms: int = 0) -> None:
        """Queue for delivery after ``delay_ms``. An identical queued message is only rescheduled to
        the new time (the latest push wins); an identical message in flight is delivered again at that
        time after its ack. A delivery that starts after such a push (the lease expired, or was
        released) covers it, so it is not delivered a second time."""
        ...

    def ensure(self, conn: Connection, message: QueuedMessage, delay_ms: int = 0) -> None:
        """Push only if no identical message is queued or in flight."""
        ...

    def reschedule(self, conn: Connection, message: QueuedMessage, delay_ms: int = 0) -> None:
        """Move an identical queued (not in-flight) message to now + delay; no-op if none."""
        ...

    def lease(self, max_messages: int, lease_ms: int) -> tuple[list[Lease], list[DeadLetter]]:
        """Take up to ``max_messages`` deliverable messages (own transaction), oldest first.

        Each lease counts an attempt. A message whose attempts would exceed the queue's
        ``max_attempts`` is moved to the dead letters instead and returned in the second list, so
        the caller can react (the engine pushes the terminal message for its level)."""
        ...

    def ack(self, conn: Connection, lease: Lease) -> None:
        """Finish a delivery inside the caller's transaction; raise LeaseLost if it is no longer ours."""
        ...

    def release(self, lease: Lease, delay_ms: int) -> None:
        """Give a delivery back (the handler failed), deliverable after ``delay_ms``; own transaction.

        The attempt still counts, so a message that always fails is dead-lettered after
        ``max_attempts``. Does nothing if the lease is already lost."""
        ...

    def extend(self, lease: Lease, lease_ms: int) -> Lease:
        """Push the lease deadline out (long task I/O); raise LeaseLost if it is no longer ours."""
        ...

    def next_visible_at(self) -> int | None:
        """When the earliest message becomes deliverable (epoch ms), or None if empty."""
        ...

    def depth(self) -> tuple[int, int]:
        """(messages ready now, messages in flight)."""
        ...

    def dead_letters(self, limit: int = 100) -> Sequence[DeadLetter]:
        """The most recent dead letters."""
        ...

    def purge_execution(self, conn: Connection, execution_id: str) -> int:
        """Drop every message of one execution, in flight or not (used when an execution is deleted);
        return how many. Acks of its in-flight messages then raise LeaseLost."""
        ...

    def add_wakeup(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` (from any thread) after a transaction that made a message deliverable
        (push, ensure, reschedule, release, an ack that re-queues) commits, in this process and, for
        PostgreSQL, in others (LISTEN/NOTIFY: SqlQueue.start_listener()). Never called on rollback."""
        ...

    def start_listener(self) -> None:
        """Start receiving other processes' wake-ups (PostgreSQL LISTEN); a no-op elsewhere."""
        ...

    def close(self) -> None:
        """Stop the listener, if any."""
        ...
