"""SqlQueue beyond the shared contract: concurrency, LISTEN/NOTIFY, outages, memory:// databases."""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from gennaker.clock import FrozenClock
from gennaker.db import Database, DatabaseUnavailable
from gennaker.queue import Lease, QueuedMessage, SqlQueue, open_queue
from gennaker.store import migrate
from tests.conftest import POSTGRES_URL

WORKERS = 4
MESSAGES = 400


def msg(i: int) -> QueuedMessage:
    return QueuedMessage(kind="test", body=f'{{"i":{i}}}', fingerprint=f"fp-{i}", execution_id=f"e{i % 7}")


@pytest.fixture
def migrated(postgres_url: str) -> Iterator[Database]:
    db = Database(postgres_url)
    migrate.upgrade(db)
    try:
        yield db
    finally:
        db.dispose()


def drain_concurrently(db: Database, queue: SqlQueue) -> Counter[int]:
    """WORKERS threads lease and ack until the queue is empty; how often each message was handed out."""
    delivered: Counter[int] = Counter()
    lock = threading.Lock()
    errors: list[BaseException] = []
    start = threading.Barrier(WORKERS)

    def work() -> None:
        try:
            start.wait()
            while True:
                leases, dead = queue.lease(5, 600_000)
                assert dead == []
                if not leases:
                    if queue.depth() == (0, 0):
                        return
                    continue
                with lock:
                    delivered.update(lease.id for lease in leases)
                with db.transaction() as conn:
                    for lease in leases:
                        queue.ack(conn, lease)
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(WORKERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors, errors
    return delivered


def test_concurrent_workers_never_share_or_lose_a_message(db: Database, clock: FrozenClock) -> None:
    """Both dialects: SKIP LOCKED on PostgreSQL, the single writer on SQLite."""
    queue = SqlQueue(db, clock)
    with db.transaction() as conn:
        for i in range(MESSAGES):
            queue.push(conn, msg(i))
    delivered = drain_concurrently(db, queue)
    assert len(delivered) == MESSAGES
    assert set(delivered.values()) == {1}
    assert queue.depth() == (0, 0)


def test_concurrent_leases_on_postgres_are_disjoint_while_held(
    migrated: Database, clock: FrozenClock
) -> None:
    """Without acks, four workers leasing at once split the messages between them exactly."""
    queue = SqlQueue(migrated, clock)
    with migrated.transaction() as conn:
        for i in range(MESSAGES):
            queue.push(conn, msg(i))
    taken: list[list[Lease]] = [[] for _ in range(WORKERS)]
    start = threading.Barrier(WORKERS)

    def work(slot: int) -> None:
        start.wait()
        while leases := queue.lease(3, 600_000)[0]:
            taken[slot].extend(leases)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(WORKERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    ids = [lease.id for leases in taken for lease in leases]
    assert len(ids) == len(set(ids)) == MESSAGES
    assert all(taken), "every worker got some: they ran concurrently rather than one after another"


def test_memory_url_queue_works_across_threads(clock: FrozenClock) -> None:
    db = Database("memory://")
    migrate.upgrade(db)
    queue = open_queue(db, clock, max_attempts=5)
    assert isinstance(queue, SqlQueue) and queue.max_attempts == 5
    with db.transaction() as conn:
        for i in range(50):
            queue.push(conn, msg(i))
    delivered = drain_concurrently(db, queue)
    assert sorted(delivered.values()) == [1] * 50
    db.dispose()


def test_after_commit_needs_a_transaction_connection(db: Database, clock: FrozenClock) -> None:
    queue = SqlQueue(db, clock)
    with db.engine.begin() as conn, pytest.raises(RuntimeError, match="Database.transaction"):
        queue.push(conn, msg(1))


# -- wake-ups across processes (PostgreSQL LISTEN/NOTIFY) ---------------------------------------------


def listening_queue(db: Database, clock: FrozenClock, channel: str) -> tuple[SqlQueue, threading.Event]:
    """A queue whose listener is connected, and an event set by its next wake-up."""
    queue = SqlQueue(db, clock, channel=channel)
    woke = threading.Event()
    queue.add_wakeup(woke.set)
    queue.start_listener()
    assert woke.wait(5), "the listener fires once when it (re)connects"
    woke.clear()
    return queue, woke


def test_notify_wakes_a_listener_in_another_process(
    migrated: Database, postgres_url: str, clock: FrozenClock
) -> None:
    channel = "q_" + uuid.uuid4().hex[:12]
    listener_queue, woke = listening_queue(migrated, clock, channel)
    other = Database(postgres_url)  # its own pool: as another process would have
    try:
        pusher = SqlQueue(other, clock, channel=channel)
        with other.transaction() as conn:
            pusher.push(conn, msg(1))
        assert woke.wait(1.0)
    finally:
        listener_queue.close()
        other.dispose()


def test_listener_reconnects_after_its_connection_is_killed(
    migrated: Database, postgres_url: str, clock: FrozenClock
) -> None:
    channel = "q_" + uuid.uuid4().hex[:12]
    listener_queue, woke = listening_queue(migrated, clock, channel)
    try:
        with migrated.transaction() as conn:
            killed = conn.execute(
                sa.text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query = :q"),
                {"q": f'LISTEN "{channel}"'},
            ).all()
        assert killed == [(True,)]
        assert woke.wait(10), "reconnected (and fired once to catch up)"
        woke.clear()
        other = Database(postgres_url)
        try:
            with other.transaction() as conn:
                SqlQueue(other, clock, channel=channel).push(conn, msg(2))
            assert woke.wait(1.0)
        finally:
            other.dispose()
    finally:
        listener_queue.close()


def test_close_stops_the_listener_thread(migrated: Database, clock: FrozenClock) -> None:
    queue, _ = listening_queue(migrated, clock, "q_" + uuid.uuid4().hex[:12])
    queue.close()
    assert not [t for t in threading.enumerate() if t.name == "gennaker-queue-listener" and t.is_alive()]


def test_listen_on_sqlite_just_waits_for_stop(sqlite_url: str, clock: FrozenClock) -> None:
    queue = SqlQueue(Database(sqlite_url), clock)
    stop = threading.Event()
    stop.set()
    queue.listen(stop)
    queue.start_listener()  # no-op
    queue.close()


# -- outages -----------------------------------------------------------------------------------------


def test_unreachable_database_raises_database_unavailable(clock: FrozenClock) -> None:
    url = POSTGRES_URL.replace("127.0.0.1:5432", "127.0.0.1:1")
    db = Database(url)
    queue = SqlQueue(db, clock)
    lease = Lease(1, "t", msg(1), 1, 0)
    with pytest.raises(DatabaseUnavailable):
        queue.lease(1, 1000)
    with pytest.raises(DatabaseUnavailable):
        queue.release(lease, 0)
    db.dispose()


def test_failure_inside_a_lease_transaction_raises_database_unavailable(
    migrated: Database, postgres_url: str, clock: FrozenClock
) -> None:
    """A statement cut short by the server (here: a statement timeout behind a table lock)."""
    impatient = Database(postgres_url + "%20-cstatement_timeout%3D200")
    try:
        with migrated.transaction() as conn:
            conn.execute(sa.text("LOCK TABLE queue_messages IN ACCESS EXCLUSIVE MODE"))
            with pytest.raises(DatabaseUnavailable):
                SqlQueue(impatient, clock).lease(1, 1000)
    finally:
        impatient.dispose()


def test_channel_must_be_an_identifier(sqlite_url: str, clock: FrozenClock) -> None:
    with pytest.raises(ValueError):
        SqlQueue(Database(sqlite_url), clock, channel='x"; DROP TABLE y; --')
