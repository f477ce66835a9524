"""Cancel, pause/resume, restart, skip and delete through the engine's operations (§2.8), and
timeouts that exclude paused time (§2.7)."""

from __future__ import annotations

import pytest

from gennaker.errors import Conflict, NotFound
from gennaker.model.status import ExecutionStatus as S
from tests.engine.conftest import Harness
from tests.engine.test_graph_semantics import scripted


def test_cancel_running_execution(harness: Harness) -> None:
    execution = harness.start([scripted("1", polls=1000), scripted("2", "1")])
    harness.services.launcher  # noqa: B018 - keep the services alive
    harness.run(advance_clock=False)
    assert harness.stage(execution.id, "1").status == S.RUNNING
    harness.services.operations.cancel(execution.id, user="alice", reason="not today")
    harness.run(advance_clock=False)
    done = harness.get(execution.id)
    assert done.status == S.CANCELED
    assert done.canceled and done.canceled_by == "alice" and done.cancellation_reason == "not today"
    assert done.stage_by_ref_id("1").status == S.CANCELED
    assert done.stage_by_ref_id("2").status == S.NOT_STARTED


def test_cancel_calls_cancellable_stage_hook(harness: Harness) -> None:
    execution = harness.start([{"refId": "1", "type": "cancellable", "polls": 1000}])
    harness.run(advance_clock=False)
    harness.services.operations.cancel(execution.id, user="bob")
    harness.run(advance_clock=False)
    stage = harness.stage(execution.id, "1")
    assert stage.status == S.CANCELED
    assert stage.context["cancelResults"] == {"status": "done", "cleanedUp": "1"}


def test_stage_timeout_fails_the_stage(harness: Harness) -> None:
    execution = harness.start([scripted("1", polls=1000, stageTimeoutMs=10_000)])
    harness.run()
    stage = harness.stage(execution.id, "1")
    assert stage.status == S.TERMINAL
    assert stage.context["exception"]["exceptionType"] == "TimeoutException"
    assert 10_000 < stage.end_time - stage.start_time <= 12_000


def test_mark_successful_on_timeout(harness: Harness) -> None:
    execution = harness.start([scripted("1", polls=1000, stageTimeoutMs=5_000, markSuccessfulOnTimeout=True)])
    harness.run()
    assert harness.stage(execution.id, "1").status == S.SUCCEEDED
    assert harness.get(execution.id).status == S.SUCCEEDED


def test_pause_and_resume_exclude_paused_time_from_timeout(harness: Harness) -> None:
    execution = harness.start([scripted("1", polls=8, stageTimeoutMs=10_000)])
    harness.run(advance_clock=False)
    harness.clock.advance(seconds=2)
    harness.services.operations.pause(execution.id, user="ops")
    harness.run(advance_clock=False)
    paused = harness.get(execution.id)
    assert paused.status == S.PAUSED
    assert paused.stage_by_ref_id("1").status == S.PAUSED
    harness.clock.advance(seconds=60)  # far beyond the timeout, but paused
    harness.services.operations.resume(execution.id, user="ops")
    harness.run()
    done = harness.get(execution.id)
    assert done.status == S.SUCCEEDED
    assert done.paused["pausedBy"] == "ops" and done.paused["resumedBy"] == "ops"
    assert done.paused["pausedMs"] == 60_000


def test_pause_requires_running_and_resume_requires_paused(harness: Harness) -> None:
    execution = harness.start([scripted("1")])
    harness.run()
    with pytest.raises(Conflict):
        harness.services.operations.pause(execution.id)
    with pytest.raises(Conflict):
        harness.services.operations.resume(execution.id)
    with pytest.raises(NotFound):
        harness.services.operations.pause("nope")


