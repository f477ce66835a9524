"""StartStage (StartStageHandler): upstream checks, skipping, planning, the first step, cancellation."""

from __future__ import annotations

from gennaker.engine import messages as m
from gennaker.engine.handlers import cancel_execution, complete_execution, start_stage
from gennaker.engine.runtime import HandlerContext
from gennaker.model.execution import ORCHESTRATION, STAGE_AFTER, STAGE_BEFORE
from gennaker.model.status import ExecutionStatus as S
from tests.engine.handlers.builders import NOW, msg, pipeline, push, stage, task
from tests.engine.handlers.conftest import Engine

DISABLED = {"type": "expression", "expression": "false"}


def _start(engine: Engine, stage_id: str) -> HandlerContext:
    execution = engine.load("ex1")
    return engine.handle(start_stage.handle, msg(m.StartStage, execution, stage_id))


def test_plans_the_tasks_and_starts_the_first(engine: Engine) -> None:
    execution = engine.store(pipeline(stage("1", "twoTasks")))
    ctx = _start(engine, "s1")
    assert ctx.pushes == [push(m.StartTask, execution, "s1", "1")]
    assert [(e.type, e.body["status"], e.body["refId"]) for e in ctx.events] == [
        ("stage.starting", "RUNNING", "1")
    ]
    started = engine.load(execution.id).stage("s1")
    assert started is not None
    assert started.status == S.RUNNING
    assert started.start_time == NOW
    assert [(t.id, t.name, t.implementing_class, t.status) for t in started.tasks] == [
        ("1", "first", "probe", S.NOT_STARTED),
        ("2", "second", "probe", S.NOT_STARTED),
    ]
    assert [(t.stage_start, t.stage_end) for t in started.tasks] == [(True, False), (False, True)]


def test_upstream_not_done_does_nothing(engine: Engine) -> None:
    engine.store(
        pipeline(
            stage("1", status=S.SUCCEEDED), stage("2", status=S.RUNNING), stage("3", upstream=("1", "2"))
        )
    )
    ctx = _start(engine, "s3")
    assert ctx.pushes == [] and ctx.events == []
    assert engine.load("ex1").stage("s3").status == S.NOT_STARTED


def test_upstream_done_in_any_successful_way_starts(engine: Engine) -> None:
    execution = engine.store(
        pipeline(
            stage("1", status=S.SUCCEEDED),
            stage("2", status=S.SKIPPED),
            stage("3", status=S.FAILED_CONTINUE),
            stage("4", upstream=("1", "2", "3")),
        )
    )
    assert _start(engine, "s4").pushes == [push(m.StartTask, execution, "s4", "1")]


def test_upstream_failed_completes_the_execution(engine: Engine) -> None:
    for status in (S.TERMINAL, S.STOPPED, S.CANCELED):
        execution = engine.store(
            pipeline(stage("1", status=status), stage("2", upstream=("1",)), id=f"ex-{status}")
        )
        ctx = engine.handle(start_stage.handle, msg(m.StartStage, execution, f"ex-{status}.s2"))
        assert ctx.pushes == [push(m.CompleteExecution, execution)], status
        assert engine.load(execution.id).stages[1].status == S.NOT_STARTED


def test_upstream_failed_further_up_through_a_stage_that_never_started(engine: Engine) -> None:
    execution = engine.store(
        pipeline(stage("1", status=S.TERMINAL), stage("2", upstream=("1",)), stage("3", upstream=("2",)))
    )
    assert _start(engine, "s3").pushes == [push(m.CompleteExecution, execution)]


def test_stage_enabled_false_skips(engine: Engine) -> None:
    execution = engine.store(pipeline(stage("1", stageEnabled=DISABLED)))
    ctx = _start(engine, "s1")
    assert ctx.pushes == [push(m.SkipStage, execution, "s1")]
    assert ctx.events == []
    assert engine.load(execution.id).stages[0].status == S.NOT_STARTED


def test_stage_enabled_true_starts(engine: Engine) -> None:
    execution = engine.store(
        pipeline(stage("1", stageEnabled={"type": "expression", "expression": "trigger.user == 'alice'"}))
    )
    assert _start(engine, "s1").pushes == [push(m.StartTask, execution, "s1", "1")]


def test_orchestrations_ignore_stage_enabled(engine: Engine) -> None:
    execution = engine.store(pipeline(stage("1", stageEnabled=DISABLED), type=ORCHESTRATION))
    assert _start(engine, "s1").pushes == [push(m.StartTask, execution, "s1", "1")]


def test_past_its_start_time_expiry_skips(engine: Engine) -> None:
    execution = engine.store(pipeline(stage("1", startTimeExpiry=NOW - 1)))
    assert _start(engine, "s1").pushes == [push(m.SkipStage, execution, "s1")]


