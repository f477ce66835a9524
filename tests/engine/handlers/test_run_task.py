"""RunTask (RunTaskHandler, §2.7): run the task outside the transaction, then apply its result if the
task is still RUNNING; timeouts, backoff, cancel, pause, manual skip, exceptions."""

from __future__ import annotations

from typing import Any

from gennaker.engine import messages as m
from gennaker.engine.handlers import run_task
from gennaker.engine.runtime import HandlerContext
from gennaker.model.execution import Execution
from gennaker.model.status import ExecutionStatus as S
from tests.engine.handlers.builders import NOW, msg, pipeline, push, stage, task
from tests.engine.handlers.conftest import Engine, RunTaskOutcome


def _running(
    implementing_class: str = "probe",
    *,
    task_start: int | None = None,
    stage_start: int | None = None,
    **context: Any,
) -> Execution:
    return pipeline(
        stage(
            "1",
            status=S.RUNNING,
            tasks=[task("1", S.RUNNING, implementing_class, start_time=task_start)],
            start_time=stage_start,
            **context,
        )
    )


def _run(engine: Engine, execution: Execution, **kwargs: Any) -> RunTaskOutcome:
    return engine.run_task(msg(m.RunTask, execution, "s1", "1"), **kwargs)


def _completed(execution: Execution, status: S, original: S | None = None) -> Any:
    return push(m.CompleteTask, execution, "s1", "1", status=status, original_status=original or status)


def _again(execution: Execution, delay: int) -> Any:
    return push(m.RunTask, execution, "s1", "1", delay=delay)


# -- results ---------------------------------------------------------------------------------------


def test_succeeded_merges_context_and_outputs_and_completes_the_task(engine: Engine) -> None:
    execution = engine.store(
        _running(resultContext={"deployed": "v1"}, resultOutputs={"version": 3, "stageTimeoutMs": 5})
    )
    ran = _run(engine, execution)
    assert ran.prepare.pushes == [] and ran.prepare.events == []
    assert ran.pushes == [_completed(execution, S.SUCCEEDED)]
    assert ran.events == []
    stored = engine.load(execution.id).stages[0]
    assert stored.context["deployed"] == "v1"
    assert stored.outputs == {"version": 3}  # stageTimeoutMs is never published
    assert stored.tasks[0].status == S.RUNNING  # CompleteTask records the end
    assert engine.task_type("probe").calls == ["execute"]


def test_running_is_polled_again_after_the_task_backoff(engine: Engine) -> None:
    execution = engine.store(_running(result="RUNNING", resultContext={"progress": 1}))
    ran = _run(engine, execution)
    assert ran.pushes == [_again(execution, 1_000)]
    assert engine.load(execution.id).stages[0].context["progress"] == 1


def test_running_uses_the_backoff_the_result_asks_for(engine: Engine) -> None:
    execution = engine.store(_running(result="RUNNING", backoffMs=250))
    assert _run(engine, execution).pushes == [_again(execution, 250)]


def test_running_uses_the_task_types_own_backoff(engine: Engine) -> None:
    execution = engine.store(_running("slowPoll", result="RUNNING"))
    assert _run(engine, execution).pushes == [_again(execution, 5_000)]


def test_backoff_period_ms_is_a_floor(engine: Engine) -> None:
    execution = engine.store(_running(result="RUNNING", backoffPeriodMs=3_000))
    assert _run(engine, execution).pushes == [_again(execution, 3_000)]
    engine.change(execution.id, lambda e: e.stages[0].context.update(backoffMs=10_000))
    assert _run(engine, execution).pushes == [_again(execution, 10_000)]


def test_terminal_fails_the_task(engine: Engine) -> None:
    execution = engine.store(_running(result="TERMINAL"))
    assert _run(engine, execution).pushes == [_completed(execution, S.TERMINAL)]


def test_terminal_with_fail_pipeline_false_stops_the_branch(engine: Engine) -> None:
    execution = engine.store(_running(result="TERMINAL", failPipeline=False))
    assert _run(engine, execution).pushes == [_completed(execution, S.STOPPED, S.TERMINAL)]


