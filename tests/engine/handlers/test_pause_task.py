"""PauseTask: a running task noticed its execution is paused."""

from __future__ import annotations

from gennaker.engine import messages as m
from gennaker.engine.handlers import pause_task
from gennaker.model.status import ExecutionStatus as S
from tests.engine.handlers.builders import msg, pipeline, push, stage, task
from tests.engine.handlers.conftest import Engine


def test_pauses_the_task_then_its_stage(engine: Engine) -> None:
    execution = engine.store(
        pipeline(stage("1", status=S.RUNNING, tasks=[task("1", S.RUNNING)]), status=S.PAUSED)
    )
    ctx = engine.handle(pause_task.handle, msg(m.PauseTask, execution, "s1", "1"))
    assert ctx.pushes == [push(m.PauseStage, execution, "s1")]
    assert ctx.events == []
    stored = engine.load(execution.id).stages[0]
    assert stored.tasks[0].status == S.PAUSED
    assert stored.status == S.RUNNING  # PauseStage does that


def test_a_task_that_is_not_running_is_left_alone(engine: Engine) -> None:
    for status in (S.NOT_STARTED, S.SUCCEEDED, S.PAUSED, S.CANCELED):
        execution = engine.store(
            pipeline(stage("1", status=S.RUNNING, tasks=[task("1", status)]), id=f"ex-{status}")
        )
        ctx = engine.handle(pause_task.handle, msg(m.PauseTask, execution, f"ex-{status}.s1", "1"))
        assert ctx.pushes == [], status
        assert engine.load(execution.id).stages[0].tasks[0].status == status


def test_an_unknown_task_is_ignored(engine: Engine) -> None:
    execution = engine.store(pipeline(stage("1", status=S.RUNNING, tasks=[task("1", S.RUNNING)])))
    assert engine.handle(pause_task.handle, msg(m.PauseTask, execution, "s1", "5")).pushes == []
