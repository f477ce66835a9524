"""Slack notifications end to end: a pipeline runs through the engine, the outbox dispatcher queues
its notifications, the sender POSTs them to a real HTTP receiver standing in for Slack's incoming
webhook; retries with backoff, permanent failures, and the webhook URL kept secret."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest

from gennaker import events
from gennaker.clock import FrozenClock
from gennaker.model.status import ExecutionStatus
from gennaker.notify import deliveries
from gennaker.services import Services
from gennaker.store import json as jsonlib
from gennaker.testing import make_services, run_until_idle
from gennaker.triggers.scheduler import run_once_sync
from tests.engine.fakes import EngineTestPlugin
from tests.notify.conftest import Receiver

TOKEN = "T0001/B0002/XyZsEcReTtOkEn"


@pytest.fixture
def services(database_url: str, receiver: Receiver) -> Iterator[Services]:
    built = make_services(
        database_url,
        plugins=(EngineTestPlugin(),),
        server__public_url="https://deck.example.com/",
        notifications={
            "backoff_seconds": 5,
            "max_attempts": 3,
            "slack": {
                "webhook_url": f"{receiver.url}/services/{TOKEN}",
                "channels": {"#ops": f"{receiver.url}/services/OPS/{TOKEN}"},
            },
        },
    )
    yield built
    built.close()


def start(services: Services, notifications: list[dict[str, Any]], **config: Any) -> str:
    body = {
        "id": "cfg-1",
        "application": "shop",
        "name": "deploy",
        "notifications": notifications,
        "stages": [{"refId": "1", "type": "noop", "name": "quick"}],
        **config,
    }
    execution = services.launcher.start_pipeline(body, {"type": "manual", "user": "ana"})
    run_until_idle(services, advance_clock=False)
    return execution.id


def all_events(services: Services, *types: str) -> list[events.EventRecord]:
    with services.db.read() as conn:
        return events.list_events(conn, events.EventQuery(types=types, limit=1000))


def test_pipeline_notifications_reach_slack_with_link_and_custom_text(
    services: Services, receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    slack = {
        "type": "slack",
        "address": "#deploys",
        "level": "pipeline",
        "when": ["pipeline.starting", "pipeline.complete", "pipeline.failed"],
        "message": {"pipeline.complete": {"text": "Shipped ${execution.name} for ${trigger.user}"}},
    }
    ops = {"type": "slack", "address": "#ops", "level": "pipeline", "when": ["pipeline.complete"]}
    execution_id = start(services, [slack, ops])
    run_once_sync(services)
    run_once_sync(services)  # a second round sends nothing twice
    texts = sorted((r.path, r.body["text"].split("\n")[0]) for r in receiver.requests)
    assert texts == [
        (f"/services/OPS/{TOKEN}", "The pipeline deploy of shop succeeded"),
        (f"/services/{TOKEN}", "Shipped deploy for ana"),
        (f"/services/{TOKEN}", "The pipeline deploy of shop is starting"),
    ]
    link = f"https://deck.example.com/#/applications/shop/executions/details/{execution_id}"
    assert all(link in r.body["text"] for r in receiver.requests)
    assert {r.body["channel"] for r in receiver.requests} == {"#deploys", "#ops"}
    sent = all_events(services, events.NOTIFICATION_SENT)
    assert len(sent) == 3 and {e.execution_id for e in sent} == {execution_id}
    # The webhook URL's token appears nowhere: execution, events, delivery rows, logs.
    with services.db.read() as conn:
        stored = jsonlib.dumps(services.executions.load(conn, execution_id).to_json())
        rows = jsonlib.dumps(deliveries.list_for_execution(conn, execution_id))
    logged = jsonlib.dumps([e.body for e in all_events(services)])
    for text in (stored, rows, logged, caplog.text):
        assert TOKEN not in text


def test_failing_slack_is_retried_with_backoff_and_never_affects_the_pipeline(
    services: Services, receiver: Receiver
) -> None:
    receiver.statuses = [500, 503]
    execution_id = start(services, [{"type": "slack", "address": "#deploys", "when": ["pipeline.complete"]}])
    with services.db.read() as conn:
        assert services.executions.load(conn, execution_id).status == ExecutionStatus.SUCCEEDED
    clock = services.clock
    assert isinstance(clock, FrozenClock)
    run_once_sync(services)  # attempt 1: 500
    run_once_sync(services)  # not due yet: backoff 5 s
    assert len(receiver.requests) == 1
    clock.advance(seconds=5)
    run_once_sync(services)  # attempt 2: 503
    clock.advance(seconds=5)
    run_once_sync(services)  # backoff doubled to 10 s: still waiting
    clock.advance(seconds=5)
    run_once_sync(services)  # attempt 3: sent
    assert len(receiver.requests) == 3
    failed = all_events(services, events.NOTIFICATION_FAILED)
    assert [e.body["willRetry"] for e in reversed(failed)] == [True, True]
    assert "Slack answered HTTP 500" in failed[-1].body["error"]
    [sent] = all_events(services, events.NOTIFICATION_SENT)
    assert sent.body["attempt"] == 3


def test_permanent_failures_are_given_up_at_once(services: Services, receiver: Receiver) -> None:
    receiver.statuses = [404]
    execution_id = start(
        services,
        [
            {"type": "slack", "address": "#deploys", "when": ["pipeline.complete"]},
            {"type": "carrier-pigeon", "address": "loft 7", "when": ["pipeline.complete"]},
        ],
    )
    run_once_sync(services)
    run_once_sync(services)
    with services.db.read() as conn:
        rows = deliveries.list_for_execution(conn, execution_id)
    assert [r["status"] for r in rows] == ["failed", "failed"]
    errors = sorted(e.body["error"] for e in all_events(services, events.NOTIFICATION_FAILED))
    assert errors[0].startswith("Slack answered HTTP 404")
    assert "unknown notification type 'carrier-pigeon'" in errors[1]
    assert len(receiver.requests) == 1


def test_outbound_policy_applies_to_slack(database_url: str, receiver: Receiver) -> None:
    services = make_services(
        database_url,
        plugins=(EngineTestPlugin(),),
        outbound__deny="127.0.0.1",
        notifications={"slack": {"webhook_url": f"{receiver.url}/services/{TOKEN}"}},
    )
    try:
        start(services, [{"type": "slack", "address": "#x", "when": ["pipeline.complete"]}])
        run_once_sync(services)
        [failed] = all_events(services, events.NOTIFICATION_FAILED)
        assert (
            "outbound policy refuses the Slack URL" in failed.body["error"] and not failed.body["willRetry"]
        )
        assert TOKEN not in failed.body["error"]
        assert receiver.requests == []
    finally:
        services.close()
