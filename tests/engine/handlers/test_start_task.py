"""StartTask (StartTaskHandler): a NOT_STARTED task becomes RUNNING and its RunTask is sent."""

from __future__ import annotations

from gennaker.engine import messages as m
from gennaker.engine.handlers import start_task
from gennaker.engine.runtime import HandlerContext
from gennaker.model.status import ExecutionStatus as S
from tests.engine.handlers.builders import NOW, msg, pipeline, push, stage, task
from tests.engine.handlers.conftest import Engine


def _start(engine: Engine, task_id: str, stage_id: str = "s1") -> HandlerContext:
    return engine.handle(start_task.handle, msg(m.StartTask, engine.load("ex1"), stage_id, task_id))


def test_marks_the_task_running_and_runs_it(engine: Engine) -> None:
    execution = engine.store(
        pipeline(stage("1", status=S.RUNNING, tasks=[task("1", S.SUCCEEDED), task("2"), task("3")]))
    )
    ctx = _start(engine, "2")
    assert ctx.pushes == [push(m.RunTask, execution, "s1", "2")]
    assert ctx.events == []
    tasks = engine.load(execution.id).stages[0].tasks
    assert [t.status for t in tasks] == [S.SUCCEEDED, S.RUNNING, S.NOT_STARTED]
    assert tasks[1].start_time == NOW
    assert tasks[1].end_time is None


def test_a_task_already_started_is_left_alone(engine: Engine) -> None:
    for status in (S.RUNNING, S.SUCCEEDED, S.TERMINAL, S.PAUSED):
        execution = engine.store(
            pipeline(
                stage("1", status=S.RUNNING, tasks=[task("1", status, start_time=NOW - 7)]), id=f"ex-{status}"
            )
        )
        ctx = engine.handle(start_task.handle, msg(m.StartTask, execution, f"ex-{status}.s1", "1"))
        assert ctx.pushes == [], status
        stored = engine.load(execution.id).stages[0].tasks[0]
        assert (stored.status, stored.start_time) == (status, NOW - 7)


def test_an_unknown_task_id_is_ignored(engine: Engine) -> None:
    """A StartTask that outlived a restart (the stage was re-planned) must not start anything."""
    engine.store(pipeline(stage("1", status=S.RUNNING, tasks=[task("1")])))
    ctx = _start(engine, "9")
    assert ctx.pushes == [] and ctx.events == []
    assert engine.load("ex1").stages[0].tasks[0].status == S.NOT_STARTED


def test_an_unknown_stage_ends_the_execution_terminal(engine: Engine) -> None:
    engine.store(pipeline(stage("1", status=S.RUNNING, tasks=[task("1")])))
    ctx = _start(engine, "1", stage_id="gone")
    assert [e.type for e in ctx.events] == ["pipeline.failed"]
    assert engine.load("ex1").extra["errors"] == ["message startTask names unknown stage gone"]


def test_an_execution_that_no_longer_exists_is_ignored(engine: Engine) -> None:
    ghost = pipeline(stage("1"), id="gone")
    ctx = engine.handle(start_task.handle, msg(m.StartTask, ghost, "gone.s1", "1"))
    assert ctx.pushes == [] and ctx.events == []
