"""The queue contract (our keiko-tck): every backend passes the same tests.

Backends: MemoryQueue, SqlQueue on a SQLite file, SqlQueue on PostgreSQL. Time moves with the
FrozenClock, never by sleeping. Duplicate handling follows keiko's QueueTest ("message hashing").
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest

from gennaker.clock import FrozenClock
from gennaker.db import Database
from gennaker.queue import Lease, LeaseLost, MemoryQueue, QueuedMessage, SqlQueue

LEASE_MS = 60_000
HOUR_MS = 3_600_000
MAX_ATTEMPTS = 3


def msg(name: str, execution_id: str | None = "e1") -> QueuedMessage:
    return QueuedMessage(
        kind="test", body=f'{{"name":"{name}"}}', fingerprint=f"fp-{name}", execution_id=execution_id
    )


A, B, C = msg("a"), msg("b"), msg("c")


@dataclass
class Backend:
    """A queue plus how to open a transaction on it (None for the memory twin)."""

    queue: MemoryQueue | SqlQueue
    clock: FrozenClock
    db: Database | None
    wakeups: list[int] = field(default_factory=list)

    @contextmanager
    def tx(self) -> Iterator[Any]:
        if self.db is None:
            yield None
        else:
            with self.db.transaction() as conn:
                yield conn

    def push(self, message: QueuedMessage, delay_ms: int = 0) -> None:
        with self.tx() as conn:
            self.queue.push(conn, message, delay_ms)

    def ensure(self, message: QueuedMessage, delay_ms: int = 0) -> None:
        with self.tx() as conn:
            self.queue.ensure(conn, message, delay_ms)

    def reschedule(self, message: QueuedMessage, delay_ms: int = 0) -> None:
        with self.tx() as conn:
            self.queue.reschedule(conn, message, delay_ms)

    def ack(self, lease: Lease) -> None:
        with self.tx() as conn:
            self.queue.ack(conn, lease)

    def take(self, n: int = 10, lease_ms: int = LEASE_MS) -> list[Lease]:
        leases, dead = self.queue.lease(n, lease_ms)
        assert dead == []
        return leases

    def take_one(self) -> Lease:
        leases = self.take()
        assert len(leases) == 1, leases
        return leases[0]

    def expire(self) -> None:
        """Let every current lease run out."""
        self.clock.advance(ms=LEASE_MS)


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def backend_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def database_url(backend_kind: str, request: pytest.FixtureRequest) -> str:
    """Overrides conftest's parametrized one so that `db` follows `backend_kind`."""
    return str(request.getfixturevalue("postgres_url" if backend_kind == "postgres" else "sqlite_url"))


@pytest.fixture
def q(backend_kind: str, clock: FrozenClock, request: pytest.FixtureRequest) -> Iterator[Backend]:
    if backend_kind == "memory":
        backend = Backend(MemoryQueue(clock, max_attempts=MAX_ATTEMPTS), clock, None)
    else:
        db: Database = request.getfixturevalue("db")
        backend = Backend(SqlQueue(db, clock, max_attempts=MAX_ATTEMPTS), clock, db)
    backend.queue.add_wakeup(lambda: backend.wakeups.append(backend.clock.now_ms()))
    yield backend
    backend.queue.close()


def require_transactions(q: Backend) -> Database:
    if q.db is None:
        pytest.skip("MemoryQueue is not transactional by design")
    return q.db


# -- delivery ---------------------------------------------------------------------------------------


def test_empty_queue_delivers_nothing(q: Backend) -> None:
    assert q.take() == []
    assert q.queue.next_visible_at() is None
    assert q.queue.depth() == (0, 0)


def test_pushed_message_is_delivered_with_a_lease(q: Backend) -> None:
    q.push(A)
    lease = q.take_one()
    assert (lease.message, lease.attempts, lease.expires_at) == (A, 1, q.clock.now_ms() + LEASE_MS)


def test_delayed_message_is_invisible_until_due(q: Backend) -> None:
    q.push(A, HOUR_MS)
    q.clock.advance(ms=HOUR_MS - 1)
    assert q.take() == []
    q.clock.advance(ms=1)
    assert q.take_one().message == A