def test_restart_failed_stage_reruns_it_and_downstream(harness: Harness) -> None:
    execution = harness.start(
        [scripted("1", outputs={"n": 1}), scripted("2", "1", result="TERMINAL"), scripted("3", "2")]
    )
    harness.run()
    assert harness.get(execution.id).status == S.TERMINAL
    failed = harness.stage(execution.id, "2")
    with harness.services.db.transaction() as conn:  # fix the cause, as an operator would
        stored = harness.services.executions.load(conn, execution.id)
        stored.stage_by_ref_id("2").context["result"] = "SUCCEEDED"
        harness.services.executions.save(conn, stored)
    harness.services.operations.restart_stage(execution.id, failed.id, user="carol")
    harness.run()
    done = harness.get(execution.id)
    assert done.status == S.SUCCEEDED
    restarted = done.stage_by_ref_id("2")
    assert restarted.context["restartDetails"]["restartedBy"] == "carol"
    assert restarted.context["restartDetails"]["previousException"]["details"]["errors"] == [
        "scripted failure"
    ]
    assert done.stage_by_ref_id("3").status == S.SUCCEEDED
    assert done.end_time is not None


def test_restart_running_stage_is_refused(harness: Harness) -> None:
    execution = harness.start([scripted("1", polls=100)])
    harness.run(advance_clock=False)
    with pytest.raises(Conflict):
        harness.services.operations.restart_stage(execution.id, harness.stage(execution.id, "1").id)


def test_skip_remaining_wait(harness: Harness) -> None:
    execution = harness.start([{"refId": "1", "type": "wait", "waitTime": 3600}, scripted("2", "1")])
    harness.run(advance_clock=False)
    wait = harness.stage(execution.id, "1")
    assert wait.status == S.RUNNING
    harness.services.operations.patch_stage(execution.id, wait.id, {"skipRemainingWait": True}, user="dave")
    harness.run(advance_clock=False)
    done = harness.get(execution.id)
    assert done.stage_by_ref_id("1").status == S.SUCCEEDED
    assert done.stage_by_ref_id("1").last_modified["user"] == "dave"
    assert done.status == S.SUCCEEDED


def test_manual_skip_refused_for_stage_types_that_cannot_be_skipped(harness: Harness) -> None:
    execution = harness.start([scripted("1", polls=100)])
    harness.run(advance_clock=False)
    with pytest.raises(Conflict):
        harness.services.operations.patch_stage(
            execution.id, harness.stage(execution.id, "1").id, {"manualSkip": True}
        )
    assert "manualSkip" not in harness.stage(execution.id, "1").context


def test_delete_only_finished_executions(harness: Harness) -> None:
    running = harness.start([scripted("1", polls=100)], id="cfg-a")
    harness.run(advance_clock=False)
    with pytest.raises(Conflict):
        harness.services.operations.delete(running.id)
    harness.services.operations.cancel(running.id)
    harness.run(advance_clock=False)
    harness.services.operations.delete(running.id)
    with harness.services.db.read() as conn:
        assert harness.services.executions.find(conn, running.id) is None


def test_execution_window_waits_for_the_window(make_harness) -> None:  # type: ignore[no-untyped-def]
    harness = make_harness(engine__execution_window_timezone="UTC")
    # 1_700_000_000_000 is Tue 2023-11-14 22:13:20 UTC; the window opens at 23:00 UTC.
    window = {"whitelist": [{"startHour": 23, "startMin": 0, "endHour": 1, "endMin": 0}], "days": []}
    execution = harness.start(
        [scripted("1", restrictExecutionDuringTimeWindow=True, restrictedExecutionWindow=window)]
    )
    harness.run()
    done = harness.get(execution.id)
    assert done.status == S.SUCCEEDED
    window_stage = next(s for s in done.stages if s.type == "restrictExecutionDuringTimeWindow")
    assert window_stage.synthetic_stage_owner == "STAGE_BEFORE"
    main = done.stage_by_ref_id("1")
    assert main.tasks[0].start_time == 1_700_000_000_000 + (46 * 60 + 40) * 1000
