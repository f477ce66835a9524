"""The in-memory twin of SqlQueue, for unit tests: same semantics, no database.

It is NOT transactional: the ``conn`` argument of push/ensure/reschedule/ack/purge_execution is
ignored (pass None), every call takes effect at once, and a rolled-back transaction does not undo
it. Wake-up callbacks fire immediately. Use SqlQueue (``memory://`` or a SQLite file) when a test
needs commit and rollback to matter.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy.engine import Connection

from gennaker.clock import Clock
from gennaker.queue.base import DeadLetter, Lease, LeaseLost, QueuedMessage
from gennaker.queue.wakeup import Wakeups


@dataclass(frozen=True)
class ScheduledMessage:
    """A queued message and when it is due (what ``MemoryQueue.messages()`` lists)."""

    message: QueuedMessage
    visible_at: int

    @property
    def kind(self) -> str:
        """The message kind."""
        return self.message.kind

    @property
    def body(self) -> str:
        """The message body (JSON text)."""
        return self.message.body


@dataclass
class _Entry:
    # Mirrors a queue_messages row; see SqlQueue for what each field means.
    id: int
    message: QueuedMessage
    visible_at: int
    token: str | None = None
    pending_at: int | None = None
    attempts: int = 0


class MemoryQueue:
    """The Queue protocol in process memory; thread-safe, not transactional (see module docstring)."""

    def __init__(self, clock: Clock, *, max_attempts: int = 10) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self._clock = clock
        self.max_attempts = max_attempts
        self._entries: dict[str, _Entry] = {}
        self._dead: list[DeadLetter] = []
        self._next_id = 1
        self._lock = threading.Lock()
        self._wakeups = Wakeups()

    # -- writes (immediate; ``conn`` is ignored) -----------------------------------------------

    def push(self, conn: Connection | None, message: QueuedMessage, delay_ms: int = 0) -> None:
        """Queue for delivery after ``delay_ms``; duplicates as in SqlQueue."""
        at = self._clock.now_ms() + max(0, delay_ms)
        with self._lock:
            entry = self._entries.get(message.fingerprint)
            if entry is None:
                self._insert(message, at)
            elif entry.token is None:
                entry.message, entry.visible_at = message, at
            else:
                entry.message, entry.pending_at = message, at
        self._wakeups.fire()

    def ensure(self, conn: Connection | None, message: QueuedMessage, delay_ms: int = 0) -> None:
        """Push only if no identical message is queued or in flight."""
        with self._lock:
            if message.fingerprint in self._entries:
                return
            self._insert(message, self._clock.now_ms() + max(0, delay_ms))
        self._wakeups.fire()

    def reschedule(self, conn: Connection | None, message: QueuedMessage, delay_ms: int = 0) -> None:
        """Move an identical queued (not in-flight) message to now + delay; no-op if none."""
        with self._lock:
            entry = self._entries.get(message.fingerprint)
            if entry is None or entry.token is not None:
                return
            entry.visible_at = self._clock.now_ms() + max(0, delay_ms)
        self._wakeups.fire()

    def ack(self, conn: Connection | None, lease: Lease) -> None:
        """Finish a delivery; raise LeaseLost if it is no longer ours."""
        with self._lock:
            entry = self._held(lease)
            if entry.pending_at is None:
                del self._entries[entry.message.fingerprint]
                return
            entry.visible_at, entry.pending_at, entry.token, entry.attempts = entry.pending_at, None, None, 0
        self._wakeups.fire()

    def purge_execution(self, conn: Connection | None, execution_id: str) -> int:
        """Drop every message of one execution, in flight or not."""
        with self._lock:
            doomed = [fp for fp, e in self._entries.items() if e.message.execution_id == execution_id]
            for fp in doomed:
                del self._entries[fp]
        return len(doomed)

    # -- deliveries -----------------------------------------------------------------------------

    def lease(self, max_messages: int, lease_ms: int) -> tuple[list[Lease], list[DeadLetter]]:
        """Take up to ``max_messages`` deliverable messages, oldest first; see Queue.lease."""
        if max_messages <= 0:
            return [], []
        now = self._clock.now_ms()
        leases: list[Lease] = []
        dead: list[DeadLetter] = []
        with self._lock:
            due = sorted((e for e in self._entries.values() if e.visible_at <= now), key=_order)
            for entry in due[:max_messages]:
                if entry.attempts >= self.max_attempts:
                    del self._entries[entry.message.fingerprint]
                    reason = f"delivered {entry.attempts} times without acknowledgement"
                    letter = DeadLetter(entry.message, entry.attempts, reason, now)
                    self._dead.append(letter)
                    dead.append(letter)
                    continue
                entry.token = secrets.token_hex(16)
                entry.visible_at = now + lease_ms
                entry.attempts += 1
                entry.pending_at = None  # covered by this delivery, as in SqlQueue
                leases.append(Lease(entry.id, entry.token, entry.message, entry.attempts, entry.visible_at))
        return leases, dead

    def release(self, lease: Lease, delay_ms: int) -> None:
        """Give a delivery back, deliverable again after ``delay_ms`` (no-op if the lease is lost)."""
        at = self._clock.now_ms() + max(0, delay_ms)
        with self._lock:
            try:
                entry = self._held(lease)
            except LeaseLost:
                return
            if entry.pending_at is not None and entry.pending_at < at:
                at = entry.pending_at
            entry.visible_at, entry.pending_at, entry.token = at, None, None
        self._wakeups.fire()

    def extend(self, lease: Lease, lease_ms: int) -> Lease:
        """Push the lease deadline out; raise LeaseLost if it is no longer ours."""
        with self._lock:
            entry = self._held(lease)
            entry.visible_at = self._clock.now_ms() + lease_ms
            return Lease(lease.id, lease.token, lease.message, lease.attempts, entry.visible_at)

    # -- queries --------------------------------------------------------------------------------

    def next_visible_at(self) -> int | None:
        """When the earliest message (or expiring lease) becomes deliverable, or None if empty."""
        with self._lock:
            return min((e.visible_at for e in self._entries.values()), default=None)

    def depth(self) -> tuple[int, int]:
        """(messages ready now, messages in flight under an unexpired lease)."""
        now = self._clock.now_ms()
        with self._lock:
            ready = sum(1 for e in self._entries.values() if e.visible_at <= now)
            in_flight = sum(1 for e in self._entries.values() if e.token is not None and e.visible_at > now)
        return ready, in_flight

    def dead_letters(self, limit: int = 100) -> Sequence[DeadLetter]:
        """The most recent dead letters, newest first."""
        with self._lock:
            return list(reversed(self._dead[-limit:])) if limit > 0 else []

    def messages(self) -> list[ScheduledMessage]:
        """Messages waiting for delivery (not in flight), soonest first: for handler unit tests."""
        with self._lock:
            queued = sorted((e for e in self._entries.values() if e.token is None), key=_order)
            return [ScheduledMessage(e.message, e.visible_at) for e in queued]

    # -- wake-ups ---------------------------------------------------------------------------------

    def add_wakeup(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` whenever a message becomes deliverable (immediately: no transactions)."""
        self._wakeups.add(callback)

    def start_listener(self) -> None:
        """Nothing to listen to: every push happens in this process."""

    def close(self) -> None:
        """Nothing to release."""

    def _insert(self, message: QueuedMessage, at: int) -> None:
        self._entries[message.fingerprint] = _Entry(self._next_id, message, at)
        self._next_id += 1

    def _held(self, lease: Lease) -> _Entry:
        entry = self._entries.get(lease.message.fingerprint)
        if entry is None or entry.id != lease.id or entry.token != lease.token:
            raise LeaseLost(f"lease on message {lease.id} ({lease.message.kind}) is no longer held")
        return entry


def _order(entry: _Entry) -> tuple[int, int]:
    return entry.visible_at, entry.id