def test_messages_are_delivered_oldest_first_and_each_once(q: Backend) -> None:
    q.push(C, 2000)
    q.push(A)
    q.clock.advance(ms=1000)
    q.push(B)
    q.clock.advance(ms=1000)
    assert [lease.message for lease in q.take(2)] == [A, B]
    assert [lease.message for lease in q.take(2)] == [C]
    assert q.take() == []


def test_lease_respects_max_messages(q: Backend) -> None:
    for i in range(5):
        q.push(msg(f"m{i}"))
    first, second = q.take(2), q.take(10)
    assert (len(first), len(second)) == (2, 3)
    assert len({lease.id for lease in first + second}) == 5
    assert q.queue.lease(0, LEASE_MS) == ([], [])


# -- duplicates (keiko's "message hashing") ------------------------------------------------------------


def test_identical_queued_message_is_rescheduled_not_duplicated(q: Backend) -> None:
    q.push(A, HOUR_MS)
    q.push(A)
    q.ack(q.take_one())
    q.clock.advance(ms=HOUR_MS)
    assert q.take() == []


def test_latest_push_of_a_queued_message_decides_its_time(q: Backend) -> None:
    q.push(A)
    q.push(A, HOUR_MS)
    assert q.take() == []
    q.clock.advance(ms=HOUR_MS)
    assert q.take_one().message == A


def test_different_messages_are_both_queued(q: Backend) -> None:
    q.push(A)
    q.push(B)
    assert {lease.message for lease in q.take()} == {A, B}


def test_push_while_in_flight_is_delivered_again_after_the_ack_exactly_once(q: Backend) -> None:
    q.push(A)
    first = q.take_one()
    q.push(A, 5000)
    q.clock.advance(ms=5000)
    assert q.take() == [], "not while the first delivery is in flight"
    q.ack(first)
    second = q.take_one()
    assert (second.message, second.attempts) == (A, 1)
    q.ack(second)
    q.expire()
    assert q.take() == []


def test_push_while_in_flight_keeps_its_delay_after_the_ack(q: Backend) -> None:
    q.push(A)
    first = q.take_one()
    q.push(A, 5000)
    q.ack(first)
    assert q.take() == []
    q.clock.advance(ms=5000)
    assert q.take_one().message == A


def test_push_while_in_flight_is_covered_by_a_redelivery_after_lease_expiry(q: Backend) -> None:
    q.push(A)
    q.take_one()  # never acknowledged
    q.push(A, HOUR_MS)
    q.expire()
    redelivery = q.take_one()
    assert redelivery.attempts == 2
    q.ack(redelivery)
    q.clock.advance(ms=HOUR_MS)
    assert q.take() == [], "the delayed duplicate was folded into the redelivery (keiko drops it too)"


def test_push_after_ack_is_a_new_message(q: Backend) -> None:
    q.push(A)
    q.ack(q.take_one())
    q.push(A)
    assert q.take_one().attempts == 1


# -- ensure and reschedule -----------------------------------------------------------------------------


def test_ensure_pushes_an_absent_message(q: Backend) -> None:
    q.ensure(A, 1000)
    q.clock.advance(ms=1000)
    q.ack(q.take_one())
    assert q.take() == []


def test_ensure_leaves_a_queued_message_alone(q: Backend) -> None:
    q.push(A, HOUR_MS)
    q.ensure(A)
    assert q.take() == []
    assert q.queue.next_visible_at() == q.clock.now_ms() + HOUR_MS


def test_ensure_leaves_an_in_flight_message_alone(q: Backend) -> None:
    q.push(A)
    lease = q.take_one()
    q.ensure(A)
    q.ack(lease)
    assert q.queue.depth() == (0, 0)


def test_reschedule_moves_a_queued_message(q: Backend) -> None:
    q.push(A, HOUR_MS)
    q.reschedule(A)
    assert q.take_one().message == A
    q.push(B)
    q.reschedule(B, HOUR_MS)
    assert q.take() == []


