"""A canceled execution ends CANCELED (issue #10, item 1), never SUCCEEDED, and fires nothing that
waits for success: not with a stage that ends STOPPED after the cancel (a webhook with
``failPipeline: false`` whose call was in flight), not with ``finally`` stages, not when the
in-flight task succeeds after the cancel. A real worker (the Processor) handles the cancel while a
real HTTP server on 127.0.0.1 holds the webhook call."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from gennaker.engine.processor import Processor
from gennaker.model.execution import Execution
from gennaker.model.status import ExecutionStatus as S
from gennaker.services import Services
from gennaker.store.schema import events
from gennaker.triggers.scheduler import run_once_sync
from tests.engine.conftest import Harness
from tests.engine.held_http import HeldServer, holding
from tests.triggers.conftest import executions_of


class Worker:
    """A Processor running in a thread, as in ``gennaker up``."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._main()), daemon=True)

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        self._ready.set()
        await Processor(self.services, poll_interval_ms=20).run(self._stop)

    def __enter__(self) -> Worker:
        self._thread.start()
        self._ready.wait(5)
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._loop is not None and self._stop is not None
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(30)


def wait_for(done: Callable[[], bool], what: str, seconds: float = 30) -> None:
    """Poll until ``done`` (a guard against hanging, not a timing assertion)."""
    deadline = time.monotonic() + seconds
    while not done():
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.02)


@pytest.fixture
def held() -> Iterator[HeldServer]:
    with holding() as server:
        yield server


def save(services: Services, **body: Any) -> dict[str, Any]:
    config = {"application": "shop", "name": "deploy", **body}
    with services.db.transaction() as conn:
        return services.pipelines.save(conn, config, user="tester")


def event_types(services: Services, execution_id: str) -> list[str]:
    with services.db.read() as conn:
        rows = conn.execute(
            sa.select(events.c.type).where(events.c.execution_id == execution_id).order_by(events.c.id)
        ).all()
    return [r.type for r in rows]


def webhook(held: HeldServer, **extra: Any) -> dict[str, Any]:
    return {
        "refId": "1",
        "type": "webhook",
        "name": "notify tracker",
        "url": held.url(),
        "method": "POST",
        "failPipeline": False,
        **extra,
    }


def cancel_while_in_flight(harness: Harness, held: HeldServer, config: dict[str, Any]) -> Execution:
    services = harness.services
    with Worker(services):
        execution = services.launcher.start_pipeline(config, {"type": "manual", "user": "ana"})
        assert held.arrived.wait(20), "the webhook call never arrived"
        services.operations.cancel(execution.id, user="ana", reason="wrong build")
        wait_for(lambda: harness.get(execution.id).canceled, "the cancel to be handled")
        # The call times out on its own (the [webhook] read timeout): the stage ends STOPPED.
        wait_for(lambda: harness.get(execution.id).status.is_complete, "the execution to end")
    held.release.set()
    return harness.get(execution.id)


def test_cancel_during_a_continuing_webhook_that_times_out_ends_canceled(
    make_harness: Callable[..., Harness], held: HeldServer
) -> None:
    """Item 1 as reported: webhook ``failPipeline: false``, call in flight at the cancel, the call
    times out (STOPPED); the execution ended SUCCEEDED and a child on ``successful`` started."""
    harness = make_harness(webhook__read_timeout_seconds=0.5)
    services = harness.services
    parent = save(services, stages=[webhook(held)])
    on_success = save(
        services,
        name="after-success",
        stages=[{"refId": "1", "type": "noop", "name": "quick"}],
        triggers=[
            {
                "type": "pipeline",
                "enabled": True,
                "application": "shop",
                "pipeline": parent["id"],
                "status": ["successful"],
            }
        ],
    )
    on_cancel = save(
        services,
        name="after-cancel",
        stages=[{"refId": "1", "type": "noop", "name": "quick"}],
        triggers=[
            {
                "type": "pipeline",
                "enabled": True,
                "application": "shop",
                "pipeline": parent["id"],
                "status": ["canceled"],
            }
        ],
    )
    done = cancel_while_in_flight(harness, held, parent)
    assert done.status == S.CANCELED
    assert done.canceled and done.cancellation_reason == "wrong build"
    types = event_types(services, done.id)
    assert "pipeline.complete" not in types and types.count("pipeline.failed") == 1
    run_once_sync(services)
    assert executions_of(services, str(on_success["id"])) == []
    assert len(executions_of(services, str(on_cancel["id"]))) == 1


