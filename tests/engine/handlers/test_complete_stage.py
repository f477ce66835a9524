"""CompleteStage (CompleteStageHandler, §2.5-2.6): the stage's status from its tasks and synthetic
children, after-stages and on-failure stages, Gennaker's stage retry, and where the graph goes next."""

from __future__ import annotations

from gennaker.engine import messages as m
from gennaker.engine.handlers import complete_stage
from gennaker.engine.runtime import HandlerContext
from gennaker.model.execution import STAGE_AFTER, STAGE_BEFORE, Execution, Stage
from gennaker.model.status import ExecutionStatus as S
from tests.engine.handlers.builders import NOW, msg, pipeline, push, stage, task
from tests.engine.handlers.conftest import Engine


def _complete(engine: Engine, stage_id: str = "s1") -> HandlerContext:
    return engine.handle(complete_stage.handle, msg(m.CompleteStage, engine.load("ex1"), stage_id))


def _done(status: S = S.SUCCEEDED, type: str = "scripted", **context: object) -> Stage:
    """A RUNNING stage 1 whose only task ended with ``status``."""
    return stage("1", type, S.RUNNING, tasks=[task("1", status, "scriptedTask")], **context)


def _events(ctx: HandlerContext) -> list[tuple[str, str]]:
    return [(e.type, e.body["status"]) for e in ctx.events]


# -- success ---------------------------------------------------------------------------------------


def test_succeeded_starts_the_downstream_stages(engine: Engine) -> None:
    execution = engine.store(
        pipeline(
            _done(), stage("2", upstream=("1",)), stage("3", upstream=("1",)), stage("4", status=S.RUNNING)
        )
    )
    ctx = _complete(engine)
    assert ctx.pushes == [push(m.StartStage, execution, "s2"), push(m.StartStage, execution, "s3")]
    assert _events(ctx) == [("stage.complete", "SUCCEEDED")]
    done = engine.load(execution.id).stages[0]
    assert done.status == S.SUCCEEDED
    assert done.end_time == NOW


def test_the_last_top_level_stage_completes_the_execution(engine: Engine) -> None:
    execution = engine.store(pipeline(_done()))
    assert _complete(engine).pushes == [push(m.CompleteExecution, execution)]


def test_a_synthetic_stage_continues_its_parent(engine: Engine) -> None:
    parent = stage("1", "parent", S.RUNNING, tasks=[task("1", S.SUCCEEDED)])
    before = stage("1<1", status=S.RUNNING, parent=parent, tasks=[task("1", S.SUCCEEDED)])
    after = stage("1>1", status=S.RUNNING, parent=parent, owner=STAGE_AFTER, tasks=[task("1", S.SUCCEEDED)])
    execution = engine.store(pipeline(before, parent, after))
    assert _complete(engine, "s1<1").pushes == [
        push(m.ContinueParentStage, execution, "s1", phase=STAGE_BEFORE)
    ]
    assert _complete(engine, "s1>1").pushes == [
        push(m.ContinueParentStage, execution, "s1", phase=STAGE_AFTER)
    ]


def test_a_synthetic_stage_starts_its_downstream_siblings(engine: Engine) -> None:
    parent = stage("1", "parent", S.RUNNING)
    first = stage("1<1", status=S.RUNNING, parent=parent, tasks=[task("1", S.SUCCEEDED)])
    second = stage("1<2", upstream=("1<1",), parent=parent)
    execution = engine.store(pipeline(first, second, parent))
    assert _complete(engine, "s1<1").pushes == [push(m.StartStage, execution, "s1<2")]


def test_skipped_tasks_count_as_success(engine: Engine) -> None:
    engine.store(
        pipeline(
            stage("1", status=S.RUNNING, tasks=[task("1", S.SKIPPED, "scriptedTask"), task("2", S.SUCCEEDED)])
        )
    )
    _complete(engine)
    assert engine.load("ex1").stages[0].status == S.SUCCEEDED


def test_no_tasks_and_no_synthetic_stages_succeeds(engine: Engine) -> None:
    execution = engine.store(pipeline(stage("1", "noTasks", S.RUNNING)))
    assert _complete(engine).pushes == [push(m.CompleteExecution, execution)]
    assert engine.load(execution.id).stages[0].status == S.SUCCEEDED