def test_terminal_with_continue_pipeline_fails_and_continues(engine: Engine) -> None:
    execution = engine.store(_running(result="TERMINAL", failPipeline=False, continuePipeline=True))
    assert _run(engine, execution).pushes == [_completed(execution, S.FAILED_CONTINUE, S.TERMINAL)]


def test_canceled_result(engine: Engine) -> None:
    execution = engine.store(_running(result="CANCELED"))
    assert _run(engine, execution).pushes == [_completed(execution, S.CANCELED)]


def test_other_final_statuses_are_passed_on(engine: Engine) -> None:
    for status in (S.FAILED_CONTINUE, S.SKIPPED, S.REDIRECT, S.STOPPED):
        execution = engine.store(pipeline(*_running(result=status.value).stages, id=f"ex-{status}"))
        ran = engine.run_task(msg(m.RunTask, execution, f"ex-{status}.s1", "1"))
        expected = push(
            m.CompleteTask, execution, f"ex-{status}.s1", "1", status=status, original_status=status
        )
        assert ran.pushes == [expected], status


def test_an_exception_fails_the_task_with_its_details(engine: Engine) -> None:
    execution = engine.store(_running(**{"raise": "disk full"}))
    ran = _run(engine, execution)
    assert ran.pushes == [_completed(execution, S.TERMINAL)]
    assert engine.load(execution.id).stages[0].context["exception"] == {
        "details": {"error": "disk full", "errors": ["disk full"], "stackTrace": "RuntimeError: disk full\n"},
        "exceptionType": "RuntimeError",
        "operation": "1",
        "shouldRetry": False,
        "timestamp": NOW,
    }


def test_a_transient_error_polls_again_without_touching_the_stage(engine: Engine) -> None:
    execution = engine.store(_running(transient=True, backoffPeriodMs=2_000))
    ran = _run(engine, execution)
    assert ran.pushes == [_again(execution, 2_000)]
    assert "exception" not in engine.load(execution.id).stages[0].context


# -- timeouts --------------------------------------------------------------------------------------


def test_stage_timeout(engine: Engine) -> None:
    execution = engine.store(_running(stageTimeoutMs=10_000, stage_start=NOW - 10_001))
    ran = _run(engine, execution)
    assert ran.pending is not None and ran.pending.mode == "timeout"
    assert ran.pushes == [_completed(execution, S.TERMINAL)]
    assert engine.task_type("probe").calls == ["on_timeout"]
    exception = engine.load(execution.id).stages[0].context["exception"]
    assert exception["exceptionType"] == "TimeoutException"
    assert exception["details"]["errors"] == ["Operation timed out: task 1 of stage 'stage 1'"]


def test_stage_timeout_not_reached_runs_the_task(engine: Engine) -> None:
    execution = engine.store(_running(stageTimeoutMs=10_000, stage_start=NOW - 10_000))
    assert _run(engine, execution).pushes == [_completed(execution, S.SUCCEEDED)]
    assert engine.task_type("probe").calls == ["execute"]


def test_stage_timeout_given_as_text(engine: Engine) -> None:
    execution = engine.store(_running(stageTimeoutMs="10000", stage_start=NOW - 20_000))
    assert _run(engine, execution).pushes == [_completed(execution, S.TERMINAL)]


def test_stage_timeout_of_the_parent_applies_to_synthetic_stages(engine: Engine) -> None:
    parent = stage("1", "parent", S.RUNNING, start_time=NOW - 20_000, stageTimeoutMs=10_000)
    child = stage(
        "1<1", status=S.RUNNING, parent=parent, tasks=[task("1", S.RUNNING)], start_time=NOW - 1_000
    )
    execution = engine.store(pipeline(child, parent))
    ran = engine.run_task(msg(m.RunTask, execution, "s1<1", "1"))
    assert ran.pushes == [
        push(m.CompleteTask, execution, "s1<1", "1", status=S.TERMINAL, original_status=S.TERMINAL)
    ]