def test_a_stage_already_started_is_ignored(engine: Engine) -> None:
    for status in (S.RUNNING, S.SUCCEEDED, S.SKIPPED, S.TERMINAL):
        engine.store(pipeline(stage("1", status=status), id=f"ex-{status}"))
        execution = engine.load(f"ex-{status}")
        ctx = engine.handle(start_stage.handle, msg(m.StartStage, execution, f"ex-{status}.s1"))
        assert ctx.pushes == [] and ctx.events == [], status
        assert engine.load(execution.id).stages[0].status == status


def test_evaluates_a_top_level_context_at_start(engine: Engine) -> None:
    engine.store(pipeline(stage("1", who="${trigger.user}", later="${#stage('nope')['x']}")))
    _start(engine, "s1")
    context = engine.load("ex1").stages[0].context
    assert context["who"] == "alice"
    assert context["later"] == "${#stage('nope')['x']}"  # failures stay as text, summarised
    assert "expressionEvaluationSummary" in context


def test_plans_before_stages_and_starts_those_without_upstream(engine: Engine) -> None:
    execution = engine.store(
        pipeline(stage("1", "parent", before=[{"outputs": {"a": 1}}, {"chained": False}, {}]))
    )
    ctx = _start(engine, "s1")
    stored = engine.load(execution.id)
    before = [s for s in stored.stages if s.synthetic_stage_owner == STAGE_BEFORE]
    assert [(s.ref_id, s.requisite_stage_ref_ids, s.parent_stage_id) for s in before] == [
        ("1<1", [], "s1"),
        ("1<2", [], "s1"),
        ("1<3", ["1<2"], "s1"),
    ]
    assert [s.ref_id for s in stored.stages] == ["1<1", "1<2", "1<3", "1"]
    assert ctx.pushes == [push(m.StartStage, execution, before[0]), push(m.StartStage, execution, before[1])]
    parent = stored.stage("s1")
    assert parent is not None and parent.status == S.RUNNING
    assert [t.status for t in parent.tasks] == [S.NOT_STARTED]


def test_an_execution_window_is_planned_first(engine: Engine) -> None:
    execution = engine.store(
        pipeline(stage("1", "parent", restrictExecutionDuringTimeWindow=True, before=[{}]))
    )
    ctx = _start(engine, "s1")
    stored = engine.load(execution.id)
    before = [s for s in stored.stages if s.synthetic_stage_owner == STAGE_BEFORE]
    assert [(s.ref_id, s.type, s.requisite_stage_ref_ids) for s in before] == [
        ("1<0", "restrictExecutionDuringTimeWindow", []),
        ("1<2", "scripted", ["1<0"]),
    ]
    assert ctx.pushes == [push(m.StartStage, execution, before[0])]


def test_no_tasks_and_no_synthetic_stages_completes_at_once(engine: Engine) -> None:
    execution = engine.store(pipeline(stage("1", "noTasks")))
    ctx = _start(engine, "s1")
    assert ctx.pushes == [push(m.CompleteStage, execution, "s1")]
    assert [e.type for e in ctx.events] == ["stage.starting"]
    assert engine.load(execution.id).stages[0].status == S.RUNNING


def test_after_stages_are_left_for_completion(engine: Engine) -> None:
    execution = engine.store(pipeline(stage("1", "parent", ownTask=False, after=[{}])))
    ctx = _start(engine, "s1")
    assert ctx.pushes == [push(m.CompleteStage, execution, "s1")]
    assert [s.ref_id for s in engine.load(execution.id).stages] == ["1"]


def test_an_unknown_stage_type_fails_planning(engine: Engine) -> None:
    execution = engine.store(pipeline(stage("1", "vanished")))
    ctx = _start(engine, "s1")
    assert ctx.pushes == [push(m.CompleteStage, execution, "s1")]
    assert [e.type for e in ctx.events] == ["stage.starting"]
    failed = engine.load(execution.id).stages[0]
    assert failed.status == S.RUNNING
    assert failed.tasks == []
    assert failed.context["beforeStagePlanningFailed"] is True
    assert failed.context["exception"]["details"]["errors"] == ["unknown stage type 'vanished'"]
    assert failed.context["exception"]["exceptionType"] == "StagePlanningFailed"


def test_an_unknown_task_type_fails_planning(engine: Engine) -> None:
    execution = engine.store(pipeline(stage("1", "badPlan")))
    assert _start(engine, "s1").pushes == [push(m.CompleteStage, execution, "s1")]
    failed = engine.load(execution.id).stages[0]
    assert failed.context["beforeStagePlanningFailed"] is True
    assert failed.context["exception"]["details"]["error"] == "unknown task type 'noSuchTask'"


def test_an_unknown_stage_id_ends_the_execution_terminal(engine: Engine) -> None:
    execution = engine.store(pipeline(stage("1", status=S.RUNNING, tasks=[task(status=S.RUNNING)])))
    ctx = _start(engine, "nope")
    reason = "message startStage names unknown stage nope"
    assert [(e.type, e.body["reason"]) for e in ctx.events] == [("pipeline.failed", reason)]
    assert ctx.pushes == [push(m.StartWaitingExecutions, execution, key="cfg-1", purge_queue=True)]
    done = engine.load(execution.id)
    assert done.status == S.TERMINAL
    assert done.extra["errors"] == [reason]
    assert done.stages[0].status == S.TERMINAL
    assert done.stages[0].tasks[0].status == S.TERMINAL


