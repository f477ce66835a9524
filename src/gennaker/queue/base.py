"""The queue contract (keiko's Queue, transactional): every backend implements it and passes
tests/contract/test_queue_contract.py.

Messages are opaque JSON documents here: ``QueuedMessage(kind, body, fingerprint, execution_id)``.
The engine turns them into typed message dataclasses. Writes (push, ensure, reschedule, ack) take
the caller's open transaction (a SQLAlchemy Connection) so that a handler's state change and the
messages it sends commit or roll back together.
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
        the new time; an identical message in flight is delivered again at that time after its ack."""
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
        """Give a delivery back (the handler failed), deliverable after ``delay_ms``; own transaction."""
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
        """Drop every queued message of one execution (used when an execution is deleted)."""
        ...

    def add_wakeup(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` (from any thread) after a transaction that pushed something commits,
        in this process and, for PostgreSQL, in others (LISTEN/NOTIFY via ``listen()``)."""
        ...