def test_after_stages_are_planned_on_success_and_started(engine: Engine) -> None:
    execution = engine.store(
        pipeline(_done(type="parent", after=[{}, {"chained": False}, {}]), stage("2", upstream=("1",)))
    )
    ctx = _complete(engine)
    stored = engine.load(execution.id)
    after = [s for s in stored.stages if s.synthetic_stage_owner == STAGE_AFTER]
    assert [(s.ref_id, s.requisite_stage_ref_ids) for s in after] == [
        ("1>1", []),
        ("1>2", []),
        ("1>3", ["1>2"]),
    ]
    assert ctx.pushes == [push(m.StartStage, execution, after[0]), push(m.StartStage, execution, after[1])]
    assert ctx.events == []
    parent = stored.stage("s1")
    assert parent is not None and parent.status == S.RUNNING
    assert parent.context["afterStagesPlanned"] is True


def test_after_stages_are_planned_once(engine: Engine) -> None:
    parent = _done(type="parent", after=[{}], afterStagesPlanned=True)
    after = stage("1>1", status=S.SUCCEEDED, parent=parent, owner=STAGE_AFTER)
    execution = engine.store(pipeline(parent, after))
    assert _complete(engine).pushes == [push(m.CompleteExecution, execution)]
    stored = engine.load(execution.id)
    assert [s.ref_id for s in stored.stages] == ["1", "1>1"]
    assert stored.stages[0].status == S.SUCCEEDED


def test_after_stages_still_to_run_leave_the_stage_running(engine: Engine) -> None:
    parent = stage("1", "parent", S.RUNNING, tasks=[task("1", S.SUCCEEDED)], afterStagesPlanned=True)
    first = stage("1>1", status=S.SUCCEEDED, parent=parent, owner=STAGE_AFTER)
    second = stage("1>2", upstream=("1>1",), parent=parent, owner=STAGE_AFTER)
    engine.store(pipeline(parent, first, second))
    ctx = _complete(engine)
    assert ctx.pushes == [] and ctx.events == []
    assert engine.load("ex1").stages[0].status == S.RUNNING


# -- failure ---------------------------------------------------------------------------------------


def test_terminal_task_fails_the_stage_and_the_execution(engine: Engine) -> None:
    execution = engine.store(pipeline(_done(S.TERMINAL), stage("2", upstream=("1",))))
    ctx = _complete(engine)
    assert ctx.pushes == [push(m.CancelStage, execution, "s1"), push(m.CompleteExecution, execution)]
    assert _events(ctx) == [("stage.failed", "TERMINAL")]
    assert [s.status for s in engine.load(execution.id).stages] == [S.TERMINAL, S.NOT_STARTED]


def test_terminal_task_with_fail_pipeline_false_stops_the_stage(engine: Engine) -> None:
    execution = engine.store(pipeline(_done(S.TERMINAL, failPipeline=False), stage("2", upstream=("1",))))
    ctx = _complete(engine)
    assert ctx.pushes == [push(m.CancelStage, execution, "s1"), push(m.CompleteExecution, execution)]
    assert engine.load(execution.id).stages[0].status == S.STOPPED


def test_canceled_task_cancels_the_stage(engine: Engine) -> None:
    execution = engine.store(pipeline(_done(S.CANCELED)))
    ctx = _complete(engine)
    assert ctx.pushes == [push(m.CancelStage, execution, "s1"), push(m.CompleteExecution, execution)]
    assert _events(ctx) == [("stage.failed", "CANCELED")]
    assert engine.load(execution.id).stages[0].status == S.CANCELED


def test_failed_continue_lets_downstream_start(engine: Engine) -> None:
    execution = engine.store(pipeline(_done(S.FAILED_CONTINUE), stage("2", upstream=("1",))))
    ctx = _complete(engine)
    assert ctx.pushes == [push(m.StartStage, execution, "s2")]
    assert _events(ctx) == [("stage.complete", "FAILED_CONTINUE")]


def test_a_failed_synthetic_stage_completes_its_parent(engine: Engine) -> None:
    parent = stage("1", "parent", S.RUNNING)
    child = stage("1<1", status=S.RUNNING, parent=parent, tasks=[task("1", S.TERMINAL)])
    sibling = stage("1<2", upstream=("1<1",), parent=parent)
    execution = engine.store(pipeline(child, sibling, parent))
    ctx = _complete(engine, "s1<1")
    assert ctx.pushes == [push(m.CancelStage, execution, "s1<1"), push(m.CompleteStage, execution, "s1")]


def test_failed_continue_synthetic_stage_completes_its_parent_instead_of_its_siblings(engine: Engine) -> None:
    parent = stage("1", "parent", S.RUNNING)
    child = stage("1<1", status=S.RUNNING, parent=parent, tasks=[task("1", S.FAILED_CONTINUE)])
    sibling = stage("1<2", upstream=("1<1",), parent=parent)
    execution = engine.store(pipeline(child, sibling, parent))
    assert _complete(engine, "s1<1").pushes == [push(m.CompleteStage, execution, "s1")]