def test_reschedule_of_an_absent_or_in_flight_message_does_nothing(q: Backend) -> None:
    q.reschedule(A)
    assert q.take() == []
    q.push(B)
    lease = q.take_one()
    q.reschedule(B)
    q.ack(lease)
    assert q.queue.depth() == (0, 0)


# -- acknowledgement, expiry, release, extension -------------------------------------------------------


def test_ack_removes_the_message(q: Backend) -> None:
    q.push(A)
    q.ack(q.take_one())
    q.expire()
    assert q.take() == []
    assert q.queue.next_visible_at() is None


def test_expired_lease_is_redelivered_with_attempts_counted(q: Backend) -> None:
    q.push(A)
    first = q.take_one()
    q.clock.advance(ms=LEASE_MS - 1)
    assert q.take() == []
    q.clock.advance(ms=1)
    second = q.take_one()
    assert (second.message, second.attempts) == (A, 2)
    assert second.token != first.token


def test_ack_after_the_lease_was_lost_raises(q: Backend) -> None:
    q.push(A)
    first = q.take_one()
    q.expire()
    second = q.take_one()
    with pytest.raises(LeaseLost):
        q.ack(first)
    q.ack(second)
    with pytest.raises(LeaseLost):
        q.ack(second)


def test_ack_of_an_expired_but_untaken_lease_still_counts(q: Backend) -> None:
    q.push(A)
    lease = q.take_one()
    q.expire()
    q.ack(lease)
    assert q.take() == []


def test_release_redelivers_after_the_delay_and_keeps_attempts(q: Backend) -> None:
    q.push(A)
    q.queue.release(q.take_one(), 5000)
    q.clock.advance(ms=4999)
    assert q.take() == []
    q.clock.advance(ms=1)
    assert q.take_one().attempts == 2


def test_release_keeps_a_sooner_push_that_came_in_during_the_delivery(q: Backend) -> None:
    q.push(A)
    lease = q.take_one()
    q.push(A, 1000)
    q.queue.release(lease, HOUR_MS)
    q.clock.advance(ms=1000)
    q.ack(q.take_one())
    q.clock.advance(ms=HOUR_MS)
    assert q.take() == [], "the release and the push were one redelivery"


def test_release_of_a_lost_lease_does_nothing(q: Backend) -> None:
    q.push(A)
    first = q.take_one()
    q.expire()
    second = q.take_one()
    q.queue.release(first, 0)
    assert q.take() == []
    q.ack(second)


def test_extend_keeps_the_lease(q: Backend) -> None:
    q.push(A)
    lease = q.take_one()
    q.clock.advance(ms=LEASE_MS - 1)
    extended = q.queue.extend(lease, LEASE_MS)
    assert extended.expires_at == q.clock.now_ms() + LEASE_MS
    q.clock.advance(ms=LEASE_MS - 1)
    assert q.take() == []
    q.ack(extended)


def test_extend_after_the_lease_was_lost_raises(q: Backend) -> None:
    q.push(A)
    first = q.take_one()
    q.expire()
    q.take_one()
    with pytest.raises(LeaseLost):
        q.queue.extend(first, LEASE_MS)


# -- dead letters --------------------------------------------------------------------------------------


def test_too_many_deliveries_make_a_dead_letter_once(q: Backend) -> None:
    q.push(A)
    q.push(B)
    for attempt in range(1, MAX_ATTEMPTS + 1):
        assert [lease.attempts for lease in q.take()] == [attempt, attempt]
        q.expire()
    leases, dead = q.queue.lease(1, LEASE_MS)
    assert leases == []
    assert [(d.message, d.attempts, d.died_at) for d in dead] == [(A, MAX_ATTEMPTS, q.clock.now_ms())]
    assert "3 times" in dead[0].reason
    leases, dead = q.queue.lease(10, LEASE_MS)
    assert [d.message for d in dead] == [B]
    assert q.queue.lease(10, LEASE_MS) == ([], [])
    assert [d.message for d in q.queue.dead_letters()] == [B, A]
    assert [d.message for d in q.queue.dead_letters(limit=1)] == [B]


