"""The message queue: delayed, de-duplicated, leased messages in the same database as everything else.

``open_queue(db, clock)`` gives the SqlQueue for a Database (SQLite file, ``memory://`` or
PostgreSQL). ``MemoryQueue`` is the non-transactional twin for unit tests. Both implement
``Queue`` (base.py) and pass tests/contract/test_queue_contract.py.
"""

from __future__ import annotations

from gennaker.clock import Clock
from gennaker.db import Database, DatabaseUnavailable
from gennaker.queue.base import DeadLetter, Lease, LeaseLost, Queue, QueuedMessage
from gennaker.queue.memory import MemoryQueue, ScheduledMessage
from gennaker.queue.sql import SqlQueue

__all__ = [
    "DatabaseUnavailable",
    "DeadLetter",
    "Lease",
    "LeaseLost",
    "MemoryQueue",
    "Queue",
    "QueuedMessage",
    "ScheduledMessage",
    "SqlQueue",
    "open_queue",
]


def open_queue(db: Database, clock: Clock, *, max_attempts: int = 10) -> SqlQueue:
    """The queue for ``db``: SqlQueue for every database Gennaker opens (memory:// is SQLite too)."""
    return SqlQueue(db, clock, max_attempts=max_attempts)