def test_cancel_during_a_webhook_that_then_succeeds_ends_canceled(
    make_harness: Callable[..., Harness], held: HeldServer
) -> None:
    """Item 1: the in-flight call answers 200 after the cancel; the downstream stage never starts
    and the execution ends CANCELED (a guard: this path was already right)."""
    harness = make_harness()
    services = harness.services
    config = save(
        services,
        stages=[
            webhook(held),
            {"refId": "2", "requisiteStageRefIds": ["1"], "type": "noop", "name": "after"},
        ],
    )
    with Worker(services):
        execution = services.launcher.start_pipeline(config, {"type": "manual", "user": "ana"})
        assert held.arrived.wait(20)
        services.operations.cancel(execution.id, user="ana")
        wait_for(lambda: harness.get(execution.id).canceled, "the cancel to be handled")
        held.release.set()
        wait_for(lambda: harness.get(execution.id).status.is_complete, "the execution to end")
    done = harness.get(execution.id)
    assert done.status == S.CANCELED
    first = done.stage_by_ref_id("1")
    # The stage says what its call did (it succeeded); the execution says it was canceled.
    assert first is not None and first.status == S.SUCCEEDED
    assert first.context["webhook"]["statusCodeValue"] == 200
    second = done.stage_by_ref_id("2")
    assert second is not None and second.status == S.NOT_STARTED
    assert "pipeline.complete" not in event_types(services, done.id)


def test_cancel_with_finally_stages_ends_canceled_after_they_run(
    make_harness: Callable[..., Harness], held: HeldServer
) -> None:
    """Item 1 with a ``finally`` block: it still runs (and succeeds), the execution ends CANCELED
    (a guard: this path was already right)."""
    harness = make_harness(webhook__read_timeout_seconds=0.5)
    config = save(
        harness.services,
        stages=[webhook(held)],
        **{"finally": [{"refId": "f1", "type": "noop", "name": "clean up"}]},
    )
    done = cancel_while_in_flight(harness, held, config)
    assert done.status == S.CANCELED
    cleanup = done.stage_by_ref_id("f1")
    assert cleanup is not None and cleanup.status == S.SUCCEEDED
    assert "pipeline.complete" not in event_types(harness.services, done.id)


def test_cancel_while_the_finally_block_runs_ends_canceled(harness: Harness) -> None:
    """Item 1: the main graph succeeded and the first cancel arrives while ``finally`` runs (which
    lets the block finish): the execution ends CANCELED, not SUCCEEDED."""
    execution = harness.start(
        [{"refId": "1", "type": "noop", "name": "build"}],
        **{"finally": [{"refId": "f1", "type": "scripted", "name": "report", "polls": 2}]},
    )
    harness.run(advance_clock=False)  # main graph done, the finally stage waits for its next poll
    running = harness.get(execution.id)
    assert running.state.get("outcome") == "SUCCEEDED" and running.status == S.RUNNING
    harness.services.operations.cancel(execution.id, user="ana")
    harness.run()
    done = harness.get(execution.id)
    report = done.stage_by_ref_id("f1")
    assert report is not None and report.status == S.SUCCEEDED  # the first cancel lets it finish
    assert done.canceled and done.status == S.CANCELED
    assert "pipeline.complete" not in event_types(harness.services, done.id)