def test_stage_timeout_excludes_paused_time(engine: Engine) -> None:
    execution = engine.store(
        _running(
            stageTimeoutMs=10_000,
            stage_start=NOW - 20_000,
            task_start=NOW - 20_000,
        )
    )
    engine.change(execution.id, lambda e: setattr(e, "paused", {"intervals": [[NOW - 18_000, NOW - 6_000]]}))
    assert _run(engine, execution).pushes == [_completed(execution, S.SUCCEEDED)]


def test_task_timeout(engine: Engine) -> None:
    execution = engine.store(_running("timed", task_start=NOW - 10_001))
    assert _run(engine, execution).pushes == [_completed(execution, S.TERMINAL)]
    assert engine.task_type("timed").calls == ["on_timeout"]


def test_task_timeout_not_reached(engine: Engine) -> None:
    execution = engine.store(_running("timed", task_start=NOW - 10_000))
    assert _run(engine, execution).pushes == [_completed(execution, S.SUCCEEDED)]


def test_task_timeout_excludes_paused_time(engine: Engine) -> None:
    execution = engine.store(_running("timed", task_start=NOW - 15_000))
    engine.change(execution.id, lambda e: setattr(e, "paused", {"intervals": [[NOW - 14_000, NOW - 8_000]]}))
    assert _run(engine, execution).pushes == [_completed(execution, S.SUCCEEDED)]


def test_stage_timeout_overrides_the_timeout_of_a_wait_or_monitor_task(engine: Engine) -> None:
    execution = engine.store(
        _running("monitor", task_start=NOW - 90_000, stage_start=NOW - 90_000, stageTimeoutMs=120_000)
    )
    assert _run(engine, execution).pushes == [_completed(execution, S.SUCCEEDED)]


def test_a_monitor_task_without_stage_timeout_keeps_its_own(engine: Engine) -> None:
    execution = engine.store(_running("monitor", task_start=NOW - 90_000))
    assert _run(engine, execution).pushes == [_completed(execution, S.TERMINAL)]


def test_stage_timeout_does_not_lengthen_an_ordinary_tasks_timeout(engine: Engine) -> None:
    execution = engine.store(
        _running("timed", task_start=NOW - 11_000, stage_start=NOW - 11_000, stageTimeoutMs=120_000)
    )
    assert _run(engine, execution).pushes == [_completed(execution, S.TERMINAL)]


def test_mark_successful_on_timeout(engine: Engine) -> None:
    execution = engine.store(_running("timed", task_start=NOW - 60_000, markSuccessfulOnTimeout=True))
    assert _run(engine, execution).pushes == [_completed(execution, S.SUCCEEDED)]
    assert "exception" not in engine.load(execution.id).stages[0].context


def test_the_tasks_own_timeout_result_wins(engine: Engine) -> None:
    execution = engine.store(_running("timed", task_start=NOW - 60_000, timeoutResult="FAILED_CONTINUE"))
    assert _run(engine, execution).pushes == [_completed(execution, S.FAILED_CONTINUE)]
    assert engine.load(execution.id).stages[0].context["timeoutHandled"] is True


def test_time_in_an_execution_window_does_not_count(engine: Engine) -> None:
    parent = stage(
        "1",
        status=S.RUNNING,
        tasks=[task("1", S.RUNNING, start_time=NOW - 4_000)],
        start_time=NOW - 30_000,
        stageTimeoutMs=10_000,
    )
    window = stage(
        "1<0",
        "restrictExecutionDuringTimeWindow",
        S.SUCCEEDED,
        parent=parent,
        start_time=NOW - 30_000,
        end_time=NOW - 5_000,
    )
    execution = engine.store(pipeline(window, parent))
    assert _run(engine, execution).pushes == [_completed(execution, S.SUCCEEDED)]


# -- cancel, pause, skip ---------------------------------------------------------------------------


