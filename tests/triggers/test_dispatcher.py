"""The outbox dispatcher: in-order, at-least-once walking of the events table; on PostgreSQL it
waits at an id gap while the transaction holding that id is open, and steps over it once that
transaction has rolled back."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from gennaker import events
from gennaker.db import DatabaseUnavailable
from gennaker.events import EventRecord
from gennaker.services import Services
from gennaker.store.schema import role_leases as lease_t
from gennaker.testing import make_services
from gennaker.triggers.dispatcher import Dispatcher
from gennaker.triggers.lease import RoleLease


@pytest.fixture
def pg_services(postgres_url: str) -> Iterator[Services]:
    services = make_services(postgres_url)
    yield services
    services.close()


def add(services: Services, name: str) -> int:
    with services.db.transaction() as conn:
        return events.record(conn, ts=1, type_="test.event", body={"name": name})


def test_gap_of_an_open_transaction_is_waited_for(pg_services: Services) -> None:
    services = pg_services
    seen: list[str] = []
    dispatcher = Dispatcher(services, [lambda event, load: seen.append(str(event.body["name"]))])
    dispatcher.position()
    add(services, "first")
    with services.db.engine.connect() as slow:
        transaction = slow.begin()
        events.record(slow, ts=1, type_="test.event", body={"name": "slow"})  # takes the next id
        add(services, "fast")  # committed with a higher id
        dispatcher.run_once()
        dispatcher.run_once()
        assert seen == ["first"]  # "fast" waits behind the gap
        transaction.commit()
    dispatcher.run_once()
    assert seen == ["first", "slow", "fast"]
    # A rolled-back id never appears: once its transaction is over the gap is stepped over.
    with services.db.engine.connect() as doomed:
        transaction = doomed.begin()
        events.record(doomed, ts=1, type_="test.event", body={"name": "doomed"})
        add(services, "after")
        dispatcher.run_once()
        assert seen[-1] == "fast"
        transaction.rollback()
    # Once every transaction that was open when the gap was seen has ended (others in the cluster
    # included, hence the short wait under a busy test run), the gap is stepped over.
    for _ in range(200):
        dispatcher.run_once()
        if seen[-1] == "after":
            break
        time.sleep(0.02)
    assert seen == ["first", "slow", "fast", "after"]


def test_a_failing_action_does_not_stall_the_log(sqlite_services: Services) -> None:
    services = sqlite_services
    seen: list[str] = []

    def broken(event: EventRecord, load: object) -> None:
        raise RuntimeError("boom")

    dispatcher = Dispatcher(services, [broken, lambda event, load: seen.append(str(event.body["name"]))])
    start = dispatcher.position()
    add(services, "a")
    add(services, "b")
    assert dispatcher.run_once() == 2
    assert seen == ["a", "b"] and dispatcher.position() == start + 2


def test_role_lease_has_one_holder_until_it_expires(sqlite_services: Services) -> None:
    services = sqlite_services
    clock = services.clock
    one = RoleLease(services.db, clock, "echo.cron", "one", ttl_ms=10_000)
    two = RoleLease(services.db, clock, "echo.cron", "two", ttl_ms=10_000)
    assert one.acquire() and not two.acquire()
    assert one.acquire()  # renewal
    clock.advance(seconds=11)  # type: ignore[attr-defined]
    assert two.acquire() and not one.acquire()
    two.release()
    assert one.acquire() and one.holder_now() == "one"


def test_a_role_lease_is_renewed_only_past_half_its_time(sqlite_services: Services) -> None:
    """An idle scheduler renews its leases every ttl/2, not with a write transaction every round."""
    services = sqlite_services
    clock = services.clock
    lease = RoleLease(services.db, clock, "echo.cron", "one", ttl_ms=10_000)

    def expires_at() -> int:
        with services.db.read() as conn:
            row = conn.execute(sa.select(lease_t.c.expires_at).where(lease_t.c.name == "echo.cron")).one()
        return int(row.expires_at)

    assert lease.acquire()
    first = expires_at()
    clock.advance(seconds=4)  # type: ignore[attr-defined]
    assert lease.fresh() and lease.acquire()
    assert expires_at() == first
    clock.advance(seconds=2)  # type: ignore[attr-defined]
    assert not lease.fresh() and lease.acquire()
    assert expires_at() == first + 6_000
    lease.release()
    assert not lease.fresh()


def test_an_outage_during_an_action_does_not_move_the_cursor_past_the_event(
    sqlite_services: Services,
) -> None:
    """Issue #10, item 17: an action that loses the database (a pipeline trigger starting its
    child) was logged as a broken action and the cursor moved on: the event's work was lost.
    Now the round stops there and the event is acted on once the database is back."""
    services = sqlite_services
    seen: list[str] = []
    down = [True]

    def starts_a_pipeline(event: EventRecord, load: object) -> None:
        if down[0]:
            raise DatabaseUnavailable("cannot connect to the database: connection refused")
        seen.append(str(event.body["name"]))

    dispatcher = Dispatcher(services, [starts_a_pipeline])
    start = dispatcher.position()
    add(services, "a")
    with pytest.raises(DatabaseUnavailable):
        dispatcher.run_once()
    assert dispatcher.position() == start
    down[0] = False
    assert dispatcher.run_once() == 1
    assert seen == ["a"] and dispatcher.position() == start + 1
