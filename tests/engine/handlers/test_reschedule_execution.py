"""RescheduleExecution: every running task polls now (after a cancel, a pause or a judgment)."""

from __future__ import annotations

from gennaker.engine import messages as m
from gennaker.engine.handlers import reschedule_execution
from gennaker.model.execution import STAGE_BEFORE
from gennaker.model.status import ExecutionStatus as S
from tests.engine.handlers.builders import msg, pipeline, push, stage, task
from tests.engine.handlers.conftest import Engine


def test_ensures_and_reschedules_the_run_task_of_each_running_task(engine: Engine) -> None:
    top = stage("1", "parent", S.RUNNING, tasks=[task("1", S.SUCCEEDED), task("2", S.RUNNING)])
    execution = engine.store(
        pipeline(
            stage("1<1", status=S.RUNNING, parent=top, owner=STAGE_BEFORE, tasks=[task("1", S.RUNNING)]),
            top,
            stage("2", status=S.PAUSED, tasks=[task("1", S.RUNNING), task("2", S.PAUSED)]),
            stage("3", status=S.SUCCEEDED, tasks=[task("1", S.RUNNING)]),
            stage("4", tasks=[task("1")]),
        )
    )
    ctx = engine.handle(reschedule_execution.handle, msg(m.RescheduleExecution, execution))
    expected = []
    for stage_id, task_id in (("s1<1", "1"), ("s1", "2"), ("s2", "1")):
        expected += [
            push(m.RunTask, execution, stage_id, task_id, mode="ensure"),
            push(m.RunTask, execution, stage_id, task_id, mode="reschedule"),
        ]
    assert ctx.pushes == expected
    assert ctx.events == []


def test_nothing_running_sends_nothing(engine: Engine) -> None:
    execution = engine.store(pipeline(stage("1", status=S.SUCCEEDED, tasks=[task("1", S.SUCCEEDED)])))
    assert engine.handle(reschedule_execution.handle, msg(m.RescheduleExecution, execution)).pushes == []


def test_an_execution_that_no_longer_exists_is_ignored(engine: Engine) -> None:
    assert (
        engine.handle(reschedule_execution.handle, msg(m.RescheduleExecution, pipeline(id="gone"))).pushes
        == []
    )