def test_a_canceled_execution_calls_on_cancel_and_cancels_the_task(engine: Engine) -> None:
    execution = engine.store(pipeline(*_running().stages, canceled=True))
    ran = _run(engine, execution)
    assert ran.pending is not None and ran.pending.mode == "cancel"
    assert ran.prepare.pushes == []
    assert ran.pushes == [_completed(execution, S.CANCELED)]
    assert engine.task_type("probe").calls == ["on_cancel"]
    assert engine.load(execution.id).stages[0].context["onCancelCalled"] is True


def test_a_finished_execution_cancels_its_leftover_tasks(engine: Engine) -> None:
    execution = engine.store(pipeline(*_running().stages, status=S.TERMINAL))
    assert _run(engine, execution).pushes == [_completed(execution, S.CANCELED)]
    assert engine.task_type("probe").calls == ["on_cancel"]


def test_a_decided_main_graph_cancels_its_leftover_tasks(engine: Engine) -> None:
    execution = engine.store(pipeline(*_running().stages, state={"outcome": "TERMINAL"}))
    assert _run(engine, execution).pushes == [_completed(execution, S.CANCELED)]


def test_a_failing_cancel_hook_still_cancels_the_task(engine: Engine) -> None:
    execution = engine.store(pipeline(*_running(cancelRaises=True).stages, canceled=True))
    assert _run(engine, execution).pushes == [_completed(execution, S.CANCELED)]
    assert "onCancelCalled" not in engine.load(execution.id).stages[0].context


def test_finally_stages_of_a_canceled_execution_keep_running(engine: Engine) -> None:
    final = stage("f", status=S.RUNNING, is_finally=True, tasks=[task("1", S.RUNNING)])
    execution = engine.store(
        pipeline(stage("1", status=S.CANCELED), final, canceled=True, state={"outcome": "CANCELED"})
    )
    ran = engine.run_task(msg(m.RunTask, execution, "sf", "1"))
    assert ran.pushes == [
        push(m.CompleteTask, execution, "sf", "1", status=S.SUCCEEDED, original_status=S.SUCCEEDED)
    ]
    assert engine.task_type("probe").calls == ["execute"]


def test_a_paused_execution_pauses_the_task(engine: Engine) -> None:
    execution = engine.store(pipeline(*_running().stages, status=S.PAUSED))
    ran = _run(engine, execution)
    assert ran.apply is None
    assert ran.pushes == [push(m.PauseTask, execution, "s1", "1")]
    assert engine.task_type("probe").calls == []


def test_manual_skip_skips_the_task_without_running_it(engine: Engine) -> None:
    execution = engine.store(_running(manualSkip=True))
    ran = _run(engine, execution)
    assert ran.apply is None
    assert ran.pushes == [_completed(execution, S.SKIPPED)]
    assert engine.task_type("probe").calls == []


def test_a_task_that_is_not_running_is_left_alone(engine: Engine) -> None:
    for status in (S.NOT_STARTED, S.SUCCEEDED, S.PAUSED, S.CANCELED):
        execution = engine.store(
            pipeline(stage("1", status=S.RUNNING, tasks=[task("1", status)]), id=f"ex-{status}")
        )
        ran = engine.run_task(msg(m.RunTask, execution, f"ex-{status}.s1", "1"))
        assert ran.apply is None and ran.pushes == [] and ran.events == [], status
    assert engine.task_type("probe").calls == []


def test_the_result_is_dropped_when_the_task_moved_on_while_it_ran(engine: Engine) -> None:
    execution = engine.store(_running(resultContext={"late": True}, resultOutputs={"late": True}))

    def canceled_meanwhile() -> None:
        engine.change(execution.id, lambda e: setattr(e.stages[0].tasks[0], "status", S.CANCELED))

    ran = _run(engine, execution, between=canceled_meanwhile)
    assert ran.apply is not None
    assert ran.pushes == [] and ran.events == []
    stored = engine.load(execution.id).stages[0]
    assert "late" not in stored.context and stored.outputs == {}


