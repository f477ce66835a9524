"""ResumeTask: a paused task becomes RUNNING and is run again."""

from __future__ import annotations

from gennaker.engine import messages as m
from gennaker.engine.handlers import resume_task
from gennaker.model.status import ExecutionStatus as S
from tests.engine.handlers.builders import NOW, msg, pipeline, push, stage, task
from tests.engine.handlers.conftest import Engine


def test_resumes_the_task_and_runs_it(engine: Engine) -> None:
    execution = engine.store(
        pipeline(stage("1", status=S.RUNNING, tasks=[task("1", S.PAUSED, start_time=NOW - 9)]))
    )
    ctx = engine.handle(resume_task.handle, msg(m.ResumeTask, execution, "s1", "1"))
    assert ctx.pushes == [push(m.RunTask, execution, "s1", "1")]
    assert ctx.events == []
    resumed = engine.load(execution.id).stages[0].tasks[0]
    assert (resumed.status, resumed.start_time) == (S.RUNNING, NOW - 9)  # the start is kept


def test_a_task_that_is_not_paused_is_left_alone(engine: Engine) -> None:
    for status in (S.RUNNING, S.NOT_STARTED, S.SUCCEEDED):
        execution = engine.store(
            pipeline(stage("1", status=S.RUNNING, tasks=[task("1", status)]), id=f"ex-{status}")
        )
        ctx = engine.handle(resume_task.handle, msg(m.ResumeTask, execution, f"ex-{status}.s1", "1"))
        assert ctx.pushes == [], status
        assert engine.load(execution.id).stages[0].tasks[0].status == status