def test_released_deliveries_count_towards_dead_letter(q: Backend) -> None:
    q.push(A)
    for _ in range(MAX_ATTEMPTS):
        q.queue.release(q.take_one(), 0)
    assert [d.message for d in q.queue.lease(10, LEASE_MS)[1]] == [A]


def test_ack_of_a_pending_redelivery_resets_attempts(q: Backend) -> None:
    q.push(A)
    for _ in range(MAX_ATTEMPTS - 1):
        q.take_one()
        q.expire()
    last = q.take_one()
    q.push(A)
    q.ack(last)
    assert q.take_one().attempts == 1


# -- queries -------------------------------------------------------------------------------------------


def test_next_visible_at_is_the_earliest_time_including_lease_deadlines(q: Backend) -> None:
    now = q.clock.now_ms()
    q.push(A, 5000)
    q.push(B, 2000)
    assert q.queue.next_visible_at() == now + 2000
    q.clock.advance(ms=2000)
    lease_b = q.take_one()
    assert q.queue.next_visible_at() == now + 5000
    q.clock.advance(ms=3000)
    lease_a = q.take_one()
    assert q.queue.next_visible_at() == lease_b.expires_at == now + 2000 + LEASE_MS
    q.ack(lease_b)
    assert q.queue.next_visible_at() == lease_a.expires_at
    q.ack(lease_a)
    assert q.queue.next_visible_at() is None


def test_depth_counts_ready_and_in_flight(q: Backend) -> None:
    q.push(A)
    q.push(B)
    q.push(C, HOUR_MS)
    assert q.queue.depth() == (2, 0)
    q.take(1)
    assert q.queue.depth() == (1, 1)
    q.expire()
    assert q.queue.depth() == (2, 0), "an expired lease is ready again"


def test_purge_execution_drops_its_messages_only(q: Backend) -> None:
    q.push(msg("x1", "doomed"))
    q.push(msg("x2", "doomed"), HOUR_MS)
    q.push(msg("y", "kept"))
    in_flight = q.take(1)[0]
    assert in_flight.message == msg("x1", "doomed")
    with q.tx() as conn:
        assert q.queue.purge_execution(conn, "doomed") == 2
    with pytest.raises(LeaseLost):
        q.ack(in_flight)
    q.clock.advance(ms=HOUR_MS)
    assert [lease.message for lease in q.take()] == [msg("y", "kept")]


# -- wake-ups and transactions -------------------------------------------------------------------------


def test_wakeups_fire_for_pushes(q: Backend) -> None:
    q.push(A, HOUR_MS)
    assert len(q.wakeups) == 1
    q.ensure(A)  # already queued: nothing new to deliver
    assert len(q.wakeups) == 1
    q.reschedule(A)
    q.ensure(B)
    assert len(q.wakeups) == 3


def test_wakeup_fires_once_per_transaction_after_commit(q: Backend) -> None:
    db = require_transactions(q)
    seen_inside: list[int] = []
    with db.transaction() as conn:
        q.queue.push(conn, A)
        q.queue.push(conn, B)
        seen_inside.append(len(q.wakeups))
    assert (seen_inside, len(q.wakeups)) == ([0], 1)


def test_rolled_back_push_is_not_queued_and_wakes_nobody(q: Backend) -> None:
    db = require_transactions(q)
    with pytest.raises(RuntimeError), db.transaction() as conn:
        q.queue.push(conn, A)
        raise RuntimeError("handler failed")
    assert q.take() == []
    assert q.wakeups == []


def test_rolled_back_ack_leaves_the_message_to_be_redelivered(q: Backend) -> None:
    db = require_transactions(q)
    q.push(A)
    lease = q.take_one()
    with pytest.raises(RuntimeError), db.transaction() as conn:
        q.queue.ack(conn, lease)
        raise RuntimeError("handler failed")
    assert q.take() == []
    q.expire()
    assert q.take_one().attempts == 2
