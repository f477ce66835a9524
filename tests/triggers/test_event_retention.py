"""The event log stays bounded (issue #10, item 20): every webhook that matched a source but missed
a constraint stored a ``trigger.rejected`` event, without limit and forever. Rejections are now
limited per application per window (the last one recorded says so), and events older than
``[events] retention_days`` are deleted once the outbox dispatcher has acted on them. Real
webhook requests through the API; the clock is moved."""

from __future__ import annotations

import sqlalchemy as sa

from gennaker import events
from gennaker.clock import FrozenClock
from gennaker.store.schema import events as events_t
from gennaker.triggers.scheduler import Scheduler, run_once_sync
from tests.triggers.conftest import MakeServices, save_pipeline
from tests.triggers.test_webhook import Client, trigger_events, webhook_trigger


def test_rejections_are_rate_limited_per_application(make: MakeServices, client_for: Client) -> None:
    services = make(events__rejected_per_window=5, events__rejected_window_seconds=60)
    clock: FrozenClock = services.clock  # type: ignore[assignment]
    save_pipeline(
        services, name="strict", triggers=[webhook_trigger(payloadConstraints={"branch": "^main$"})]
    )
    client = client_for(services)
    for n in range(30):
        response = client.post("/webhooks/webhook/shop-ci", json={"branch": f"feature/{n}"})
        assert response.status_code == 200
    rejected = trigger_events(services, events.TRIGGER_REJECTED)
    assert len(rejected) == 5
    newest = rejected[0]
    assert (
        newest.body["rateLimited"] is True and "further rejections are not recorded" in newest.body["reason"]
    )
    assert all("rateLimited" not in r.body for r in rejected[1:])
    clock.advance(ms=61_000)
    client.post("/webhooks/webhook/shop-ci", json={"branch": "feature/late"})
    assert len(trigger_events(services, events.TRIGGER_REJECTED)) == 6


def test_events_past_retention_are_deleted_once_dispatched(make: MakeServices) -> None:
    services = make(events__retention_days=1)
    clock: FrozenClock = services.clock  # type: ignore[assignment]
    run_once_sync(services)  # the dispatcher's cursor starts here
    with services.db.transaction() as conn:
        old = [events.record(conn, ts=clock.now_ms(), type_="test.old", body={"n": n}) for n in range(3)]
    run_once_sync(services)  # acted on
    clock.advance(ms=2 * 86_400_000)
    with services.db.transaction() as conn:
        fresh = events.record(conn, ts=clock.now_ms(), type_="test.fresh", body={})
        # Old, but recorded after the dispatcher last looked: kept until it has acted on it.
        undispatched = events.record(conn, ts=clock.now_ms() - 3 * 86_400_000, type_="test.late", body={})
    scheduler = Scheduler(services, holder="pruner")
    assert scheduler.prune_events() == 3
    with services.db.read() as conn:
        left = [row.id for row in conn.execute(sa.select(events_t.c.id).order_by(events_t.c.id)).all()]
    assert not set(old) & set(left)
    assert fresh in left and undispatched in left
