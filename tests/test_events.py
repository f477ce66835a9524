"""The event log through ``GET /events``: engine transitions, trigger firings and rejections, with
each filter, both orders and both cursors."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from gennaker import events
from gennaker.clock import FrozenClock
from gennaker.services import Services
from gennaker.testing import make_services, run_until_idle
from tests.engine.fakes import EngineTestPlugin
from tests.triggers.conftest import TestClient, app_for


@pytest.fixture
def services(database_url: str) -> Iterator[Services]:
    built = make_services(database_url, plugins=(EngineTestPlugin(),))
    yield built
    built.close()


@pytest.fixture
def client(services: Services) -> Iterator[TestClient]:
    http = TestClient(app_for(services))
    yield http
    http.close()


def run_pipeline(services: Services, application: str) -> str:
    config = {
        "id": f"cfg-{application}",
        "application": application,
        "name": "p",
        "stages": [{"refId": "1", "type": "noop"}],
    }
    execution = services.launcher.start_pipeline(config, {"type": "manual"})
    run_until_idle(services, advance_clock=False)
    return execution.id


def test_list_and_filter_events(services: Services, client: TestClient) -> None:
    clock = services.clock
    assert isinstance(clock, FrozenClock)
    first = run_pipeline(services, "shop")
    clock.advance(seconds=10)
    middle = clock.now_ms()
    second = run_pipeline(services, "bank")
    with services.db.transaction() as conn:
        events.record(
            conn, ts=clock.now_ms(), type_=events.TRIGGER_REJECTED, application="shop", body={"reason": "x"}
        )

    everything = client.get("/events", params={"limit": 1000}).json()
    ids = [e["id"] for e in everything]
    assert ids == sorted(ids, reverse=True)  # newest first
    assert everything[0]["type"] == "trigger.rejected" and everything[0]["reason"] == "x"
    types = {e["type"] for e in everything}
    assert {
        "pipeline.created",
        "pipeline.starting",
        "stage.starting",
        "stage.complete",
        "pipeline.complete",
    } <= types

    shop = client.get("/events", params={"application": "SHOP"}).json()
    assert {e["application"] for e in shop} == {"shop"}
    assert {e.get("executionId") for e in shop} == {first, None}

    by_execution = client.get("/events", params={"executionId": second}).json()
    assert by_execution and {e["executionId"] for e in by_execution} == {second}
    assert by_execution[-1]["type"] == "pipeline.created" and by_execution[0]["type"] == "pipeline.complete"

    pipeline_ends = client.get("/events", params={"type": "pipeline.complete,trigger.*"}).json()
    assert sorted(e["type"] for e in pipeline_ends) == [
        "pipeline.complete",
        "pipeline.complete",
        "trigger.rejected",
    ]

    recent = client.get("/events", params={"since": middle}).json()
    assert all(e["ts"] >= middle for e in recent) and {e.get("executionId") for e in recent} == {second, None}

    page = client.get("/events", params={"limit": 3}).json()
    older = client.get("/events", params={"limit": 3, "before": page[-1]["id"]}).json()
    assert [e["id"] for e in page + older] == ids[:6]

    tail = client.get("/events", params={"after": ids[3], "limit": 2}).json()
    assert [e["id"] for e in tail] == [ids[2], ids[1]]  # oldest first after the cursor

    assert client.get("/events", params={"limit": 0}).status_code in (400, 422)
    assert client.get("/events", params={"since": "yesterday"}).status_code in (400, 422)