def test_the_result_is_dropped_when_the_stage_was_reset_while_it_ran(engine: Engine) -> None:
    execution = engine.store(_running())

    def restarted_meanwhile() -> None:
        engine.change(execution.id, lambda e: setattr(e.stages[0], "tasks", []))

    assert _run(engine, execution, between=restarted_meanwhile).pushes == []


# -- bad input -------------------------------------------------------------------------------------


def test_an_unknown_task_type_ends_the_execution_terminal_with_the_reason(engine: Engine) -> None:
    execution = engine.store(_running("retiredTask"))
    ran = _run(engine, execution)
    reason = "unknown task type 'retiredTask' (stage 1, task task1)"
    assert ran.apply is None
    assert [(e.type, e.body["reason"]) for e in ran.events] == [("pipeline.failed", reason)]
    assert ran.pushes == [push(m.StartWaitingExecutions, execution, key="cfg-1", purge_queue=True)]
    done = engine.load(execution.id)
    assert done.status == S.TERMINAL
    assert done.end_time == NOW
    assert done.extra["errors"] == [reason]
    assert done.stages[0].status == S.TERMINAL
    assert done.stages[0].tasks[0].status == S.TERMINAL
    assert done.stages[0].context["exception"]["details"]["errors"] == [reason]


def test_an_unknown_task_id_ends_the_execution_terminal(engine: Engine) -> None:
    execution = engine.store(_running())
    ran = engine.run_task(msg(m.RunTask, execution, "s1", "7"))
    assert engine.load(execution.id).extra["errors"] == ["stage s1 has no task 7"]
    assert [e.type for e in ran.events] == ["pipeline.failed"]


def test_an_execution_that_no_longer_exists_is_ignored(engine: Engine) -> None:
    ran = engine.run_task(msg(m.RunTask, pipeline(id="gone"), "gone.s1", "1"))
    assert ran.pushes == [] and ran.events == []


# -- context and inline running --------------------------------------------------------------------


def test_the_task_sees_its_context_evaluated_with_upstream_outputs(engine: Engine) -> None:
    upstream = stage("0", status=S.SUCCEEDED, outputs={"version": "1.2.3"})
    running = stage(
        "1",
        status=S.RUNNING,
        upstream=("0",),
        tasks=[task("1", S.RUNNING)],
        who="${trigger.user}",
        broken="${#stage('nope')['x']}",
    )
    execution = engine.store(pipeline(upstream, running))
    _run(engine, execution)
    (seen,) = engine.task_type("probe").seen
    assert seen["who"] == "alice"
    assert seen["version"] == "1.2.3"
    stored = engine.load(execution.id).stage("s1")
    assert stored is not None
    assert stored.context["who"] == "${trigger.user}"  # the stored context is not rewritten
    assert "#stage('nope')['x']" in stored.context["expressionEvaluationSummary"]


def test_a_pure_task_runs_inside_the_transaction(engine: Engine) -> None:
    execution = engine.store(_running("pureProbe", resultOutputs={"k": 1}))
    with engine.services.db.transaction() as conn:
        ctx = HandlerContext(conn, engine.services, NOW)
        assert run_task.run_inline(ctx, msg(m.RunTask, execution, "s1", "1")) is True
        ctx.write_changes()
    assert ctx.pushes == [_completed(execution, S.SUCCEEDED)]
    assert engine.load(execution.id).stages[0].outputs == {"k": 1}


def test_a_task_doing_io_is_not_run_inside_the_transaction(engine: Engine) -> None:
    execution = engine.store(_running())
    with engine.services.db.transaction() as conn:
        ctx = HandlerContext(conn, engine.services, NOW)
        assert run_task.is_pure(ctx, msg(m.RunTask, execution, "s1", "1")) is False
        assert run_task.run_inline(ctx, msg(m.RunTask, execution, "s1", "1")) is False
    assert ctx.pushes == [] and not ctx._dirty
    assert engine.task_type("probe").calls == []
