"""``manualJudgment`` through Operations.patch_stage (what Gate's PATCH calls): continue, stop,
timeouts, restart, and the reminders it records for the notifier."""

from __future__ import annotations

import pytest

from gennaker.errors import InvalidInput
from gennaker.model.status import ExecutionStatus as S
from tests.stages.conftest import Harness


def judgment(ref: str = "1", **context: object) -> dict[str, object]:
    return {
        "refId": ref,
        "type": "manualJudgment",
        "name": "Approve",
        "instructions": "Ship it?",
        "judgmentInputs": [{"value": "blue"}, {"value": "green"}],
        **context,
    }


def after(ref: str, requisite: str) -> dict[str, object]:
    return {"refId": ref, "requisiteStageRefIds": [requisite], "type": "wait", "waitTime": 1}


def test_continue_succeeds_and_downstream_runs(harness: Harness) -> None:
    execution = harness.start([judgment(), after("2", "1")])
    harness.run(advance_clock=False)
    waiting = harness.stage(execution.id, "1")
    assert waiting.status == S.RUNNING
    harness.services.operations.patch_stage(
        execution.id, waiting.id, {"judgmentStatus": "Continue", "judgmentInput": "green"}, user="alice"
    )
    harness.run(advance_clock=False)  # the patch wakes the task at once: no clock needed
    stage = harness.stage(execution.id, "1")
    assert stage.status == S.SUCCEEDED
    assert stage.context["judgmentInput"] == "green"
    assert stage.last_modified is not None and stage.last_modified["user"] == "alice"
    harness.run()
    assert harness.get(execution.id).status == S.SUCCEEDED


def test_stop_ends_terminal_and_names_the_judge(harness: Harness) -> None:
    execution = harness.start([judgment(), after("2", "1")])
    harness.run(advance_clock=False)
    harness.services.operations.patch_stage(
        execution.id, harness.stage(execution.id, "1").id, {"judgmentStatus": "stop"}, user="bob"
    )
    harness.run()
    done = harness.get(execution.id)
    stage = done.stage_by_ref_id("1")
    assert stage is not None and stage.status == S.TERMINAL
    assert stage.context["exception"]["details"]["errors"] == ["Stopped by manual judgment of bob"]
    assert done.status == S.TERMINAL
    assert done.stage_by_ref_id("2").status == S.NOT_STARTED  # type: ignore[union-attr]


def test_stop_with_fail_pipeline_false_halts_only_the_branch(harness: Harness) -> None:
    execution = harness.start([judgment(failPipeline=False), after("2", "1")])
    harness.run(advance_clock=False)
    harness.services.operations.patch_stage(
        execution.id, harness.stage(execution.id, "1").id, {"judgmentStatus": "STOP"}
    )
    harness.run()
    done = harness.get(execution.id)
    assert done.stage_by_ref_id("1").status == S.STOPPED  # type: ignore[union-attr]
    assert done.status == S.SUCCEEDED


def test_invalid_judgment_is_refused_and_the_stage_keeps_waiting(harness: Harness) -> None:
    execution = harness.start([judgment()])
    harness.run(advance_clock=False)
    with pytest.raises(InvalidInput):
        harness.services.operations.patch_stage(
            execution.id, harness.stage(execution.id, "1").id, {"judgmentStatus": "maybe"}
        )
    harness.clock.advance(seconds=60)
    harness.run(advance_clock=False)
    assert harness.stage(execution.id, "1").status == S.RUNNING


def test_waits_72_hours_by_default(harness: Harness) -> None:
    execution = harness.start([judgment()])
    harness.run(advance_clock=False)
    harness.clock.advance(seconds=72 * 3600 - 1)
    harness.run(advance_clock=False)
    assert harness.stage(execution.id, "1").status == S.RUNNING
    harness.clock.advance(seconds=16)
    harness.run(advance_clock=False)
    stage = harness.stage(execution.id, "1")
    assert stage.status == S.TERMINAL
    assert stage.context["exception"]["exceptionType"] == "TimeoutException"


def test_stage_timeout_replaces_the_default(harness: Harness) -> None:
    execution = harness.start([judgment(stageTimeoutMs=60_000)])
    harness.run()
    stage = harness.stage(execution.id, "1")
    assert stage.status == S.TERMINAL
    assert 60_000 < stage.end_time - stage.start_time <= 75_000  # type: ignore[operator]


def test_restart_clears_the_judgment(harness: Harness) -> None:
    execution = harness.start([judgment()])
    harness.run(advance_clock=False)
    stage_id = harness.stage(execution.id, "1").id
    harness.services.operations.patch_stage(
        execution.id, stage_id, {"judgmentStatus": "stop", "judgmentInput": "blue"}, user="bob"
    )
    harness.run(advance_clock=False)
    assert harness.get(execution.id).status == S.TERMINAL
    harness.services.operations.restart_stage(execution.id, stage_id, user="carol")
    harness.run(advance_clock=False)
    stage = harness.stage(execution.id, "1")
    assert stage.status == S.RUNNING
    assert "judgmentStatus" not in stage.context and "judgmentInput" not in stage.context
    harness.services.operations.patch_stage(
        execution.id, stage_id, {"judgmentStatus": "continue"}, user="carol"
    )
    harness.run(advance_clock=False)
    assert harness.get(execution.id).status == S.SUCCEEDED


def test_reminders_are_recorded_every_notify_every_ms(harness: Harness) -> None:
    notifications = [
        {"type": "email", "address": "ops@example.com", "when": ["manualJudgment"], "notifyEveryMs": 60_000},
        {"type": "slack", "address": "#deploys", "when": ["manualJudgmentContinue"]},
        {"type": "slack", "address": "#stages", "when": ["stage.starting"]},
    ]
    execution = harness.start([judgment(notifications=notifications, sendNotifications=True)])
    start = harness.clock.now_ms()
    harness.run(advance_clock=False)
    stage = harness.stage(execution.id, "1")
    first = stage.context["notifications"][0]["lastNotifiedByNotificationType"]["manualJudgment"]
    assert first == start and stage.context["lastNotifiedAt"] == start
    assert "lastNotifiedByNotificationType" not in stage.context["notifications"][1]
    assert "lastNotifiedByNotificationType" not in stage.context["notifications"][2]
    harness.clock.advance(seconds=30)
    harness.run(advance_clock=False)
    assert harness.stage(execution.id, "1").context["lastNotifiedAt"] == start  # not due yet
    harness.clock.advance(seconds=31)
    harness.run(advance_clock=False)
    again = harness.stage(execution.id, "1")
    assert again.context["lastNotifiedAt"] == start + 61_000
    harness.services.operations.patch_stage(execution.id, again.id, {"judgmentStatus": "continue"})
    harness.run(advance_clock=False)
    done = harness.stage(execution.id, "1")
    assert done.status == S.SUCCEEDED
    marks = done.context["notifications"][1]["lastNotifiedByNotificationType"]
    assert marks == {"manualJudgmentContinue": start + 61_000}