def test_allow_sibling_stages_to_continue_on_failure(engine: Engine) -> None:
    parent = stage("1", "parent", S.RUNNING)
    child = stage(
        "1<1",
        status=S.RUNNING,
        parent=parent,
        tasks=[task("1", S.FAILED_CONTINUE)],
        allowSiblingStagesToContinueOnFailure=True,
    )
    sibling = stage("1<2", upstream=("1<1",), parent=parent)
    execution = engine.store(pipeline(child, sibling, parent))
    assert _complete(engine, "s1<1").pushes == [push(m.StartStage, execution, "s1<2")]


def test_a_failed_before_stage_fails_the_parent(engine: Engine) -> None:
    parent = stage("1", "parent", S.RUNNING, tasks=[task("1")])
    child = stage("1<1", status=S.TERMINAL, parent=parent)
    execution = engine.store(pipeline(child, parent))
    ctx = _complete(engine)
    assert ctx.pushes == [push(m.CancelStage, execution, "s1"), push(m.CompleteExecution, execution)]
    assert engine.load(execution.id).stage("s1").status == S.TERMINAL


def test_planning_failure_fails_the_stage(engine: Engine) -> None:
    execution = engine.store(pipeline(stage("1", "badPlan", S.RUNNING, beforeStagePlanningFailed=True)))
    ctx = _complete(engine)
    assert ctx.pushes == [push(m.CancelStage, execution, "s1"), push(m.CompleteExecution, execution)]
    assert engine.load(execution.id).stages[0].status == S.TERMINAL


def test_on_failure_stages_are_planned_and_started(engine: Engine) -> None:
    execution = engine.store(pipeline(_done(S.TERMINAL, type="parent", onFailure=[{}, {}])))
    ctx = _complete(engine)
    stored = engine.load(execution.id)
    on_failure = [s for s in stored.stages if s.synthetic_stage_owner == STAGE_AFTER]
    assert [(s.ref_id, s.requisite_stage_ref_ids) for s in on_failure] == [("1>1", []), ("1>2", ["1>1"])]
    assert ctx.pushes == [push(m.StartStage, execution, on_failure[0])]
    assert ctx.events == []
    assert stored.stage("s1").status == S.RUNNING
    assert stored.stage("s1").context["onFailureStagesPlanned"] is True


def test_on_failure_stages_replace_after_stages_that_did_not_start(engine: Engine) -> None:
    parent = stage(
        "1", "parent", S.RUNNING, tasks=[task("1", S.SUCCEEDED)], afterStagesPlanned=True, onFailure=[{}]
    )
    failed = stage("1>1", status=S.TERMINAL, parent=parent, owner=STAGE_AFTER)
    pending = stage("1>2", upstream=("1>1",), parent=parent, owner=STAGE_AFTER)
    execution = engine.store(pipeline(parent, failed, pending))
    ctx = _complete(engine)
    stored = engine.load(execution.id)
    after = [s for s in stored.stages if s.synthetic_stage_owner == STAGE_AFTER]
    assert "s1>2" not in [s.id for s in after]
    assert [s.ref_id for s in after] == ["1>1", "1>2"]
    rollback = after[1]
    assert rollback.requisite_stage_ref_ids == []  # its own chain, not behind the failed stage
    assert ctx.pushes == [push(m.StartStage, execution, rollback)]


def test_on_failure_stages_are_planned_once(engine: Engine) -> None:
    parent = _done(S.TERMINAL, type="parent", onFailure=[{}], onFailureStagesPlanned=True)
    rollback = stage("1>1", status=S.SUCCEEDED, parent=parent, owner=STAGE_AFTER)
    execution = engine.store(pipeline(parent, rollback))
    ctx = _complete(engine)
    assert ctx.pushes == [push(m.CancelStage, execution, "s1"), push(m.CompleteExecution, execution)]
    assert engine.load(execution.id).stages[0].status == S.TERMINAL


def test_only_a_running_or_not_started_stage_completes(engine: Engine) -> None:
    for status in (S.SUCCEEDED, S.TERMINAL, S.PAUSED, S.SKIPPED):
        execution = engine.store(
            pipeline(stage("1", status=status, tasks=[task("1", S.SUCCEEDED)]), id=f"ex-{status}")
        )
        ctx = engine.handle(complete_stage.handle, msg(m.CompleteStage, execution, f"ex-{status}.s1"))
        assert ctx.pushes == [] and ctx.events == [], status
        assert engine.load(execution.id).stages[0].status == status


# -- expressions -----------------------------------------------------------------------------------

SUMMARY = {"${x}": [{"level": "ERROR", "description": "Failed to evaluate [x]"}]}


