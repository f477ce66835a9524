"""Generic webhook notifications to a real HTTP receiver, stage-level notifications, and manual
judgment notifications (waiting, reminders every notifyEveryMs while it waits, the judgment)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from gennaker import events
from gennaker.clock import FrozenClock
from gennaker.model.status import ExecutionStatus
from gennaker.services import Services
from gennaker.testing import make_services, run_until_idle
from gennaker.triggers.scheduler import run_once_sync
from tests.engine.fakes import EngineTestPlugin
from tests.notify.conftest import ManualJudgmentFallback, Receiver


@pytest.fixture
def services(sqlite_url: str) -> Iterator[Services]:
    built = make_services(
        sqlite_url,
        plugins=(EngineTestPlugin(), ManualJudgmentFallback()),
        server__public_url="https://gennaker.example.com",
    )
    yield built
    built.close()


def run(services: Services, config: dict[str, Any]) -> str:
    body = {"id": "cfg-n", "application": "shop", "name": "release", **config}
    execution = services.launcher.start_pipeline(body, {"type": "manual", "user": "ana"})
    run_until_idle(services, advance_clock=False)
    return execution.id


def test_webhook_and_stage_notifications(services: Services, receiver: Receiver) -> None:
    hook = f"{receiver.url}/hooks/deploys"
    stage_notes = [
        {"type": "webhook", "address": hook, "level": "stage", "when": ["stage.starting", "stage.failed"]},
    ]
    execution_id = run(
        services,
        {
            "notifications": [{"type": "webhook", "address": hook, "level": "pipeline", "when": ["pipeline.failed"]}],
            "stages": [
                {"refId": "1", "type": "noop", "name": "announce", "sendNotifications": True, "notifications": stage_notes},
                {"refId": "2", "requisiteStageRefIds": ["1"], "type": "scripted", "name": "break", "result": "TERMINAL",
                 "sendNotifications": True, "notifications": stage_notes},
                {"refId": "3", "type": "noop", "name": "quiet", "notifications": stage_notes},  # no sendNotifications
            ],
        },
    )  # fmt: skip
    run_once_sync(services)
    got = sorted((r.body["when"], r.body.get("stageName")) for r in receiver.requests)
    assert got == [
        ("pipeline.failed", None),
        ("stage.failed", "break"),
        ("stage.starting", "announce"),
        ("stage.starting", "break"),
    ]
    failed = next(r.body for r in receiver.requests if r.body["when"] == "pipeline.failed")
    assert failed["executionId"] == execution_id and failed["status"] == "TERMINAL"
    assert (
        failed["link"]
        == f"https://gennaker.example.com/#/applications/shop/executions/details/{execution_id}"
    )
    assert failed["text"] == "The pipeline release of shop failed (TERMINAL)"
    assert all(
        r.path == "/hooks/deploys" and r.headers["content-type"] == "application/json"
        for r in receiver.requests
    )


def test_manual_judgment_notifications_and_reminders(services: Services, receiver: Receiver) -> None:
    clock = services.clock
    assert isinstance(clock, FrozenClock)
    hook = f"{receiver.url}/judge"
    note = {
        "type": "webhook",
        "address": hook,
        "level": "stage",
        "when": ["manualJudgment", "manualJudgmentContinue", "manualJudgmentStop"],
        "notifyEveryMs": 60_000,
        "message": {"manualJudgment": {"text": "Approve ${execution.name}? ${instructions}"}},
    }
    execution_id = run(
        services,
        {
            "stages": [
                {"refId": "1", "type": "manualJudgment", "name": "Approve", "instructions": "Check the dashboards",
                 "sendNotifications": True, "notifications": [note]},
            ]
        },
    )  # fmt: skip
    run_once_sync(services)
    assert [r.body["text"] for r in receiver.requests] == ["Approve release? Check the dashboards"]
    clock.advance(seconds=30)
    run_once_sync(services)
    assert len(receiver.requests) == 1  # the reminder is not due yet
    clock.advance(seconds=31)
    run_once_sync(services)
    clock.advance(seconds=61)
    run_once_sync(services)
    assert [r.body["when"] for r in receiver.requests] == ["manualJudgment"] * 3
    with services.db.read() as conn:
        stage = services.executions.load(conn, execution_id).stage_by_ref_id("1")
    assert stage is not None
    services.operations.patch_stage(execution_id, stage.id, {"judgmentStatus": "continue"}, user="ana")
    run_until_idle(services, advance_clock=False)
    clock.advance(seconds=61)
    run_once_sync(services)  # the pending reminder is skipped: nobody waits any more
    run_once_sync(services)
    assert [r.body["when"] for r in receiver.requests] == ["manualJudgment"] * 3 + ["manualJudgmentContinue"]
    with services.db.read() as conn:
        assert services.executions.load(conn, execution_id).status == ExecutionStatus.SUCCEEDED


def test_a_refused_webhook_url_is_worded_once(sqlite_url: str, receiver: Receiver) -> None:
    """Item 16 of issue #10: the error read "the outbound policy refuses the the webhook URL"."""
    from tests.notify.test_slack import all_events, start

    services = make_services(sqlite_url, plugins=(EngineTestPlugin(),), outbound__deny="127.0.0.1")
    try:
        start(
            services, [{"type": "webhook", "address": f"{receiver.url}/hook", "when": ["pipeline.complete"]}]
        )
        run_once_sync(services)
        [failed] = all_events(services, events.NOTIFICATION_FAILED)
        assert failed.body["error"].startswith("the outbound policy refuses the webhook URL: ")
    finally:
        services.close()