def test_a_finished_execution_starts_nothing(engine: Engine) -> None:
    engine.store(pipeline(stage("1", status=S.TERMINAL), stage("2"), status=S.TERMINAL))
    ctx = _start(engine, "s2")
    assert ctx.pushes == [] and ctx.events == []


def test_a_canceled_execution_starts_no_new_stage_and_settles(engine: Engine) -> None:
    execution = engine.store(
        pipeline(stage("1", status=S.SUCCEEDED), stage("2", upstream=("1",)), canceled=True)
    )
    ctx = _start(engine, "s2")
    assert ctx.pushes == [push(m.CompleteExecution, execution)]
    assert ctx.events == []
    assert engine.load(execution.id).stages[1].status == S.NOT_STARTED


def test_a_stage_that_succeeds_just_after_a_cancel_does_not_leave_the_execution_running(
    engine: Engine,
) -> None:
    """The race: the cancel was handled while stage 1's task was still working (CancelExecution's
    CompleteExecution found stage 1 RUNNING); the task then succeeded and stage 1 asked for stage 2.
    Nothing else is queued for the execution after this StartStage, so it must settle it."""
    execution = engine.store(
        pipeline(stage("1", status=S.SUCCEEDED), stage("2", upstream=("1",)), canceled=True)
    )
    ctx = _start(engine, "s2")
    (sent,) = ctx.pushes
    engine.handle(complete_execution.handle, sent.message)
    done = engine.load(execution.id)
    assert done.status == S.CANCELED
    assert [s.status for s in done.stages] == [S.SUCCEEDED, S.NOT_STARTED]


def test_synthetic_stages_of_a_canceled_execution_start_so_their_parent_can_finish(engine: Engine) -> None:
    """An after (or on-failure) stage must run for its parent to complete; its tasks then see the
    cancel and end CANCELED (Orca starts them too)."""
    parent = stage(
        "1", "parent", S.RUNNING, tasks=[task(status=S.SUCCEEDED, implementing_class="scriptedTask")]
    )
    after = stage("1>1", parent=parent, owner=STAGE_AFTER)
    execution = engine.store(pipeline(parent, after, canceled=True))
    ctx = _start(engine, "s1>1")
    assert ctx.pushes == [push(m.StartTask, execution, "s1>1", "1")]
    assert engine.load(execution.id).stage("s1>1").status == S.RUNNING


def test_a_finally_stage_of_a_canceled_execution_starts(engine: Engine) -> None:
    execution = engine.store(
        pipeline(
            stage("1", status=S.CANCELED),
            stage("f", is_finally=True),
            canceled=True,
            state={"outcome": "CANCELED"},
        )
    )
    ctx = _start(engine, "sf")
    assert ctx.pushes == [push(m.StartTask, execution, "sf", "1")]
    assert engine.load(execution.id).stage("sf").status == S.RUNNING


def test_a_finally_stage_canceled_a_second_time_does_not_start(engine: Engine) -> None:
    execution = engine.store(
        pipeline(
            stage("1", status=S.CANCELED),
            stage("f", is_finally=True),
            canceled=True,
            state={"outcome": "CANCELED", "finallyCanceled": True},
        )
    )
    ctx = _start(engine, "sf")
    assert ctx.pushes == [push(m.CompleteExecution, execution)]
    assert engine.load(execution.id).stage("sf").status == S.NOT_STARTED


def test_scenario_a_task_that_succeeds_while_the_execution_is_canceled(engine: Engine) -> None:
    """The whole race through the real handlers: stage 1's task is working (its RunTask in flight, so
    the cancel's RescheduleExecution cannot reach it) when the cancel is handled; then the task
    succeeds. The execution must still end CANCELED, with stage 2 never started."""
    execution = engine.store(
        pipeline(
            stage("1", "twoTasks", S.RUNNING, tasks=[task(status=S.RUNNING)]), stage("2", upstream=("1",))
        )
    )

    def cancel_meanwhile() -> None:
        canceling = engine.handle(cancel_execution.handle, msg(m.CancelExecution, execution, user="bob"))
        assert push(m.CompleteExecution, execution) in canceling.pushes
        settling = engine.handle(complete_execution.handle, msg(m.CompleteExecution, execution))
        assert settling.pushes == []  # stage 1 is still RUNNING

    ran = engine.run_task(msg(m.RunTask, execution, "s1", "1"), between=cancel_meanwhile)
    assert ran.pushes == [
        push(m.CompleteTask, execution, "s1", "1", status=S.SUCCEEDED, original_status=S.SUCCEEDED)
    ]
    done = engine.settle(ran.pushes)
    assert done.status == S.CANCELED
    assert [s.status for s in done.stages] == [S.SUCCEEDED, S.NOT_STARTED]