def test_fail_on_failed_expressions(engine: Engine) -> None:
    execution = engine.store(
        pipeline(
            _done(failOnFailedExpressions=True, expressionEvaluationSummary=SUMMARY),
            stage("2", upstream=("1",)),
        )
    )
    ctx = _complete(engine)
    assert ctx.pushes == [push(m.CancelStage, execution, "s1"), push(m.CompleteExecution, execution)]
    failed = engine.load(execution.id).stages[0]
    assert failed.status == S.TERMINAL
    assert failed.context["exception"]["details"]["errors"] == ["Failed to evaluate [x]"]


def test_expression_errors_are_reported_on_a_successful_stage_too(engine: Engine) -> None:
    execution = engine.store(pipeline(_done(expressionEvaluationSummary=SUMMARY)))
    assert _complete(engine).pushes == [push(m.CompleteExecution, execution)]
    done = engine.load(execution.id).stages[0]
    assert done.status == S.SUCCEEDED
    assert done.context["exception"]["details"]["errors"] == ["Failed to evaluate [x]"]


# -- retry (Gennaker) ------------------------------------------------------------------------------


def _retrying(engine: Engine, **context: object) -> Execution:
    return engine.store(
        pipeline(
            stage(
                "1",
                status=S.RUNNING,
                tasks=[task("1", S.TERMINAL, "scriptedTask")],
                start_time=NOW - 3_000,
                exception={"details": {"errors": ["boom"]}},
                **context,
            ),
            stage("2", upstream=("1",)),
        )
    )


def test_retry_restarts_a_failed_stage_after_its_backoff(engine: Engine) -> None:
    execution = _retrying(engine, retry={"maxAttempts": 3, "backoffSeconds": 2.5})
    ctx = _complete(engine)
    assert ctx.pushes == [push(m.StartStage, execution, "s1", delay=2_500)]
    assert [(e.type, e.body["attempt"], e.body["delayMs"]) for e in ctx.events] == [
        ("stage.retrying", 2, 2_500)
    ]
    stored = engine.load(execution.id).stages[0]
    assert stored.status == S.NOT_STARTED
    assert stored.tasks == [] and stored.start_time is None
    assert "exception" not in stored.context
    assert stored.context["retryAttempts"] == [
        {
            "attempt": 1,
            "status": "TERMINAL",
            "startTime": NOW - 3_000,
            "endTime": NOW,
            "exception": {"details": {"errors": ["boom"]}},
        }
    ]


def test_retry_gives_up_after_max_attempts(engine: Engine) -> None:
    execution = _retrying(engine, retry={"maxAttempts": 2}, retryAttempts=[{"attempt": 1}])
    ctx = _complete(engine)
    assert ctx.pushes == [push(m.CancelStage, execution, "s1"), push(m.CompleteExecution, execution)]
    assert engine.load(execution.id).stages[0].status == S.TERMINAL


def test_no_retry_once_the_execution_is_canceled(engine: Engine) -> None:
    _retrying(engine, retry={"maxAttempts": 3})
    engine.change("ex1", lambda e: setattr(e, "canceled", True))
    _complete(engine)
    assert engine.load("ex1").stages[0].status == S.TERMINAL


# -- scenarios through the processor ---------------------------------------------------------------


def test_scenario_a_canceled_stage_with_on_failure_stages_ends_canceled(engine: Engine) -> None:
    """Canceling a stage that has onFailure stages used to leave the execution RUNNING forever: the
    on-failure stages were planned but StartStage refused them in a canceled execution."""
    parent = stage(
        "1", "parent", S.RUNNING, tasks=[task("1", S.RUNNING, "scriptedTask")], polls=1000, onFailure=[{}]
    )
    execution = engine.store(pipeline(parent, canceled=True))
    done = engine.settle([push(m.RunTask, execution, "s1", "1")])
    assert done.status == S.CANCELED
    assert [(s.ref_id, s.status) for s in done.stages] == [("1", S.CANCELED), ("1>1", S.CANCELED)]


def test_scenario_on_failure_stages_run_when_an_after_stage_fails(engine: Engine) -> None:
    parent = stage(
        "1",
        "parent",
        S.RUNNING,
        tasks=[task("1", S.SUCCEEDED)],
        after=[{"result": "TERMINAL"}],
        onFailure=[{}],
    )
    execution = engine.store(pipeline(parent))
    done = engine.settle([push(m.CompleteStage, execution, "s1")])
    assert done.status == S.TERMINAL
    assert [(s.ref_id, s.status) for s in done.stages] == [
        ("1", S.TERMINAL),
        ("1>1", S.TERMINAL),
        ("1>2", S.SUCCEEDED),
    ]
