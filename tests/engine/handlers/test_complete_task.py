"""CompleteTask (CompleteTaskHandler): record the task's end, then the next task, the stage's
completion, a loop back (REDIRECT) or a manual skip."""

from __future__ import annotations

from gennaker.engine import messages as m
from gennaker.engine.handlers import complete_task
from gennaker.engine.runtime import HandlerContext
from gennaker.model.execution import Execution
from gennaker.model.status import ExecutionStatus as S
from tests.engine.handlers.builders import NOW, msg, pipeline, push, stage, task
from tests.engine.handlers.conftest import Engine


def _three_tasks(**context: object) -> Execution:
    return pipeline(
        stage(
            "1",
            status=S.RUNNING,
            tasks=[task("1", S.SUCCEEDED), task("2", S.RUNNING), task("3")],
            **context,
        )
    )


def _complete(engine: Engine, status: S, task_id: str = "2", stage_id: str = "s1") -> HandlerContext:
    message = msg(
        m.CompleteTask, engine.load("ex1"), stage_id, task_id, status=status, original_status=status
    )
    return engine.handle(complete_task.handle, message)


def test_success_starts_the_next_task(engine: Engine) -> None:
    execution = engine.store(_three_tasks())
    ctx = _complete(engine, S.SUCCEEDED)
    assert ctx.pushes == [push(m.StartTask, execution, "s1", "3")]
    assert ctx.events == []
    tasks = engine.load(execution.id).stages[0].tasks
    assert [t.status for t in tasks] == [S.SUCCEEDED, S.SUCCEEDED, S.NOT_STARTED]
    assert tasks[1].end_time == NOW


def test_the_last_task_completes_the_stage(engine: Engine) -> None:
    execution = engine.store(
        pipeline(stage("1", status=S.RUNNING, tasks=[task("1", S.SUCCEEDED), task("2", S.RUNNING)]))
    )
    assert _complete(engine, S.SUCCEEDED).pushes == [push(m.CompleteStage, execution, "s1")]
    assert engine.load(execution.id).stages[0].tasks[1].status == S.SUCCEEDED


def test_a_halting_status_completes_the_stage_at_once(engine: Engine) -> None:
    for status in (S.TERMINAL, S.STOPPED, S.CANCELED):
        execution = engine.store(pipeline(*_three_tasks().stages, id=f"ex-{status}"))
        message = msg(
            m.CompleteTask, execution, f"ex-{status}.s1", "2", status=status, original_status=status
        )
        ctx = engine.handle(complete_task.handle, message)
        assert ctx.pushes == [push(m.CompleteStage, execution, f"ex-{status}.s1")], status
        tasks = engine.load(execution.id).stages[0].tasks
        assert [t.status for t in tasks] == [S.SUCCEEDED, status, S.NOT_STARTED]


def test_failed_continue_and_skipped_go_on_with_the_next_task(engine: Engine) -> None:
    """Orca's quirk: when continuePipeline turns TERMINAL into FAILED_CONTINUE, the stage's remaining
    tasks still run."""
    for status in (S.FAILED_CONTINUE, S.SKIPPED):
        execution = engine.store(pipeline(*_three_tasks().stages, id=f"ex-{status}"))
        message = msg(
            m.CompleteTask, execution, f"ex-{status}.s1", "2", status=status, original_status=status
        )
        ctx = engine.handle(complete_task.handle, message)
        assert ctx.pushes == [push(m.StartTask, execution, f"ex-{status}.s1", "3")], status


def test_redirect_runs_the_loop_again(engine: Engine) -> None:
    execution = engine.store(
        pipeline(
            stage(
                "1",
                status=S.RUNNING,
                tasks=[
                    task("1", S.SUCCEEDED, end_time=NOW - 900),
                    task("2", S.SUCCEEDED, loop_start=True, end_time=NOW - 800),
                    task("3", S.SUCCEEDED, end_time=NOW - 700),
                    task("4", S.RUNNING, loop_end=True),
                    task("5"),
                ],
            )
        )
    )
    ctx = _complete(engine, S.REDIRECT, task_id="4")
    assert ctx.pushes == [push(m.StartTask, execution, "s1", "2")]
    tasks = engine.load(execution.id).stages[0].tasks
    assert [t.status for t in tasks] == [
        S.SUCCEEDED,
        S.NOT_STARTED,
        S.NOT_STARTED,
        S.NOT_STARTED,
        S.NOT_STARTED,
    ]
    assert [(t.start_time, t.end_time) for t in tasks[1:4]] == [(None, None)] * 3
    assert tasks[0].end_time == NOW - 900


def test_manual_skip_skips_the_top_level_stage(engine: Engine) -> None:
    parent = stage("1", "parent", S.RUNNING, manualSkip=True)
    child = stage("1<1", status=S.RUNNING, parent=parent, tasks=[task("1", S.RUNNING)], manualSkip=True)
    execution = engine.store(pipeline(child, parent))
    ctx = _complete(engine, S.SKIPPED, task_id="1", stage_id="s1<1")
    assert ctx.pushes == [push(m.SkipStage, execution, "s1")]
    assert engine.load(execution.id).stage("s1<1").tasks[0].status == S.SKIPPED


def test_a_task_already_complete_is_left_alone(engine: Engine) -> None:
    execution = engine.store(
        pipeline(stage("1", status=S.RUNNING, tasks=[task("1", S.CANCELED, end_time=NOW - 5)]))
    )
    ctx = _complete(engine, S.SUCCEEDED, task_id="1")
    assert ctx.pushes == [] and ctx.events == []
    stored = engine.load(execution.id).stages[0].tasks[0]
    assert (stored.status, stored.end_time) == (S.CANCELED, NOW - 5)


def test_an_unknown_task_is_ignored(engine: Engine) -> None:
    engine.store(_three_tasks())
    assert _complete(engine, S.SUCCEEDED, task_id="9").pushes == []


def test_an_unknown_stage_ends_the_execution_terminal(engine: Engine) -> None:
    engine.store(_three_tasks())
    ctx = _complete(engine, S.SUCCEEDED, stage_id="missing")
    assert [e.type for e in ctx.events] == ["pipeline.failed"]
    assert engine.load("ex1").status == S.TERMINAL
